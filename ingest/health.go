package ingest

import (
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/givelive/givelive/ingest/hls"
)

// Health is what the studio shows a broadcaster about their stream while
// it is live, so they can fix their encoder's settings on air.
type Health struct {
	// Since is when the publish started.
	Since time.Time
	// Bitrate is what arrives, in bits per second, over the last 5 s.
	Bitrate int64
	// Video and Audio describe the tracks; nil when absent or not read yet.
	Video *VideoHealth
	Audio *AudioHealth
	// Behind is how much later than real time the stream now arrives,
	// compared with its start: an upload or an encoder that cannot keep up
	// makes it grow.
	Behind time.Duration
	// Dropped counts the frames the server could not use.
	Dropped int64
	// Warnings say in plain words what to change, most important first.
	Warnings []string
}

// VideoHealth describes the video track.
type VideoHealth struct {
	Codec         string
	Width, Height int
	// FrameRate is measured over the last 2 s of frames.
	FrameRate float64
	// KeyframeInterval is the time between the last two keyframes; 0 until
	// two have arrived.
	KeyframeInterval time.Duration
}

// AudioHealth describes the audio track.
type AudioHealth struct {
	Codec      string
	SampleRate int
	Channels   int
}

// Thresholds of the warnings.
const (
	// maxKeyframeInterval: longer keyframe intervals make viewers wait
	// longer to start and make segments longer than the 2 s target.
	maxKeyframeInterval = 2200 * time.Millisecond
	maxBehind           = 1500 * time.Millisecond
	minFrameRate        = 20
	rateWindow          = 5 // seconds of bytes in Bitrate
	lagSettle           = 3 * time.Second
	fpsWindow           = 2000
)

// health gathers a publish's figures. Its methods are safe for concurrent
// use and do nothing on a nil *health (before the publish).
type health struct {
	mu    sync.Mutex
	since time.Time

	buckets [rateWindow + 1]struct {
		sec   int64
		bytes uint64
	}

	video *VideoHealth
	audio *AudioHealth

	clock     clock   // media time of arriving messages
	frames    []int64 // media ms of recent video frames
	firstLag  time.Duration
	lags      []lagSample
	haveLag   bool
	lastKey   int64
	haveKey   bool
	keyGap    time.Duration
	lastMedia int64
	dropped   int64
}

type lagSample struct {
	at  time.Time
	lag time.Duration
}

func newHealth(now time.Time) *health { return &health{since: now} }

// received counts bytes read from the publisher.
func (h *health) received(now time.Time, n uint64) {
	if h == nil || n == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sec := now.Unix()
	b := &h.buckets[sec%int64(len(h.buckets))]
	if b.sec != sec {
		b.sec, b.bytes = sec, 0
	}
	b.bytes += n
}

// message notes a media message's arrival: frame rate and lateness.
func (h *health) message(now time.Time, msg message.Message) {
	if h == nil {
		return
	}
	dts, ok := messageDTS(msg)
	if !ok {
		return
	}
	video := false
	switch m := msg.(type) {
	case *message.Video:
		video = m.Type == message.VideoTypeAU
	case *message.VideoExCodedFrames, *message.VideoExFramesX:
		video = true
	case *message.VideoExMultitrack:
		switch m.Wrapped.(type) {
		case *message.VideoExCodedFrames, *message.VideoExFramesX:
			video = m.TrackID == 0
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ms := h.clock.unwrap(dts)
	h.noteLocked(now, ms, h.clock.base, video)
}

// media notes a frame that arrived at now with its media time ms on the
// publish's timeline (which starts at 0): frame rate and lateness. WHIP
// sessions, which have no RTMP messages, call it.
func (h *health) media(now time.Time, ms int64, video bool) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.noteLocked(now, ms, 0, video)
}

// noteLocked notes a frame at media ms, base being the timeline's start.
func (h *health) noteLocked(now time.Time, ms, base int64, video bool) {
	h.lastMedia = ms
	if video {
		h.frames = append(h.frames, ms)
		cut := 0
		for cut < len(h.frames) && h.frames[cut] < ms-fpsWindow {
			cut++
		}
		h.frames = h.frames[cut:]
	}
	// Lateness: how far the media clock trails the wall clock, compared
	// with the start. The smallest lag of the last few seconds is the
	// steady one (jitter only ever adds). The first seconds set no
	// baseline: encoders send them in bursts (audio ahead of video held in
	// the encoder's lookahead).
	if now.Sub(h.since) < lagSettle {
		return
	}
	lag := now.Sub(h.since) - time.Duration(ms-base)*time.Millisecond
	if !h.haveLag || lag < h.firstLag {
		h.firstLag, h.haveLag = lag, true
	}
	h.lags = append(h.lags, lagSample{now, lag})
	cut := 0
	for cut < len(h.lags)-1 && now.Sub(h.lags[cut].at) > rateWindow*time.Second {
		cut++
	}
	h.lags = h.lags[cut:]
}

// keyframe notes a video keyframe at media ms (on the feeder's timeline).
func (h *health) keyframe(ms int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.haveKey && ms > h.lastKey {
		h.keyGap = time.Duration(ms-h.lastKey) * time.Millisecond
	}
	h.lastKey, h.haveKey = ms, true
}

func (h *health) drop() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.dropped++
	h.mu.Unlock()
}

// setTracks describes the tracks the stream began with.
func (h *health) setTracks(t hls.Tracks) {
	if h == nil {
		return
	}
	var v *VideoHealth
	if t.Video != nil {
		v = &VideoHealth{Codec: hls.CodecName(t.Video)}
		v.Width, v.Height = videoSize(t.Video)
	}
	var a *AudioHealth
	switch c := t.Audio.(type) {
	case *codecs.MPEG4Audio:
		a = &AudioHealth{Codec: hls.CodecName(c), SampleRate: c.Config.SampleRate, Channels: c.Config.ChannelCount}
	case *codecs.Opus:
		a = &AudioHealth{Codec: hls.CodecName(c), SampleRate: 48000, Channels: c.ChannelCount}
	}
	h.mu.Lock()
	h.video, h.audio = v, a
	h.mu.Unlock()
}

func videoSize(c codecs.Codec) (int, int) {
	switch c := c.(type) {
	case *codecs.H264:
		var sps h264.SPS
		if sps.Unmarshal(c.SPS) == nil {
			return sps.Width(), sps.Height()
		}
	case *codecs.H265:
		var sps h265.SPS
		if sps.Unmarshal(c.SPS) == nil {
			return sps.Width(), sps.Height()
		}
	case *codecs.AV1:
		var sh av1.SequenceHeader
		if len(c.SequenceHeader) > 0 && sh.Unmarshal(c.SequenceHeader) == nil {
			return sh.Width(), sh.Height()
		}
	}
	return 0, 0
}

// snapshot returns the figures now, with their warnings.
func (h *health) snapshot(now time.Time) Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := Health{Since: h.since, Dropped: h.dropped}
	var bytes uint64
	sec := now.Unix()
	for _, b := range h.buckets {
		if b.sec < sec && b.sec >= sec-rateWindow {
			bytes += b.bytes
		}
	}
	window := min(int64(rateWindow), max(sec-h.since.Unix(), 1))
	out.Bitrate = int64(bytes) * 8 / window
	if h.video != nil {
		v := *h.video
		if n := len(h.frames); n > 1 && h.frames[n-1] > h.frames[0] {
			v.FrameRate = float64(n-1) * 1000 / float64(h.frames[n-1]-h.frames[0])
		}
		v.KeyframeInterval = h.keyGap
		out.Video = &v
	}
	if h.audio != nil {
		a := *h.audio
		out.Audio = &a
	}
	if len(h.lags) > 0 {
		least := h.lags[0].lag
		for _, l := range h.lags {
			least = min(least, l.lag)
		}
		out.Behind = max(least-h.firstLag, 0)
	}
	out.Warnings = h.warnings(out)
	return out
}

// warnings say what to change, in words a broadcaster understands.
func (h *health) warnings(s Health) []string {
	var w []string
	if s.Behind > maxBehind {
		w = append(w, fmt.Sprintf("Your stream reaches the server %.1f s later than real time: your upload or your computer cannot keep up. "+
			"Lower the bitrate (OBS: Settings → Output) or choose a faster encoder preset.", s.Behind.Seconds()))
	}
	if v := s.Video; v != nil {
		switch {
		case v.KeyframeInterval > maxKeyframeInterval:
			w = append(w, fmt.Sprintf("Keyframes arrive every %.1f s, too far apart for low delay. "+
				"Set the keyframe interval to 2 s (OBS: Settings → Output → Keyframe Interval).", v.KeyframeInterval.Seconds()))
		case h.haveKey && time.Duration(h.lastMedia-h.lastKey)*time.Millisecond > 2*maxKeyframeInterval:
			w = append(w, fmt.Sprintf("No keyframe for %.0f s. Set the keyframe interval to 2 s (OBS: Settings → Output → Keyframe Interval).",
				float64(h.lastMedia-h.lastKey)/1000))
		}
		if v.FrameRate > 0 && v.FrameRate < minFrameRate {
			w = append(w, fmt.Sprintf("Only %.0f frames per second arrive, so motion looks choppy. "+
				"If OBS reports skipped frames, lower the resolution or choose a faster encoder preset.", v.FrameRate))
		}
	}
	if s.Audio == nil {
		w = append(w, "No sound reaches the server: viewers hear nothing. Check the audio encoder (AAC) and your microphone in OBS.")
	}
	if s.Dropped > 0 {
		w = append(w, fmt.Sprintf("The server could not use %d damaged frames from your encoder.", s.Dropped))
	}
	return w
}

// messageDTS returns the decode timestamp of a media message.
func messageDTS(msg message.Message) (time.Duration, bool) {
	switch m := msg.(type) {
	case *message.Video:
		return m.DTS, true
	case *message.Audio:
		return m.DTS, true
	case *message.VideoExCodedFrames:
		return m.DTS, true
	case *message.VideoExFramesX:
		return m.DTS, true
	case *message.AudioExCodedFrames:
		return m.DTS, true
	case *message.VideoExMultitrack:
		return messageDTS(m.Wrapped)
	case *message.AudioExMultitrack:
		return messageDTS(m.Wrapped)
	}
	return 0, false
}
