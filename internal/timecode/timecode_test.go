package timecode

import (
	"testing"
	"time"
)

func TestFrameReadsBack(t *testing.T) {
	const w, h = 640, 360
	frame := make([]byte, w*h)
	for _, ms := range []int64{0, 1, 1765000000123, time.Now().UnixMilli(), 1<<44 - 1} {
		Frame(frame, w, h, ms)
		got, ok := Read(frame, w, h)
		if !ok || got != ms {
			t.Errorf("Read after Frame(%d) = %d, %v", ms, got, ok)
		}
	}
	// A block flipped (a frame caught mid-change) fails the check.
	Frame(frame, w, h, 1765000000123)
	for y := range Block {
		for x := range Block {
			frame[y*w+x] ^= 0xff
		}
	}
	if _, ok := Read(frame, w, h); ok {
		t.Error("a frame with a flipped block passed the check")
	}
}
