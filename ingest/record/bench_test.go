package record_test

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/ingest/record"
)

// BenchmarkRecordFrame: a 30 fps H.264 stream of 8 KB frames with a
// keyframe every second, written through Recording directly (no live
// muxer). "publisher" times only what the publisher's goroutine does per
// frame, a copy into the queue (the writer is held at its first segment so
// it neither competes for the CPU nor counts its allocations); "whole"
// also waits for the writer to have muxed and written every frame to disk.
func BenchmarkRecordFrame(b *testing.B) {
	b.Run("publisher", func(b *testing.B) { benchRecord(b, false) })
	b.Run("whole", func(b *testing.B) { benchRecord(b, true) })
}

func benchRecord(b *testing.B, whole bool) {
	hold := make(chan struct{})
	if whole {
		close(hold)
	}
	create := func(name string) (io.WriteCloser, error) {
		if strings.HasSuffix(name, ".m4s") {
			<-hold
		}
		return os.Create(name)
	}
	rec, err := record.New(record.Config{Dir: b.TempDir(), SegmentDuration: time.Second, QueueFrames: 1 << 16, QueueBytes: 1 << 30, Create: create})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	tr := hls.Tracks{Video: tracks().Video}
	r := rec.Record("bench", tr)
	payload := make([]byte, 8<<10)
	payload[0] = 0x41
	key := make([]byte, 8<<10)
	key[0] = 0x65
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		pts := int64(i) * 3000
		au := [][]byte{payload}
		if i%30 == 0 {
			au = [][]byte{sps, pps, key}
		}
		r.Video(t0.Add(time.Duration(pts)*time.Second/90000), pts, au)
	}
	if !whole {
		b.StopTimer()
		close(hold)
	}
	r.End()
	rec.Close()
}
