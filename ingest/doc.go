// Package ingest is GiveLive's embedded media server: broadcasters publish
// H.264 and AAC over RTMP from OBS or ffmpeg, and viewers' players read the
// stream back as HLS, remuxed (never transcoded) into MPEG-TS segments held
// in a sliding window in memory.
//
// Entry points: New builds a Server from a Config; Serve accepts RTMP
// publishers on a listener; Close stops accepting, ends every publish and
// waits. HLS is served by the hls.Server the Config names (mounted by the
// caller at /hls/). Stop ends one fundraiser's publish (when the fundraiser
// ends).
//
// The server knows nothing of the ledger or the hub. It asks Keys which
// fundraiser a stream key publishes, and tells Events when a fundraiser's
// stream goes live and offline. Both are small interfaces the caller
// implements.
//
// The parts live in sub-packages: rtmp (handshake, chunk stream, AMF0),
// flv (audio and video tag bodies, codec configurations), mpegts (the
// segmenter) and hls (the window, playlists and the HTTP handler).
//
// Concurrency: every exported method of Server is safe for concurrent use.
// Each RTMP connection is served by one goroutine, which reads, answers and
// feeds the segmenter; nothing it does waits on a viewer.
package ingest
