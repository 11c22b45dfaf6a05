package ingest

import (
	"errors"
	"fmt"

	"github.com/givelive/givelive/ingest/flv"
	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/ingest/mpegts"
	"github.com/givelive/givelive/ingest/rtmp"
)

// codecHint ends every codec refusal: what to set in the encoder.
const codecHint = "GiveLive takes H.264 video and AAC-LC audio; set the encoder to x264 (or a hardware H.264 encoder) and AAC"

// clock unwraps RTMP's 32-bit millisecond timestamps (they wrap after
// about 49.7 days, and ffmpeg's -output_ts_offset can start them anywhere)
// into one 64-bit timeline. Audio and video interleave with small steps
// backwards, so each step is read as a signed 32-bit difference.
type clock struct {
	started bool
	last    uint32
	now     int64
}

func (c *clock) unwrap(ts uint32) int64 {
	if !c.started {
		c.started, c.last, c.now = true, ts, int64(ts)
		return c.now
	}
	c.now += int64(int32(ts - c.last))
	c.last = ts
	return c.now
}

// mediaMessage feeds one audio or video message to the segmenter.
func (ss *session) mediaMessage(typ uint8, ts uint32, p []byte) error {
	dts := ss.clock.unwrap(ts)
	if typ == rtmp.TypeVideo {
		return ss.videoMessage(dts, p)
	}
	return ss.audioMessage(dts, p)
}

func (ss *session) videoMessage(dts int64, p []byte) error {
	if len(p) == 0 {
		return nil // some encoders send empty tags
	}
	tag, err := flv.ParseVideo(p)
	if errors.Is(err, flv.ErrUnsupported) {
		return codecRefusal(fmt.Sprintf("video: %v", err))
	}
	if err != nil {
		ss.srv.metrics.dropped("malformed")
		ss.log.Debug("dropped malformed video message", "err", err)
		return nil
	}
	if tag.Command {
		return nil
	}
	if tag.Codec != flv.VideoAVC {
		return codecRefusal(fmt.Sprintf("video codec %v is not supported", tag.Codec))
	}
	md := &ss.media
	switch tag.PacketType {
	case flv.VideoSequenceStart:
		cfg, err := flv.ParseAVCConfig(tag.Data)
		if err != nil {
			return codecRefusal(fmt.Sprintf("the H.264 configuration record is invalid (%v)", err))
		}
		md.video = &cfg
		if md.seg != nil && md.segVideo {
			md.seg.SetVideoConfig(mpegts.VideoConfig{SPS: cfg.SPS, PPS: cfg.PPS})
		}
		return nil
	case flv.VideoCodedFrames:
		if md.video == nil {
			ss.srv.metrics.dropped("before_config")
			return nil
		}
		if !ss.ready(dts) {
			ss.srv.metrics.dropped("before_config")
			return nil
		}
		if !md.segVideo {
			ss.srv.metrics.dropped("late_track")
			return nil
		}
		if err := md.seg.WriteVideo(dts, tag.CompositionTime, tag.Keyframe, tag.Data, md.video.LengthSize); err != nil {
			ss.srv.metrics.dropped("malformed")
			ss.log.Debug("dropped video frame", "err", err)
		}
		return nil
	default:
		return nil // end of sequence, metadata
	}
}

func (ss *session) audioMessage(dts int64, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	tag, err := flv.ParseAudio(p)
	if errors.Is(err, flv.ErrUnsupported) {
		return codecRefusal(fmt.Sprintf("audio: %v", err))
	}
	if err != nil {
		ss.srv.metrics.dropped("malformed")
		ss.log.Debug("dropped malformed audio message", "err", err)
		return nil
	}
	if tag.Codec != flv.AudioAAC {
		return codecRefusal(fmt.Sprintf("audio codec %v is not supported", tag.Codec))
	}
	md := &ss.media
	if tag.SequenceHeader {
		cfg, err := flv.ParseAACConfig(tag.Data)
		if err != nil {
			return codecRefusal(fmt.Sprintf("the AAC configuration is invalid (%v)", err))
		}
		if _, err := cfg.AppendADTS(nil, 0); err != nil {
			return codecRefusal(fmt.Sprintf("this AAC profile cannot be carried in HLS (%v)", err))
		}
		md.audio = &cfg
		if md.seg != nil && md.segAudio {
			if err := md.seg.SetAudioConfig(mpegts.AudioConfig{ObjectType: cfg.ObjectType, SampleRateIndex: cfg.SampleRateIndex,
				SampleRate: cfg.SampleRate, Channels: cfg.Channels}); err != nil {
				return codecRefusal(fmt.Sprintf("the new AAC configuration cannot be used (%v)", err))
			}
		}
		return nil
	}
	if tag.PacketType != flv.AudioCodedFrames {
		return nil // end of sequence, channel layout
	}
	if md.audio == nil || !ss.ready(dts) {
		ss.srv.metrics.dropped("before_config")
		return nil
	}
	if !md.segAudio {
		ss.srv.metrics.dropped("late_track")
		return nil
	}
	if err := md.seg.WriteAudio(dts, tag.Data); err != nil {
		ss.srv.metrics.dropped("malformed")
		ss.log.Debug("dropped audio frame", "err", err)
	}
	return nil
}

// ready starts the segmenter once every track the metadata announced has
// its configuration, or once configWait of media has gone by without one
// (then the stream goes on without that track).
func (ss *session) ready(dts int64) bool {
	md := &ss.media
	if md.seg != nil {
		return true
	}
	if !md.waiting {
		md.waiting, md.firstFrame = true, dts
	}
	complete := (!md.wantVideo || md.video != nil) && (!md.wantAudio || md.audio != nil)
	if !complete && dts-md.firstFrame < configWait {
		return false
	}
	var vc *mpegts.VideoConfig
	var ac *mpegts.AudioConfig
	if md.video != nil {
		vc = &mpegts.VideoConfig{SPS: md.video.SPS, PPS: md.video.PPS}
	}
	if md.audio != nil {
		ac = &mpegts.AudioConfig{ObjectType: md.audio.ObjectType, SampleRateIndex: md.audio.SampleRateIndex,
			SampleRate: md.audio.SampleRate, Channels: md.audio.Channels}
	}
	if !complete {
		ss.log.Warn("a track the publisher announced never sent its configuration; going on without it",
			"video", vc != nil, "audio", ac != nil)
	}
	seg, err := mpegts.NewSegmenter(mpegts.Config{TargetDuration: ss.srv.cfg.SegmentDuration, Now: ss.srv.cfg.Now}, vc, ac, ss.emit)
	if err != nil {
		ss.log.Warn("failed to start the segmenter", "err", err)
		return false
	}
	md.seg, md.segVideo, md.segAudio = seg, vc != nil, ac != nil
	ss.log.Info("stream started", "video", md.segVideo, "audio", md.segAudio)
	// Live only now: a publisher refused for its codecs never flickers
	// live and offline in front of the viewers. The first playlist
	// request waits for the first segment.
	ss.srv.goLive(ss.fundraiser, ss)
	return true
}

// emit puts a finished segment in the fundraiser's HLS window, unless a
// newer publisher has taken over.
func (ss *session) emit(seg mpegts.Segment) {
	ss.srv.current(ss.fundraiser, ss, func() {
		ss.stream.Append(hls.Segment{Data: seg.Data, Duration: seg.Duration, Start: seg.Start})
	})
	if !seg.FirstKeyframeArrival.IsZero() {
		ss.srv.metrics.segmentLatency.Observe(seg.Ready.Sub(seg.FirstKeyframeArrival).Seconds())
	}
}

// aggregate splits an aggregate message into its FLV tags. Their
// timestamps are relative to the first tag's, which the message's own
// timestamp places.
func (ss *session) aggregate(m rtmp.Message) error {
	p := m.Payload
	var offset uint32
	for first := true; len(p) > 0; first = false {
		if len(p) < 11 {
			ss.srv.metrics.dropped("malformed")
			return nil
		}
		typ := p[0] & 0x1f
		size := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		ts := uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6]) | uint32(p[7])<<24
		if len(p) < 11+size {
			ss.srv.metrics.dropped("malformed")
			return nil
		}
		if first {
			offset = m.Timestamp - ts
		}
		body := p[11 : 11+size]
		switch typ {
		case rtmp.TypeAudio, rtmp.TypeVideo:
			if err := ss.mediaMessage(typ, ts+offset, body); err != nil {
				return err
			}
		case rtmp.TypeDataAMF0:
			ss.metadata(body)
		}
		p = p[11+size:]
		if len(p) >= 4 {
			p = p[4:] // the previous tag size
		}
	}
	return nil
}

func codecRefusal(what string) error {
	return &refusal{reason: "codec", code: "NetStream.Publish.Rejected", desc: what + ". " + codecHint + "."}
}
