// Package ingest is GiveLive's embedded media server: broadcasters publish
// over RTMP (Enhanced RTMP included: H.264, H.265 or AV1 video, AAC or Opus
// audio) from OBS or ffmpeg, and viewers' players read the stream back as
// Low-Latency HLS, remuxed (never transcoded) by the hls package.
//
// It is built on mediamtx's libraries: gortmplib reads the handshake, the
// chunk stream, AMF0 and the audio and video tags; its Reader finds the
// tracks; gohlslib muxes them. What is ours: the command dialogue with its
// refusals, the limits before a publish is authorised (the door), stream
// keys and the bad-key limit, one publisher per fundraiser, the live and
// offline lifecycle, timestamps on one 64-bit timeline with wall-clock
// times for program date-time, parameter sets in front of every keyframe,
// and the stream's health for the studio.
//
// Entry points: New builds a Server from a Config; Serve accepts RTMP
// publishers on a listener; Close stops accepting, ends every publish and
// waits. HLS is served by the hls.Server the Config names (mounted by the
// caller at /hls/). Stop ends one fundraiser's publish (when the fundraiser
// ends); Health reports on one while it is live.
//
// WHIP (RFC 9725): NewWHIP adds a WebRTC door to a Server, an http.Handler
// (POST an SDP offer with the stream key as bearer token; DELETE the
// session URL it answers with) on pion/webrtc, every session sharing one
// UDP socket and one TCP listener. A WHIP session is a publisher like an
// RTMP one: same keys, events, limits and newest-wins; its H.264 and Opus
// go to the same HLS output. WHIP.Close ends its sessions and waits.
//
// The server knows nothing of the ledger or the hub. It asks Keys which
// fundraiser a stream key publishes, and tells Events when a fundraiser's
// stream goes live and offline. Both are small interfaces the caller
// implements.
//
// Concurrency: every exported method of Server and WHIP is safe for
// concurrent use.
// Each RTMP connection is served by one goroutine, which reads, answers and
// feeds the muxer; nothing it does waits on a viewer.
package ingest
