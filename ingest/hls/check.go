package hls

import (
	"bytes"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

// The muxer takes a stream's parameter sets (and, until its first segment,
// any it finds in-band) into the fMP4 init section it writes when it cuts
// its first segment. If that fails, gohlslib v2.4.3 is left without a
// segment in progress and its next playlist or frame dereferences nil: a
// publisher's bogus SPS would take the node down. So parameter sets are
// checked before they reach it: the tracks at Begin by writing the init
// section they would make, and in-band ones as they come.

// checkTracks writes the init section the tracks would make, and fails if
// it cannot be written.
func checkTracks(tracks Tracks) error {
	var init fmp4.Init
	for i, c := range []codecs.Codec{tracks.Video, tracks.Audio} {
		if c == nil {
			continue
		}
		var mc mp4codecs.Codec
		switch c := c.(type) {
		case *codecs.H264:
			mc = &mp4codecs.H264{SPS: c.SPS, PPS: c.PPS}
		case *codecs.H265:
			mc = &mp4codecs.H265{VPS: c.VPS, SPS: c.SPS, PPS: c.PPS}
		case *codecs.AV1:
			if len(c.SequenceHeader) == 0 {
				continue // taken from the first keyframe, checked there
			}
			mc = &mp4codecs.AV1{SequenceHeader: c.SequenceHeader}
		case *codecs.MPEG4Audio:
			if c.Config.ChannelCount < 1 {
				return fmt.Errorf("AAC with %d channels", c.Config.ChannelCount)
			}
			mc = &mp4codecs.MPEG4Audio{Config: c.Config}
		case *codecs.Opus:
			if c.ChannelCount < 1 {
				return fmt.Errorf("Opus with %d channels", c.ChannelCount)
			}
			mc = &mp4codecs.Opus{ChannelCount: c.ChannelCount}
		}
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: i + 1, TimeScale: 90000, Codec: mc})
	}
	if len(init.Tracks) == 0 {
		return nil
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return fmt.Errorf("its parameters cannot describe the stream: %w", err)
	}
	return nil
}

// paramCheck remembers the last parameter set that passed, so a stream
// that repeats its SPS before every keyframe is parsed once.
type paramCheck struct {
	good []byte
}

// h264 checks the SPS an H.264 access unit carries, if any.
func (p *paramCheck) h264(au [][]byte) error {
	for _, n := range au {
		if len(n) == 0 || h264.NALUType(n[0]&0x1f) != h264.NALUTypeSPS || bytes.Equal(n, p.good) {
			continue
		}
		var sps h264.SPS
		if err := sps.Unmarshal(n); err != nil {
			return fmt.Errorf("an invalid SPS: %w", err)
		}
		p.good = n
	}
	return nil
}

// h265 checks the SPS an H.265 access unit carries, if any.
func (p *paramCheck) h265(au [][]byte) error {
	for _, n := range au {
		if len(n) == 0 || h265.NALUType((n[0]>>1)&0b111111) != h265.NALUType_SPS_NUT || bytes.Equal(n, p.good) {
			continue
		}
		var sps h265.SPS
		if err := sps.Unmarshal(n); err != nil {
			return fmt.Errorf("an invalid SPS: %w", err)
		}
		p.good = n
	}
	return nil
}

// av1 checks the sequence header an AV1 temporal unit carries, if any.
func (p *paramCheck) av1(tu [][]byte) error {
	for _, o := range tu {
		if len(o) == 0 || av1.OBUType((o[0]>>3)&0b1111) != av1.OBUTypeSequenceHeader || bytes.Equal(o, p.good) {
			continue
		}
		var sh av1.SequenceHeader
		if err := sh.Unmarshal(o); err != nil {
			return fmt.Errorf("an invalid sequence header: %w", err)
		}
		p.good = o
	}
	return nil
}

// contain runs fn and turns a panic in it (a library's, on input nobody
// foresaw) into a logged error, so one stream cannot take the node down.
// It reports whether fn panicked.
func contain(log *slog.Logger, what, id string, fn func()) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			log.Error("hls: a panic was contained; the stream may stop", "what", what, "fundraiser", id,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	fn()
	return false
}
