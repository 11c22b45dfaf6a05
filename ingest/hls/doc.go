// Package hls serves live streams to viewers over HTTP Live Streaming
// (RFC 8216): it keeps, per fundraiser, a sliding window of MPEG-TS
// segments in memory and renders the media playlist that lists them.
//
// Entry points: NewServer builds a Server; Begin starts (or restarts) a
// fundraiser's stream and returns the Stream the publisher appends segments
// to and ends; the Server is the http.Handler for /hls/{id}/index.m3u8 and
// /hls/{id}/{segment}. NewProxy builds the same URL space on top of an
// upstream HLS server (mediamtx) for deployments that run one.
//
// Concurrency: Server, Stream and Proxy are safe for concurrent use. One
// publisher appends to a Stream while many HTTP readers read it: an append
// renders the playlist once and publishes it, with the window, as an
// immutable snapshot that readers load without a lock, so no viewer ever
// waits on the publisher and the publisher never waits on a viewer.
package hls
