package hls

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/givelive/givelive/internal/fifocache"
)

// Tracks are what a stream carries: a video track, an audio track, or
// both. Video is *codecs.H264, *codecs.H265 or *codecs.AV1; audio is
// *codecs.MPEG4Audio or *codecs.Opus (gohlslib's codec types, which fMP4
// and browsers carry).
type Tracks struct {
	Video codecs.Codec
	Audio codecs.Codec
}

// String names the codecs, for logs.
func (t Tracks) String() string {
	var s []string
	if t.Video != nil {
		s = append(s, CodecName(t.Video))
	}
	if t.Audio != nil {
		s = append(s, CodecName(t.Audio))
	}
	return strings.Join(s, "+")
}

// CodecName is the plain name of a codec, as the studio shows it.
func CodecName(c codecs.Codec) string {
	switch c := c.(type) {
	case *codecs.H264:
		return "H.264"
	case *codecs.H265:
		return "H.265 (HEVC)"
	case *codecs.AV1:
		return "AV1"
	case *codecs.VP9:
		return "VP9"
	case *codecs.MPEG4Audio:
		if c.Config.Type == mpeg4audio.ObjectTypeAACLC {
			return "AAC"
		}
		return fmt.Sprintf("AAC (object type %d)", c.Config.Type)
	case *codecs.Opus:
		return "Opus"
	}
	return fmt.Sprintf("%T", c)
}

// ErrNoTracks: Begin was given no track, or a codec it cannot carry.
var ErrNoTracks = errors.New("hls: no track that HLS can carry")

// Stream is one publish of a fundraiser's stream: the handle Begin returns
// to its publisher. Its Write methods and End are called by one goroutine,
// in order; serving its files (ServeHTTP) is safe concurrently with them.
// A Stream superseded by a later Begin for the same id ignores its writes
// and End.
type Stream struct {
	srv   *Server
	w     *window
	muxer *gohlslib.Muxer
	video *gohlslib.Track
	audio *gohlslib.Track
	rec   Recording // never nil

	// gone is closed once the muxer is closed: requests that were waiting
	// on it go back to the window, which now serves the successor or the
	// frozen end.
	gone      chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool

	fmu     sync.Mutex
	flights map[string]*flight
	fwg     sync.WaitGroup              // flight goroutines
	cache   *fifocache.Cache[*recorded] // finished files, bounded in bytes

	// The publisher's side: what End needs to push the last frames out,
	// and the last parameter set checked.
	tail    tail
	params  paramCheck
	broken  bool // the muxer panicked; writes are refused
	endOnce sync.Once
}

// tail remembers the last frames written, so End can push them out of the
// muxer (it holds each track's last frame back until the next one tells
// its duration, and a part is cut only when a later frame arrives).
type tail struct {
	videoAU     [][]byte // last random-access video frame (H.264/H.265 AU or AV1 TU)
	videoPTS    int64    // last video PTS written, 90 kHz
	videoNTP    time.Time
	videoFrame  int64 // last frame duration seen, 90 kHz
	segStartPTS int64 // PTS of the keyframe that started the current segment
	haveVideo   bool
	havePTS     bool

	audio      []byte
	audioPTS   int64
	audioNTP   time.Time
	audioFrame int64
	haveAudio  bool
}

func newStream(s *Server, w *window, tracks Tracks) (*Stream, error) {
	st := &Stream{
		srv:     s,
		w:       w,
		gone:    make(chan struct{}),
		flights: map[string]*flight{},
		cache:   fifocache.New(s.cfg.CacheBytes, func(r *recorded) int { return len(r.body) }),
	}
	var list []*gohlslib.Track
	switch v := tracks.Video.(type) {
	case nil:
	case *codecs.H264, *codecs.H265, *codecs.AV1:
		st.video = &gohlslib.Track{Codec: v, ClockRate: 90000}
		list = append(list, st.video)
	default:
		return nil, fmt.Errorf("%w: video %s", ErrNoTracks, CodecName(v))
	}
	switch a := tracks.Audio.(type) {
	case nil:
	case *codecs.MPEG4Audio:
		if a.Config.SampleRate <= 0 {
			return nil, fmt.Errorf("%w: AAC without a sample rate", ErrNoTracks)
		}
		st.audio = &gohlslib.Track{Codec: a, ClockRate: a.Config.SampleRate}
		list = append(list, st.audio)
	case *codecs.Opus:
		st.audio = &gohlslib.Track{Codec: a, ClockRate: 48000}
		list = append(list, st.audio)
	default:
		return nil, fmt.Errorf("%w: audio %s", ErrNoTracks, CodecName(a))
	}
	if len(list) == 0 {
		return nil, ErrNoTracks
	}
	if err := checkTracks(tracks); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoTracks, err)
	}
	st.muxer = &gohlslib.Muxer{
		Tracks:             list,
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       s.cfg.SegmentCount,
		SegmentMinDuration: s.cfg.SegmentDuration,
		PartMinDuration:    s.cfg.PartDuration,
		SegmentMaxSize:     uint64(s.cfg.MaxSegmentBytes),
		OnEncodeError: func(err error) {
			s.m.encodeErrors.Inc()
			s.log.Debug("hls muxer", "fundraiser", w.id, "err", err)
		},
	}
	if err := st.muxer.Start(); err != nil {
		return nil, fmt.Errorf("hls: failed to start the muxer: %w", err)
	}
	st.rec = noRecording{}
	if s.cfg.Recorder != nil {
		st.rec = s.cfg.Recorder.Record(w.id, tracks)
	}
	return st, nil
}

// ID returns the fundraiser id the Stream was begun for.
func (st *Stream) ID() string { return st.w.id }

// HasVideo and HasAudio report the tracks the Stream was begun with.
func (st *Stream) HasVideo() bool { return st.video != nil }
func (st *Stream) HasAudio() bool { return st.audio != nil }

// Errors from writes that callers branch on.
var (
	// ErrSuperseded: the Stream was superseded by a newer publish, or has
	// ended; the frame was dropped.
	ErrSuperseded = errors.New("hls: stream superseded or ended")
	// ErrNoTrack: a frame for a track the Stream was not begun with.
	ErrNoTrack = errors.New("hls: no such track in this stream")
)

// WriteH264 writes an H.264 access unit (NAL units without start codes)
// with its presentation time in 90 kHz ticks and the wall-clock time of
// its capture (EXT-X-PROGRAM-DATE-TIME). A keyframe must carry its SPS and
// PPS in front: the muxer reads them in-band.
func (st *Stream) WriteH264(ntp time.Time, pts int64, au [][]byte) error {
	if err := st.writable(st.video, isH264); err != nil {
		return err
	}
	if err := st.params.h264(au); err != nil {
		return err
	}
	st.noteVideo(ntp, pts, au, h264.IsRandomAccess(au))
	return st.recordVideo(ntp, pts, au, st.write(func() error { return st.muxer.WriteH264(st.video, ntp, pts, au) }))
}

// WriteH265 writes an H.265 access unit; a keyframe must carry its VPS,
// SPS and PPS in front.
func (st *Stream) WriteH265(ntp time.Time, pts int64, au [][]byte) error {
	if err := st.writable(st.video, isH265); err != nil {
		return err
	}
	if err := st.params.h265(au); err != nil {
		return err
	}
	st.noteVideo(ntp, pts, au, h265.IsRandomAccess(au))
	return st.recordVideo(ntp, pts, au, st.write(func() error { return st.muxer.WriteH265(st.video, ntp, pts, au) }))
}

// WriteAV1 writes an AV1 temporal unit (OBUs); a keyframe must carry its
// sequence header.
func (st *Stream) WriteAV1(ntp time.Time, pts int64, tu [][]byte) error {
	if err := st.writable(st.video, isAV1); err != nil {
		return err
	}
	if err := st.params.av1(tu); err != nil {
		return err
	}
	st.noteVideo(ntp, pts, tu, av1HasSequenceHeader(tu))
	return st.recordVideo(ntp, pts, tu, st.write(func() error { return st.muxer.WriteAV1(st.video, ntp, pts, tu) }))
}

// WriteMPEG4Audio writes one AAC access unit, its time in ticks of the
// sample rate.
func (st *Stream) WriteMPEG4Audio(ntp time.Time, pts int64, au []byte) error {
	if err := st.writable(st.audio, isAAC); err != nil {
		return err
	}
	st.noteAudio(ntp, pts, au, mpeg4audio.SamplesPerAccessUnit)
	return st.recordAudio(ntp, pts, au, st.write(func() error { return st.muxer.WriteMPEG4Audio(st.audio, ntp, pts, [][]byte{au}) }))
}

// WriteOpus writes one Opus packet, its time in 48 kHz ticks.
func (st *Stream) WriteOpus(ntp time.Time, pts int64, packet []byte) error {
	if err := st.writable(st.audio, isOpus); err != nil {
		return err
	}
	st.noteAudio(ntp, pts, packet, opus.PacketDuration2(packet))
	return st.recordAudio(ntp, pts, packet, st.write(func() error { return st.muxer.WriteOpus(st.audio, ntp, pts, [][]byte{packet}) }))
}

// ErrBroken: the muxer failed in a way it cannot recover from; the stream
// takes no more frames (its publisher should stop, and may publish again).
var ErrBroken = errors.New("hls: the stream's muxer failed")

// write runs a muxer write, containing a panic: the muxer is then broken
// and refuses every later frame.
func (st *Stream) write(fn func() error) error {
	var err error
	if contain(st.srv.log, "write", st.w.id, func() { err = fn() }) {
		st.broken = true
		st.srv.m.panics.Inc()
		return ErrBroken
	}
	return err
}

// recordVideo and recordAudio hand a frame the muxer took to the
// recording; a frame the muxer refused is not recorded either.
func (st *Stream) recordVideo(ntp time.Time, pts int64, au [][]byte, err error) error {
	if err == nil {
		st.rec.Video(ntp, pts, au)
	}
	return err
}

func (st *Stream) recordAudio(ntp time.Time, pts int64, frame []byte, err error) error {
	if err == nil {
		st.rec.Audio(ntp, pts, frame)
	}
	return err
}

// writable checks that a write goes to a live stream's track of that codec.
func (st *Stream) writable(t *gohlslib.Track, is func(codecs.Codec) bool) error {
	if st.closed.Load() {
		return ErrSuperseded
	}
	if st.broken {
		return ErrBroken
	}
	if t == nil || !is(t.Codec) {
		return ErrNoTrack
	}
	return nil
}

func isH264(c codecs.Codec) bool { _, ok := c.(*codecs.H264); return ok }
func isH265(c codecs.Codec) bool { _, ok := c.(*codecs.H265); return ok }
func isAV1(c codecs.Codec) bool  { _, ok := c.(*codecs.AV1); return ok }
func isAAC(c codecs.Codec) bool  { _, ok := c.(*codecs.MPEG4Audio); return ok }
func isOpus(c codecs.Codec) bool { _, ok := c.(*codecs.Opus); return ok }

func (st *Stream) noteVideo(ntp time.Time, pts int64, au [][]byte, random bool) {
	tl := &st.tail
	if tl.havePTS && pts > tl.videoPTS {
		tl.videoFrame = pts - tl.videoPTS
	}
	if !tl.havePTS || pts > tl.videoPTS {
		tl.videoPTS, tl.videoNTP, tl.havePTS = pts, ntp, true
	}
	if random {
		tl.videoAU = cloneAU(au)
		tl.haveVideo = true
		// Mirror the muxer's cut: a keyframe at least SegmentDuration
		// after the current segment's start starts the next one.
		if seg := durationTicks(st.srv.cfg.SegmentDuration, 90000); tl.segStartPTS == 0 || pts-tl.segStartPTS >= seg {
			tl.segStartPTS = pts
		}
	}
}

func (st *Stream) noteAudio(ntp time.Time, pts int64, frame []byte, frameTicks int64) {
	tl := &st.tail
	tl.audio = slices.Clone(frame)
	tl.audioPTS, tl.audioNTP, tl.audioFrame, tl.haveAudio = pts, ntp, frameTicks, true
}

// End ends the stream: its last frames are pushed out of the muxer, the
// window is frozen with EXT-X-ENDLIST (players play it out to the last
// frame), served for Linger, then forgotten. A superseded Stream's End only
// releases its muxer. End is idempotent.
func (st *Stream) End() {
	st.endOnce.Do(st.end)
}

func (st *Stream) end() {
	st.rec.End()
	if st.closed.Load() || st.w.state.Load().live != st {
		st.closeMuxer()
		return
	}
	var fz *frozen
	var err error
	if !st.broken && !contain(st.srv.log, "flush", st.w.id, st.flush) {
		fz, err = freeze(st)
	}
	if err != nil {
		st.srv.log.Warn("hls: failed to keep the ended stream's last window", "fundraiser", st.w.id, "err", err)
	}
	if st.w.end(st, fz) {
		segments := 0
		if fz != nil {
			segments = fz.segments
		}
		st.srv.log.Info("hls stream ended", "fundraiser", st.w.id, "segments", segments)
	}
	st.closeMuxer()
}

// flush pushes the frames the muxer still holds into a finished segment:
// it writes one more frame per track, after the last one, which the muxer
// must hold back in turn and which is never served. The last real video
// frame is shown until the segment reaches SegmentDuration, at most.
func (st *Stream) flush() {
	tl := &st.tail
	if tl.haveAudio && st.audio != nil {
		pts := tl.audioPTS + tl.audioFrame
		ntp := tl.audioNTP.Add(ticksDuration(tl.audioFrame, st.audio.ClockRate))
		if st.video == nil {
			// Audio leads: the cut needs a frame past the segment's minimum.
			pts, ntp = st.pastSegment(pts, ntp, tl.audioPTS, st.audio.ClockRate)
		}
		var err error
		switch st.audio.Codec.(type) {
		case *codecs.MPEG4Audio:
			err = st.muxer.WriteMPEG4Audio(st.audio, ntp, pts, [][]byte{tl.audio})
		case *codecs.Opus:
			err = st.muxer.WriteOpus(st.audio, ntp, pts, [][]byte{tl.audio})
		}
		st.flushError(err)
	}
	if !tl.haveVideo || st.video == nil {
		return
	}
	frame := tl.videoFrame
	if frame <= 0 {
		frame = 90000 / 30
	}
	pts := tl.videoPTS + frame
	ntp := tl.videoNTP.Add(ticksDuration(frame, 90000))
	// The muxer cuts a segment at a keyframe whose decode time is at least
	// SegmentDuration past the segment's start; decode times trail the
	// presentation times by the reordering delay, hence the margin.
	minPTS := tl.segStartPTS + durationTicks(st.srv.cfg.SegmentDuration, 90000) + 4*frame
	if pts < minPTS {
		ntp = ntp.Add(ticksDuration(minPTS-pts, 90000))
		pts = minPTS
	}
	var err error
	switch st.video.Codec.(type) {
	case *codecs.H264:
		err = st.muxer.WriteH264(st.video, ntp, pts, tl.videoAU)
	case *codecs.H265:
		err = st.muxer.WriteH265(st.video, ntp, pts, tl.videoAU)
	case *codecs.AV1:
		err = st.muxer.WriteAV1(st.video, ntp, pts, tl.videoAU)
	}
	st.flushError(err)
}

// pastSegment moves an audio-led flush frame past the segment minimum.
func (st *Stream) pastSegment(pts int64, ntp time.Time, last int64, rate int) (int64, time.Time) {
	min := last + durationTicks(st.srv.cfg.SegmentDuration, rate)
	if pts < min {
		return min, ntp.Add(ticksDuration(min-pts, rate))
	}
	return pts, ntp
}

func (st *Stream) flushError(err error) {
	if err != nil {
		st.srv.log.Debug("hls: pushing the last frames out failed", "fundraiser", st.w.id, "err", err)
	}
}

// closeMuxer closes the muxer once: requests waiting on it are released
// and go back to the window.
func (st *Stream) closeMuxer() {
	st.closeOnce.Do(func() {
		st.fmu.Lock()
		st.closed.Store(true) // under fmu: no flight starts after this
		st.fmu.Unlock()
		st.muxer.Close()
		close(st.gone)
		st.fwg.Wait()
	})
}

func cloneAU(au [][]byte) [][]byte {
	c := make([][]byte, len(au))
	for i, n := range au {
		c[i] = slices.Clone(n)
	}
	return c
}

// av1HasSequenceHeader reports whether a temporal unit carries a sequence
// header OBU, which is what the muxer treats as a random access point.
func av1HasSequenceHeader(tu [][]byte) bool {
	for _, obu := range tu {
		if len(obu) > 0 && av1.OBUType((obu[0]>>3)&0b1111) == av1.OBUTypeSequenceHeader {
			return true
		}
	}
	return false
}

func durationTicks(d time.Duration, rate int) int64 {
	return int64(d) * int64(rate) / int64(time.Second)
}

func ticksDuration(ticks int64, rate int) time.Duration {
	return time.Duration(ticks * int64(time.Second) / int64(rate))
}
