// Package mpegts remuxes H.264 access units and AAC frames, as an RTMP
// publisher sends them, into MPEG-TS segments for HLS (ISO/IEC 13818-1,
// RFC 8216). It never transcodes.
//
// The entry point is [NewSegmenter]; feed it with [Segmenter.WriteVideo]
// and [Segmenter.WriteAudio] in arrival order, and it calls back with each
// finished [Segment]: a whole TS file that starts with PAT and PMT and, when
// there is video, with an IDR. Segments are cut at the first keyframe once
// [Config.TargetDuration] of media has passed (audio-only streams are cut on
// time). Timestamps become 90 kHz, rebased so that the stream starts at one
// second (see [Segmenter]).
//
// A Segmenter belongs to one publisher's goroutine: it is not safe for
// concurrent use, and it calls emit synchronously on that goroutine. It
// keeps only the bytes of the segment being built.
package mpegts
