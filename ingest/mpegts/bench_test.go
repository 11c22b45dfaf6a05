package mpegts

import (
	"testing"
	"time"
)

// BenchmarkSegmenter remuxes a typical stream: 3 Mbit/s of H.264 at 30 fps
// with B-frames and a keyframe every 2 s (the keyframe five times the size
// of the other frames), and 128 kbit/s of AAC at 44.1 kHz. One op is one
// second of media, so ns/op is the CPU time per second of stream and
// %core the share of one core a stream costs. MB/s counts input bytes;
// ts-overhead-% is how much larger the MPEG-TS output is.
func BenchmarkSegmenter(b *testing.B) {
	const (
		videoRate = 3_000_000 / 8 // bytes per second
		audioRate = 128_000 / 8
		// Per 2 s GOP: one keyframe of 5 units and 59 frames of 1.
		inter = 2 * videoRate / 64
		key   = 5 * inter
	)
	var out int64
	s, err := NewSegmenter(Config{}, testVideoConfig(), testAudioConfig(), func(seg Segment) { out += int64(len(seg.Data)) })
	if err != nil {
		b.Fatal(err)
	}
	g := &synthStream{fps: 30, gop: 60, audioRate: 44100, keySize: key, interSize: inter, bframes: true}
	g.feed(b, s, nil, 10*time.Second) // warm up: buffers at their size
	out = 0
	b.SetBytes(videoRate + audioRate)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	media := 10 * time.Second
	for i := 0; i < b.N; i++ {
		media += time.Second
		g.feed(b, s, nil, media)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/1e7, "%core")
	if b.N >= 10 {
		b.ReportMetric(100*(float64(out)/float64(int64(b.N)*(videoRate+audioRate))-1), "ts-overhead-%")
	}
}
