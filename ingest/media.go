package ingest

import (
	"errors"
	"fmt"
	"io"
	"time"

	mp4 "github.com/abema/go-mp4"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gortmplib"
	rtmpcodecs "github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/givelive/givelive/ingest/hls"
)

// codecHint ends every codec refusal: what to set in the encoder.
const codecHint = "GiveLive takes H.264, H.265 (HEVC) or AV1 video and AAC or Opus audio; " +
	"in OBS choose x264 (or a hardware H.264, HEVC or AV1 encoder) and AAC"

func codecRefusal(what string) error {
	return &refusal{reason: "codec", code: "NetStream.Publish.Rejected", desc: what + " is not supported. " + codecHint + "."}
}

// publish reads the publisher's tracks (gortmplib's Reader looks at the
// first two seconds of media), begins the HLS stream, reports it live,
// and feeds it until the publisher stops.
func (ss *session) publish() error {
	r := &gortmplib.Reader{Conn: ss}
	if err := r.Initialize(); err != nil {
		return ss.tracksError(err)
	}
	f, tracks, err := newFeeder(ss, r)
	if err != nil {
		return err
	}
	ss.feed = f
	var st *hls.Stream
	ss.srv.current(ss.fundraiser, ss, func() { st, err = ss.srv.cfg.HLS.Begin(ss.fundraiser, tracks) })
	if err != nil {
		return codecRefusal(err.Error())
	}
	if st == nil {
		return io.EOF // replaced already, in the instant since the claim
	}
	ss.stream, f.stream = st, st
	ss.health.setTracks(tracks)
	ss.log.Info("stream started", "tracks", tracks.String())
	// Live only now: a publisher refused for its codecs never flickers live
	// and offline in front of the viewers.
	ss.srv.goLive(ss.fundraiser, ss)
	for {
		err := r.Read()
		if err == nil {
			continue
		}
		if ss.nextErr != nil {
			return ss.nextErr // the connection's own: see next
		}
		// A frame the library could not unpack: drop it and go on.
		f.drop(err)
	}
}

// tracksError turns a failure to read the tracks into what the publisher
// is told.
func (ss *session) tracksError(err error) error {
	if ss.nextErr != nil {
		return ss.nextErr
	}
	ss.srv.metrics.refused("codec")
	return &refusal{reason: "codec", code: "NetStream.Publish.Rejected",
		desc: fmt.Sprintf("the stream's first seconds could not be read (%v). %s.", err, codecHint)}
}

// feeder turns gortmplib's frames into the HLS stream's: timestamps on one
// 64-bit timeline from the publish start, wall-clock times for
// program-date-time, parameter sets in front of every keyframe.
type feeder struct {
	ss     *session
	stream *hls.Stream
	clock  clock

	p               *params // the session's
	frames, dropped int64
	warned          bool
}

func newFeeder(ss *session, r *gortmplib.Reader) (*feeder, hls.Tracks, error) {
	f := &feeder{ss: ss, p: &ss.params}
	var tracks hls.Tracks
	var video, audio *gortmplib.Track
	for _, t := range r.Tracks() {
		switch {
		case t.Codec.IsVideo() && video == nil:
			video = t
		case !t.Codec.IsVideo() && audio == nil:
			audio = t
		default:
			ss.log.Info("publisher sends more than one video or audio track; only the first of each is shown")
			ignore(r, t)
		}
	}
	if video != nil {
		switch c := video.Codec.(type) {
		case *rtmpcodecs.H264:
			if f.p.sps == nil {
				f.p.sps, f.p.pps = c.SPS, c.PPS
			}
			tracks.Video = &codecs.H264{SPS: c.SPS, PPS: c.PPS}
			r.OnDataH264(video, f.h264)
		case *rtmpcodecs.H265:
			if f.p.sps == nil {
				f.p.vps, f.p.sps, f.p.pps = c.VPS, c.SPS, c.PPS
			}
			tracks.Video = &codecs.H265{VPS: c.VPS, SPS: c.SPS, PPS: c.PPS}
			r.OnDataH265(video, f.h265)
		case *rtmpcodecs.AV1:
			tracks.Video = &codecs.AV1{SequenceHeader: f.p.av1Seq}
			r.OnDataAV1(video, f.av1)
		default:
			return nil, tracks, codecRefusal("video codec " + rtmpCodecName(video.Codec))
		}
	}
	if audio != nil {
		switch c := audio.Codec.(type) {
		case *rtmpcodecs.MPEG4Audio:
			if c.Config == nil || c.Config.SampleRate <= 0 {
				return nil, tracks, codecRefusal("AAC without a valid configuration")
			}
			tracks.Audio = &codecs.MPEG4Audio{Config: *c.Config}
			rate := c.Config.SampleRate
			r.OnDataMPEG4Audio(audio, func(pts time.Duration, au []byte) { f.aac(pts, au, rate) })
		case *rtmpcodecs.Opus:
			channels := 2
			if c.IDHeader != nil {
				channels = int(c.IDHeader.ChannelCount)
			}
			tracks.Audio = &codecs.Opus{ChannelCount: channels}
			r.OnDataOpus(audio, f.opus)
		default:
			return nil, tracks, codecRefusal("audio codec " + rtmpCodecName(audio.Codec))
		}
	}
	if tracks.Video == nil && tracks.Audio == nil {
		return nil, tracks, codecRefusal("a stream without video or audio")
	}
	return f, tracks, nil
}

// ignore registers a callback that drops the frames of a track we do not
// show (gortmplib calls one for every track it found).
func ignore(r *gortmplib.Reader, t *gortmplib.Track) {
	switch t.Codec.(type) {
	case *rtmpcodecs.H264:
		r.OnDataH264(t, func(time.Duration, time.Duration, [][]byte) {})
	case *rtmpcodecs.H265:
		r.OnDataH265(t, func(time.Duration, time.Duration, [][]byte) {})
	case *rtmpcodecs.AV1:
		r.OnDataAV1(t, func(time.Duration, [][]byte) {})
	case *rtmpcodecs.VP9:
		r.OnDataVP9(t, func(time.Duration, []byte) {})
	case *rtmpcodecs.Opus:
		r.OnDataOpus(t, func(time.Duration, []byte) {})
	case *rtmpcodecs.MPEG4Audio:
		r.OnDataMPEG4Audio(t, func(time.Duration, []byte) {})
	case *rtmpcodecs.MPEG1Audio:
		r.OnDataMPEG1Audio(t, func(time.Duration, []byte) {})
	case *rtmpcodecs.AC3:
		r.OnDataAC3(t, func(time.Duration, []byte) {})
	case *rtmpcodecs.FLAC:
		r.OnDataFLAC(t, func(time.Duration, []byte) {})
	case *rtmpcodecs.G711:
		r.OnDataG711(t, func(time.Duration, []byte) {})
	case *rtmpcodecs.LPCM:
		r.OnDataLPCM(t, func(time.Duration, []byte) {})
	}
}

// rtmpCodecName names a codec gortmplib read, for refusals.
func rtmpCodecName(c rtmpcodecs.Codec) string {
	switch c.(type) {
	case *rtmpcodecs.VP9:
		return "VP9"
	case *rtmpcodecs.MPEG1Audio:
		return "MP3"
	case *rtmpcodecs.AC3:
		return "AC-3"
	case *rtmpcodecs.FLAC:
		return "FLAC"
	case *rtmpcodecs.G711:
		return "G.711"
	case *rtmpcodecs.LPCM:
		return "PCM"
	}
	return fmt.Sprintf("%T", c)
}

// params are the parameter sets of the video track, replaced when the
// publisher sends new ones (an encoder that changes resolution does); they
// go in front of every keyframe, since the muxer reads them in-band and
// RTMP only carries them in sequence headers.
type params struct {
	sps, pps, vps []byte
	av1Seq        []byte
}

// update follows the sequence headers a publisher sends.
func (p *params) update(msg message.Message) {
	switch m := msg.(type) {
	case *message.Video:
		if m.Type != message.VideoTypeConfig {
			return
		}
		switch {
		case m.AVCConfig != nil && len(m.AVCConfig.SequenceParameterSets) > 0 && len(m.AVCConfig.PictureParameterSets) > 0:
			p.avc(m.AVCConfig.SequenceParameterSets[0].NALUnit, m.AVCConfig.PictureParameterSets[0].NALUnit)
		case m.HEVCConfig != nil:
			p.hevcConfig(m.HEVCConfig.NaluArrays)
		}
	case *message.VideoExSequenceStart:
		switch {
		case m.AVCConfig != nil && len(m.AVCConfig.SequenceParameterSets) > 0 && len(m.AVCConfig.PictureParameterSets) > 0:
			p.avc(m.AVCConfig.SequenceParameterSets[0].NALUnit, m.AVCConfig.PictureParameterSets[0].NALUnit)
		case m.HEVCConfig != nil:
			p.hevcConfig(m.HEVCConfig.NaluArrays)
		case m.AV1Config != nil:
			var obus av1.Bitstream
			if obus.Unmarshal(m.AV1Config.ConfigOBUs) == nil {
				if seq := av1SequenceHeader(obus); seq != nil {
					p.av1Seq = seq
				}
			}
		}
	}
}

func (f *feeder) h264(pts, _ time.Duration, au [][]byte) {
	random, params := false, true
	hasSPS := false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeIDR:
			random, params = true, false
		case h264.NALUTypeSPS:
			hasSPS = true
		case h264.NALUTypePPS:
		default:
			params = false
		}
	}
	if params {
		return // a sequence header: config has it
	}
	if random && !hasSPS && f.p.sps != nil && f.p.pps != nil {
		au = append([][]byte{f.p.sps, f.p.pps}, au...)
	}
	ms := f.clock.unwrap(pts)
	f.frame(f.stream.WriteH264(f.ss.ntp(&f.clock, ms), f.clock.ticks(ms, 90000), au), ms, random, true)
}

func (f *feeder) h265(pts, _ time.Duration, au [][]byte) {
	random, params := false, true
	hasSPS := false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h265.NALUType((n[0] >> 1) & 0b111111) {
		case h265.NALUType_IDR_W_RADL, h265.NALUType_IDR_N_LP, h265.NALUType_CRA_NUT:
			random, params = true, false
		case h265.NALUType_SPS_NUT:
			hasSPS = true
		case h265.NALUType_VPS_NUT, h265.NALUType_PPS_NUT:
		default:
			params = false
		}
	}
	if params {
		return
	}
	if random && !hasSPS && f.p.vps != nil && f.p.sps != nil && f.p.pps != nil {
		au = append([][]byte{f.p.vps, f.p.sps, f.p.pps}, au...)
	}
	ms := f.clock.unwrap(pts)
	f.frame(f.stream.WriteH265(f.ss.ntp(&f.clock, ms), f.clock.ticks(ms, 90000), au), ms, random, true)
}

func (f *feeder) av1(pts time.Duration, tu [][]byte) {
	random := av1SequenceHeader(tu) != nil
	if !random && f.p.av1Seq != nil && isAV1Keyframe(tu) {
		// A keyframe without its sequence header: give it one, so the
		// muxer sees where a player can start.
		tu = append([][]byte{f.p.av1Seq}, tu...)
		random = true
	}
	ms := f.clock.unwrap(pts)
	f.frame(f.stream.WriteAV1(f.ss.ntp(&f.clock, ms), f.clock.ticks(ms, 90000), tu), ms, random, true)
}

func (f *feeder) aac(pts time.Duration, au []byte, rate int) {
	ms := f.clock.unwrap(pts)
	f.frame(f.stream.WriteMPEG4Audio(f.ss.ntp(&f.clock, ms), f.clock.ticks(ms, rate), au), ms, false, false)
}

func (f *feeder) opus(pts time.Duration, packet []byte) {
	ms := f.clock.unwrap(pts)
	f.frame(f.stream.WriteOpus(f.ss.ntp(&f.clock, ms), f.clock.ticks(ms, 48000), packet), ms, false, false)
}

// frame counts a frame written, or dropped by the muxer.
func (f *feeder) frame(err error, ms int64, keyframe, video bool) {
	if err != nil {
		if errors.Is(err, hls.ErrSuperseded) {
			return // a newer publisher took over; this one is being closed
		}
		f.drop(err)
		return
	}
	f.frames++
	if video && keyframe {
		f.ss.health.keyframe(ms)
	}
}

func (f *feeder) drop(err error) {
	f.dropped++
	f.ss.srv.metrics.dropped("muxer")
	f.ss.health.drop()
	if !f.warned {
		f.warned = true
		f.ss.log.Warn("dropped a frame the stream could not carry; later ones are counted in givelive_ingest_dropped_frames_total", "err", err)
	}
}

// avc takes new H.264 parameter sets, if the SPS can be read (a bad one
// would cost every keyframe after it).
func (p *params) avc(sps, pps []byte) {
	var s h264.SPS
	if s.Unmarshal(sps) == nil {
		p.sps, p.pps = sps, pps
	}
}

// hevcConfig takes the parameter sets of an HEVC configuration record, if
// its SPS can be read.
func (p *params) hevcConfig(arrays []mp4.HEVCNaluArray) {
	for _, a := range arrays {
		if len(a.Nalus) > 0 && h265.NALUType(a.NaluType) == h265.NALUType_SPS_NUT {
			var s h265.SPS
			if s.Unmarshal(a.Nalus[0].NALUnit) != nil {
				return
			}
		}
	}
	for _, a := range arrays {
		if len(a.Nalus) == 0 {
			continue
		}
		n := a.Nalus[0].NALUnit
		switch h265.NALUType(a.NaluType) {
		case h265.NALUType_VPS_NUT:
			p.vps = n
		case h265.NALUType_SPS_NUT:
			p.sps = n
		case h265.NALUType_PPS_NUT:
			p.pps = n
		}
	}
}

// av1SequenceHeader returns the sequence header OBU among OBUs, or nil.
func av1SequenceHeader(obus [][]byte) []byte {
	for _, o := range obus {
		if len(o) > 0 && av1.OBUType((o[0]>>3)&0b1111) == av1.OBUTypeSequenceHeader {
			return o
		}
	}
	return nil
}

// AV1 OBU types that carry a frame header (AV1 spec 6.2.2).
const (
	obuFrameHeader av1.OBUType = 3
	obuFrame       av1.OBUType = 6
)

// isAV1Keyframe reports whether a temporal unit starts a key frame: its
// frame header (or frame) OBU says show_existing_frame 0 and frame_type
// KEY_FRAME, which are its first bits after the OBU header when the
// sequence is not reduced_still_picture_header.
func isAV1Keyframe(tu [][]byte) bool {
	for _, o := range tu {
		if len(o) < 2 {
			continue
		}
		typ := av1.OBUType((o[0] >> 3) & 0b1111)
		if typ != obuFrameHeader && typ != obuFrame {
			continue
		}
		hdr := 1
		if o[0]&0b100 != 0 { // obu_extension_flag
			hdr++
		}
		if o[0]&0b10 != 0 { // obu_has_size_field: a LEB128 size follows
			for hdr < len(o) && o[hdr]&0x80 != 0 {
				hdr++
			}
			hdr++
		}
		if hdr >= len(o) {
			return false
		}
		b := o[hdr]
		return b&0x80 == 0 && (b>>5)&0b11 == 0 // show_existing_frame 0, frame_type KEY_FRAME
	}
	return false
}

// clock unwraps RTMP's 32-bit millisecond timestamps (they wrap after about
// 49.7 days, and ffmpeg's -output_ts_offset can start them anywhere) into
// one 64-bit timeline that starts at the publish's first frame. Tracks
// interleave with small steps backwards, so each step is read as a signed
// 32-bit difference.
type clock struct {
	started bool
	last    uint32
	now     int64 // unwrapped ms
	base    int64 // unwrapped ms of the first frame
}

// unwrap returns the unwrapped milliseconds of a timestamp gortmplib read
// from 32-bit RTMP milliseconds.
func (c *clock) unwrap(d time.Duration) int64 {
	ts := uint32(int64(d / time.Millisecond))
	if !c.started {
		c.started, c.last, c.now, c.base = true, ts, int64(ts), int64(ts)
		return c.now
	}
	c.now += int64(int32(ts - c.last))
	c.last = ts
	return c.now
}

// ticks converts unwrapped milliseconds to ticks of rate since the first
// frame.
func (c *clock) ticks(ms int64, rate int) int64 {
	return (ms - c.base) * int64(rate) / 1000
}

// ntp is the wall-clock time of a frame at unwrapped ms on c: the arrival
// of the publish's first media message, plus the media time since it.
func (ss *session) ntp(c *clock, ms int64) time.Time {
	if !ss.anchored {
		// c started at the first frame's timestamp; the anchor is a
		// message near it, so a signed 32-bit step reaches it.
		ss.anchorMS = c.base + int64(int32(ss.firstRaw-uint32(c.base)))
		ss.anchored = true
	}
	return ss.firstWall.Add(time.Duration(ms-ss.anchorMS) * time.Millisecond)
}
