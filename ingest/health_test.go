package ingest_test

import (
	"strings"
	"testing"
	"time"
)

// TestHealth: while ffmpeg publishes with a 4 s keyframe interval, the
// server's figures name the codecs, size, frame rate and keyframe
// interval, and warn in plain words that the interval is too long.
func TestHealth(t *testing.T) {
	needTools(t)
	r := newRig(t)
	if _, ok := r.srv.Health("f1"); ok {
		t.Fatal("health of a stream nobody publishes")
	}
	publish(t, r.rtmp+"/key-1", publishOpts{seconds: 30, realtime: true,
		video: []string{"-c:v", "libx264", "-preset", "veryfast", "-g", "120", "-keyint_min", "120", "-pix_fmt", "yuv420p"}})
	r.events.wait(t, "live f1", 15*time.Second)
	waitFor(t, "a keyframe interval", 20*time.Second, func() bool {
		h, ok := r.srv.Health("f1")
		return ok && h.Video != nil && h.Video.KeyframeInterval > 0 && h.Bitrate > 0
	})
	h, _ := r.srv.Health("f1")
	v, a := h.Video, h.Audio
	if v.Codec != "H.264" || v.Width != 320 || v.Height != 240 || v.FrameRate < 29 || v.FrameRate > 31 ||
		v.KeyframeInterval < 3900*time.Millisecond || v.KeyframeInterval > 4100*time.Millisecond {
		t.Fatalf("video health %+v", v)
	}
	if a == nil || a.Codec != "AAC" || a.SampleRate != 44100 {
		t.Fatalf("audio health %+v", a)
	}
	if len(h.Warnings) == 0 || !strings.Contains(h.Warnings[0], "Keyframes arrive every 4.0 s") || !strings.Contains(h.Warnings[0], "Keyframe Interval") {
		t.Fatalf("warnings %q, want the keyframe interval first", h.Warnings)
	}
	if h.Since.IsZero() || h.Dropped != 0 {
		t.Fatalf("health %+v", h)
	}
}
