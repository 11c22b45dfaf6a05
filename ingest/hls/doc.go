// Package hls serves live streams to viewers as Low-Latency HLS: fMP4
// segments split into partial segments of about 200 ms, blocking playlist
// reload, preload hints and delta updates, from gohlslib's muxer (the one
// mediamtx uses). Players without LL-HLS read the same playlists as plain
// HLS: they ignore the parts and fetch whole segments.
//
// Entry points: NewServer builds a Server; Begin starts a fundraiser's
// stream with its tracks and returns the Stream its publisher writes
// frames to and ends; the Server is the http.Handler for
// /hls/{id}/index.m3u8 and every file the playlists name. NewProxy builds
// the same URL space on top of an upstream HLS server (mediamtx) for
// deployments that run one.
//
// What is ours around the muxer: the stream lifecycle (a publisher that
// reconnects supersedes the previous one; an ended stream is flushed to its
// last frame, frozen with EXT-X-ENDLIST and kept for Linger so players play
// out what they buffered), request coalescing (every player blocked on the
// same part shares one muxer answer, so thousands of held requests cost one
// playlist render), bounded waits that follow the viewer's context,
// program-date-time on every segment of an ended stream, headers, errors
// and metrics.
//
// Concurrency: Server, Stream and Proxy are safe for concurrent use; one
// publisher goroutine writes a Stream's frames, in order, then ends it.
// Nothing a viewer does waits on the publisher or the publisher on a viewer:
// requests are answered by goroutines that wait on the muxer, never the
// writer.
package hls
