package ingest_test

import (
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/rtmp"
)

var (
	benchOnce sync.Once
	benchTags []flvTag
	benchErr  error
)

// benchStream is 20 s of 720p30 x264 at 3 Mbit/s (keyframe every 2 s,
// B-frames) with 128 kbit/s AAC, made once per run.
func benchStream(b *testing.B) []flvTag {
	b.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("ffmpeg is not installed")
	}
	benchOnce.Do(func() {
		out := filepath.Join(b.TempDir(), "3mbps.flv")
		cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
			"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-t", "20", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "3M",
			"-g", "60", "-bf", "2", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", out)
		if o, err := cmd.CombinedOutput(); err != nil {
			benchErr = err
			b.Logf("ffmpeg: %s", o)
			return
		}
		benchTags = readFLV(b, out)
	})
	if benchErr != nil || len(benchTags) == 0 {
		b.Fatalf("could not make the benchmark stream: %v", benchErr)
	}
	return benchTags
}

// BenchmarkIngest3Mbps publishes 20 s of a 3 Mbit/s stream over loopback
// RTMP as fast as the server takes it, through the whole path (chunk
// reading, tag parsing, TS muxing, segmenting, the HLS window). The
// reported cpu-%-per-stream is the share of one core a real-time stream
// costs: server time per second of media (the publisher's own work on the
// same machine is included, so it is an upper bound).
func BenchmarkIngest3Mbps(b *testing.B) {
	tags := benchStream(b)
	var bytes int64
	var media uint32
	for _, tag := range tags {
		bytes += int64(len(tag.body))
		media = max(media, tag.ts)
	}
	r := newRig(b)
	b.SetBytes(bytes)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		p := dialPublisher(b, r.rtmp, "key-1", rtmp.Object{{Name: "app", Value: "live"}})
		for _, tag := range tags {
			if tag.typ != rtmp.TypeVideo && tag.typ != rtmp.TypeAudio {
				continue
			}
			csid := uint32(6)
			if tag.typ == rtmp.TypeAudio {
				csid = 4
			}
			if err := p.w.WriteMessage(rtmp.Message{ChunkStreamID: csid, Type: tag.typ, StreamID: 1, Timestamp: tag.ts, Payload: tag.body}); err != nil {
				b.Fatal(err)
			}
		}
		p.conn.Close()
		<-r.events.ch // live
		<-r.events.ch // offline: the server has taken everything
	}
	elapsed := time.Since(start)
	b.StopTimer()
	perMediaSecond := float64(elapsed) / float64(b.N) / (float64(media) / 1000)
	b.ReportMetric(perMediaSecond/float64(time.Second)*100, "cpu-%-per-stream")
}
