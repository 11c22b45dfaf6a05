// Package record keeps every broadcast of a fundraiser on disk as fMP4 (an
// init segment and media segments, written with mediacommon's fmp4
// package) and serves the recordings back as HLS video on demand: the
// replay of an ended fundraiser.
//
// Entry points: New builds a Recorder from a Config; it is the
// hls.Recorder of the node's HLS server, so every stream the server begins
// (RTMP or WHIP) is recorded. Recorder.Handler serves
// /replay/{id}/index.m3u8 and the files it names; Recorder.Summary tells
// the API where a fundraiser's replay is and how long it runs. Close stops
// the sweeper and waits for the writers.
//
// Layout: {Dir}/{fundraiser id}/{broadcast}/ holds init.mp4, 1.m4s, 2.m4s,
// … and index.txt, which lists the finished segments with their duration
// and wall-clock start (EXT-X-PROGRAM-DATE-TIME). A broadcast is named by
// the Unix milliseconds of its first frame. Stream keys never appear.
//
// Concurrency: the publisher's goroutine only copies a frame into a
// bounded queue (frames and bytes); one writer goroutine per broadcast
// muxes and writes. A full queue or a write error (a full disk) stops that
// recording, with one log line and a counted reason; the live stream never
// waits. Recorder and its Handler are safe for concurrent use.
package record
