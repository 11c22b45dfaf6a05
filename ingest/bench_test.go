package ingest_test

import (
	"sync"
	"testing"
	"time"
)

var (
	benchOnce  sync.Once
	benchMedia *media
)

// BenchmarkIngest3Mbps publishes 20 s of 720p30 x264 at 3 Mbit/s (keyframe
// every 2 s, B-frames) with 128 kbit/s AAC over loopback RTMP as fast as the
// server takes it, through the whole path (gortmplib's chunk and message
// reading, the track analysis, parameter sets, gohlslib's LL-HLS muxer).
// The reported cpu-%-per-stream is the share of one core a real-time
// stream costs: server time per second of media (the publisher's own work
// on the same machine is included, so it is an upper bound).
func BenchmarkIngest3Mbps(b *testing.B) {
	benchOnce.Do(func() {
		benchMedia = ffmpegMedia(b, 20,
			[]string{"-s", "1280x720", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "3M", "-g", "60", "-bf", "2"},
			[]string{"-c:a", "aac", "-b:a", "128k"})
	})
	m := benchMedia
	var bytes int64
	var dur time.Duration
	for _, f := range m.frames {
		for _, d := range f.data {
			bytes += int64(len(d))
		}
		dur = max(dur, f.dts)
	}
	r := newRig(b)
	b.SetBytes(bytes)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		p := dialPublisher(b, r.rtmp, "key-1")
		p.publishMedia(m, 0, false)
		p.end()
		<-r.events.ch // live
		<-r.events.ch // offline: the server has taken everything
	}
	elapsed := time.Since(start)
	b.StopTimer()
	perMediaSecond := float64(elapsed) / float64(b.N) / dur.Seconds()
	b.ReportMetric(perMediaSecond/float64(time.Second)*100, "cpu-%-per-stream")
}
