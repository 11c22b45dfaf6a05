package api_test

import (
	"context"
	"testing"

	"github.com/givelive/givelive/api"
)

// healthSource reports one live stream.
type healthSource struct {
	id string
	h  api.StreamHealth
}

func (s healthSource) StreamHealth(_ context.Context, id string) (api.StreamHealth, bool) {
	return s.h, id == s.id
}

// TestStreamHealth: the owner reads how their stream arrives ("not live"
// when the media server does not receive it, an empty list of warnings
// rather than null); anyone else is refused; the answer is never cached.
func TestStreamHealth(t *testing.T) {
	fps, keyMs, bitrate := float32(30), int64(4000), int64(2_500_000)
	src := &healthSource{h: api.StreamHealth{
		Bitrate:  &bitrate,
		Video:    &api.StreamHealthVideo{Codec: "H.264", FrameRate: &fps, KeyframeIntervalMs: &keyMs},
		Audio:    &api.StreamHealthAudio{Codec: "AAC", SampleRate: 48000, Channels: 2},
		Warnings: []string{"Keyframes arrive every 4.0 s, too far apart for low delay."},
	}}
	e := newEnv(t, func(c *api.Config) { c.StreamHealth = src })
	npID := e.nonprofit(t, true)
	_, owner := e.broadcaster(t, "Owner")
	_, other := e.broadcaster(t, "Other")
	f := e.fundraiser(t, owner, npID)
	path := "/api/v1/fundraisers/" + f.ID + "/stream/health"

	var got struct {
		Live     bool     `json:"live"`
		Warnings []string `json:"warnings"`
		Bitrate  int64    `json:"bitrate"`
		Video    *struct {
			Codec              string  `json:"codec"`
			FrameRate          float64 `json:"frame_rate"`
			KeyframeIntervalMs int64   `json:"keyframe_interval_ms"`
		} `json:"video"`
		Audio *struct {
			Codec      string `json:"codec"`
			SampleRate int    `json:"sample_rate"`
		} `json:"audio"`
	}
	r := e.do(t, "GET", path, owner, nil).want(t, 200)
	r.json(t, &got)
	if got.Live || got.Warnings == nil || len(got.Warnings) != 0 || got.Video != nil {
		t.Fatalf("not live: %+v", got)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	src.id = f.ID // the stream goes live
	e.do(t, "GET", path, owner, nil).want(t, 200).json(t, &got)
	if !got.Live || got.Bitrate != bitrate || got.Video == nil || got.Video.Codec != "H.264" || got.Video.FrameRate != 30 ||
		got.Video.KeyframeIntervalMs != 4000 || got.Audio == nil || got.Audio.SampleRate != 48000 || len(got.Warnings) != 1 {
		t.Fatalf("live: %+v", got)
	}
	e.do(t, "GET", path, other, nil).problem(t, 403)
	e.do(t, "GET", path, "", nil).problem(t, 401)
	e.do(t, "GET", "/api/v1/fundraisers/f_nope/stream/health", owner, nil).problem(t, 404)
}
