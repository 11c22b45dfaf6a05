package record

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/givelive/givelive/ingest/hls"
)

// frame is one frame on its way to the writer: its own copy of the bytes.
type frame struct {
	video bool
	ntp   time.Time
	pts   int64
	au    [][]byte // video
	data  []byte   // audio
	size  int
}

// recording is one broadcast: the publisher's side (Video, Audio, End)
// fills a bounded queue; run, on its own goroutine, writes.
type recording struct {
	r      *Recorder
	id     string
	tracks hls.Tracks

	q       chan *frame
	queued  atomic.Int64 // bytes in q
	stopped atomic.Bool  // nothing more is queued: the writer failed, or the queue overflowed
	full    atomic.Bool  // the queue overflowed
	endOnce sync.Once

	w *writer // the writer's, touched only by run
}

func newRecording(r *Recorder, id string, tracks hls.Tracks) *recording {
	// The live muxer updates its tracks' parameter sets in place from the
	// publisher's goroutine; the writer reads its own copies.
	switch v := tracks.Video.(type) {
	case *codecs.H264:
		c := *v
		tracks.Video = &c
	case *codecs.H265:
		c := *v
		tracks.Video = &c
	case *codecs.AV1:
		c := *v
		tracks.Video = &c
	}
	switch a := tracks.Audio.(type) {
	case *codecs.MPEG4Audio:
		c := *a
		tracks.Audio = &c
	case *codecs.Opus:
		c := *a
		tracks.Audio = &c
	}
	return &recording{r: r, id: id, tracks: tracks, q: make(chan *frame, r.cfg.QueueFrames)}
}

// Video queues a copy of a video frame.
func (rec *recording) Video(ntp time.Time, pts int64, au [][]byte) {
	if rec.stopped.Load() {
		return
	}
	n := 0
	for _, u := range au {
		n += len(u)
	}
	buf := make([]byte, n)
	cp := make([][]byte, len(au))
	off := 0
	for i, u := range au {
		cp[i] = buf[off : off+len(u) : off+len(u)]
		copy(cp[i], u)
		off += len(u)
	}
	rec.push(&frame{video: true, ntp: ntp, pts: pts, au: cp, size: n})
}

// Audio queues a copy of an audio frame.
func (rec *recording) Audio(ntp time.Time, pts int64, data []byte) {
	if rec.stopped.Load() {
		return
	}
	rec.push(&frame{ntp: ntp, pts: pts, data: append([]byte(nil), data...), size: len(data)})
}

// push queues f, or stops the recording when the queue is full.
func (rec *recording) push(f *frame) {
	if rec.queued.Load()+int64(f.size) > int64(rec.r.cfg.QueueBytes) {
		rec.overflow()
		return
	}
	rec.queued.Add(int64(f.size))
	select {
	case rec.q <- f:
	default:
		rec.queued.Add(-int64(f.size))
		rec.overflow()
	}
}

// overflow stops the recording: the writer finishes with what it has.
func (rec *recording) overflow() {
	rec.full.Store(true)
	rec.stopped.Store(true)
	rec.End()
}

// End closes the queue: the writer writes what is queued and finishes.
func (rec *recording) End() {
	rec.endOnce.Do(func() {
		rec.stopped.Store(true)
		close(rec.q)
	})
}

// Stop reasons, the reason label of givelive_recordings_stopped_total.
const (
	reasonWrite     = "write_error"
	reasonQueueFull = "queue_full"
	reasonTooLarge  = "too_large"
	reasonMedia     = "media_error"
)

// run is the writer goroutine. A write error, a media error or a panic
// stops this recording only: the writer ends its broadcast with what it
// has and returns; the publisher's frames are dropped from then on.
func (rec *recording) run() {
	defer rec.r.wg.Done()
	rec.w = newWriter(rec)
	defer rec.finish()
	for {
		select {
		case f, ok := <-rec.q:
			if !ok {
				return
			}
			rec.queued.Add(-int64(f.size))
			if err := protect(func() error { return rec.w.frame(f) }); err != nil {
				rec.fail(err)
				return
			}
		case <-rec.r.done:
			return
		}
	}
}

// protect runs fn, turning a panic into a media error.
func protect(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = stopError{reasonMedia, fmt.Errorf("the writer panicked: %v", p)}
		}
	}()
	return fn()
}

// name is the broadcast being written, "" before its first frame.
func (rec *recording) name() string {
	if rec.w == nil {
		return ""
	}
	return rec.w.name
}

// finish closes the broadcast (after a failure its end line is tried
// already), forgets the writer, then tells the change: the broadcast is
// listed as ended from then on.
func (rec *recording) finish() {
	rec.stopped.Store(true)
	w := rec.w
	if !w.failed {
		if err := protect(w.close); err != nil {
			rec.fail(err)
		}
	}
	switch {
	case w.failed:
		// fail logged it
	case rec.full.Load():
		rec.r.log.Warn("recording stopped: its writer fell behind the stream (the live stream goes on)",
			"fundraiser", rec.id, "broadcast", w.name, "segments", w.n)
		rec.r.m.stopped(reasonQueueFull)
	case w.name != "":
		rec.r.log.Info("recording ended", "fundraiser", rec.id, "broadcast", w.name, "segments", w.n, "bytes", w.total)
	}
	rec.r.finished(rec)
	if w.name != "" {
		rec.r.changed(rec.id)
	}
}

// fail stops the recording after an error: one log line, one count. What
// was written stays (the index lists only whole segments) and the index
// gets its end line if the disk takes it (else the next start ends it).
func (rec *recording) fail(err error) {
	w := rec.w
	if w.failed {
		return
	}
	w.failed = true
	rec.stopped.Store(true)
	reason := reasonWrite
	var se stopError
	if errors.As(err, &se) {
		reason = se.reason
	}
	msg := "recording stopped: a write failed (the live stream goes on)"
	if errors.Is(err, syscall.ENOSPC) {
		msg = "recording stopped: the disk is full (the live stream goes on)"
	}
	rec.r.log.Error(msg, "fundraiser", rec.id, "broadcast", w.name, "reason", reason, "err", err)
	rec.r.m.stopped(reason)
	if w.index != nil {
		io.WriteString(w.index, endLine(w.cfg.Now()))
		w.index.Close()
		w.index = nil
	}
}

type stopError struct {
	reason string
	err    error
}

func (e stopError) Error() string { return e.err.Error() }
func (e stopError) Unwrap() error { return e.err }

// writer turns frames into fMP4 segments. Its timeline starts at the first
// video keyframe (or the first audio frame of an audio-only stream): every
// track's decode times count from there, so players line the tracks up.
type writer struct {
	rec    *recording
	cfg    *Config
	failed bool

	name  string // the broadcast's directory name, once its first frame came
	dir   string
	index io.WriteCloser
	n     int   // segments written
	total int64 // bytes written

	video      codecs.Codec
	audio      codecs.Codec
	audioRate  int64
	videoID    int
	audioID    int
	started    bool
	zero       int64 // the timeline's origin, in 90 kHz ticks of the stream's clock
	dts264     *h264.DTSExtractor
	dts265     *h265.DTSExtractor
	pendV      *pending
	pendA      *pending
	lastVDur   int64
	lastADur   int64
	seg        seg
	buf        seekablebuffer.Buffer
	segMin     int64 // SegmentDuration in 90 kHz ticks
	segMinA    int64 // in audio ticks
	initDone   bool
	droppedBad int
	params     mp4codecs.Codec // the video parameters init.mp4 carries
	defaults   codecs.Codec    // the parameters a keyframe without some of its own has: the track's, then the last init.mp4's
	restarts   int             // broadcasts ended by a parameter change
}

type pending struct {
	dts     int64 // decode time on the track's timeline
	ptsOff  int32
	sync    bool
	payload []byte
	ntp     time.Time
}

// seg is the media segment being gathered.
type seg struct {
	video, audio         []*fmp4.Sample
	videoBase, audioBase int64
	vdur, adur           int64
	vntp, antp           time.Time
	bytes                int
}

func newWriter(rec *recording) *writer {
	w := &writer{rec: rec, cfg: &rec.r.cfg, video: rec.tracks.Video, audio: rec.tracks.Audio, defaults: rec.tracks.Video}
	id := 1
	if w.video != nil {
		w.videoID = id
		id++
	}
	if w.audio != nil {
		w.audioID = id
		switch a := w.audio.(type) {
		case *codecs.MPEG4Audio:
			w.audioRate = int64(a.Config.SampleRate)
		default:
			w.audioRate = 48000
		}
	}
	w.segMin = durationTicks(w.cfg.SegmentDuration, 90000)
	if w.audioRate > 0 {
		w.segMinA = durationTicks(w.cfg.SegmentDuration, w.audioRate)
	}
	return w
}

func (w *writer) frame(f *frame) error {
	if f.video {
		if w.video == nil {
			return nil
		}
		return w.videoFrame(f)
	}
	if w.audio == nil || w.audioRate <= 0 {
		return nil
	}
	return w.audioFrame(f)
}

func (w *writer) random(au [][]byte) bool {
	switch w.video.(type) {
	case *codecs.H264:
		return h264.IsRandomAccess(au)
	case *codecs.H265:
		return h265.IsRandomAccess(au)
	case *codecs.AV1:
		return av1.IsRandomAccess2(au)
	}
	return false
}

func (w *writer) videoFrame(f *frame) error {
	random := w.random(f.au)
	if w.started && random && w.paramsChanged(f.au) {
		if err := w.restart("the stream's parameter sets changed"); err != nil {
			return err
		}
	}
	if !w.started && !random {
		return nil // the recording starts at a keyframe
	}
	dts, ok := w.dts(f.au, f.pts, random)
	if !ok {
		return nil
	}
	if w.started && random && w.pendV != nil && dts-w.zero < w.pendV.dts {
		// The stream's clock went back (an encoder that restarted its
		// timestamps): a new broadcast keeps every decode time rising.
		if err := w.restart("the stream's timestamps went back"); err != nil {
			return err
		}
		if dts, ok = w.dts(f.au, f.pts, random); !ok {
			return nil
		}
	}
	if !w.started {
		if err := w.start(f, dts); err != nil {
			return err
		}
	}
	d := dts - w.zero
	if d < 0 {
		return nil
	}
	var payload []byte
	var err error
	if _, isAV1 := w.video.(*codecs.AV1); isAV1 {
		payload, err = av1.Bitstream(f.au).Marshal()
	} else {
		payload, err = h264.AVCC(f.au).Marshal()
	}
	if err != nil {
		w.droppedBad++
		return nil
	}
	if p := w.pendV; p != nil {
		dur := d - p.dts
		if dur <= 0 {
			dur = max(w.lastVDur, 1)
		}
		w.lastVDur = dur
		if err := w.appendVideo(p, dur); err != nil {
			return err
		}
	}
	if random && w.seg.vdur >= w.segMin {
		if err := w.cut(); err != nil {
			return err
		}
	}
	off := f.pts - dts
	w.pendV = &pending{dts: d, ptsOff: int32(min(max(off, 0), 1<<30)), sync: random, payload: payload, ntp: f.ntp}
	return nil
}

// paramsChanged reports whether keyframe au carries parameter sets (SPS,
// PPS, sequence header) other than those of init.mp4: the encoder changed
// its resolution or profile, and the rest cannot be decoded with the old
// init segment.
func (w *writer) paramsChanged(au [][]byte) bool {
	if w.params == nil || !inBandParams(w.video, au) {
		return false
	}
	c, err := mp4Video(asTrack(w.params), au)
	return err == nil && !reflect.DeepEqual(c, w.params)
}

// asTrack turns an init segment's video parameters back into a track's,
// the defaults of the next keyframe's.
func asTrack(c mp4codecs.Codec) codecs.Codec {
	switch v := c.(type) {
	case *mp4codecs.H264:
		return &codecs.H264{SPS: v.SPS, PPS: v.PPS}
	case *mp4codecs.H265:
		return &codecs.H265{VPS: v.VPS, SPS: v.SPS, PPS: v.PPS}
	case *mp4codecs.AV1:
		return &codecs.AV1{SequenceHeader: v.SequenceHeader}
	}
	return nil
}

// inBandParams reports whether au carries any parameter set.
func inBandParams(c codecs.Codec, au [][]byte) bool {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch c.(type) {
		case *codecs.H264:
			if t := h264.NALUType(n[0] & 0x1f); t == h264.NALUTypeSPS || t == h264.NALUTypePPS {
				return true
			}
		case *codecs.H265:
			if t := h265.NALUType((n[0] >> 1) & 0b111111); t == h265.NALUType_VPS_NUT || t == h265.NALUType_SPS_NUT || t == h265.NALUType_PPS_NUT {
				return true
			}
		case *codecs.AV1:
			if av1.OBUType((n[0]>>3)&0b1111) == av1.OBUTypeSequenceHeader {
				return true
			}
		}
	}
	return false
}

// restart ends the broadcast being written (end line, change told) and
// readies a fresh one, which starts at the keyframe at hand: a new
// directory and init.mp4, a DISCONTINUITY in the playlist. The bytes
// written count on toward MaxBroadcastBytes.
func (w *writer) restart(why string) error {
	if err := w.close(); err != nil {
		return err
	}
	rec, old, total, restarts, defaults := w.rec, w.name, w.total, w.restarts+1, asTrack(w.params)
	rec.r.log.Info("recording ended: "+why+", a new broadcast follows",
		"fundraiser", rec.id, "broadcast", old, "segments", w.n)
	*w = *newWriter(rec)
	w.total, w.restarts = total, restarts
	if defaults != nil {
		w.defaults = defaults
	}
	rec.r.setWriting(rec.id, "", old)
	rec.r.changed(rec.id)
	if restarts > maxRestarts {
		return stopError{reasonMedia, fmt.Errorf("the parameter sets changed more than %d times", maxRestarts)}
	}
	return nil
}

// maxRestarts bounds the broadcasts one stream's parameter changes start:
// a publisher alternating them at every keyframe would otherwise make a
// directory per keyframe.
const maxRestarts = 100

// dts finds a video frame's decode time: H.264 and H.265 reorder frames
// (B-frames); AV1 does not. An extractor that fails waits for the next
// keyframe.
func (w *writer) dts(au [][]byte, pts int64, random bool) (int64, bool) {
	switch w.video.(type) {
	case *codecs.H264:
		if w.dts264 == nil {
			if !random {
				return 0, false
			}
			w.dts264 = h264.NewDTSExtractor()
		}
		d, err := w.dts264.Extract(au, pts)
		if err != nil {
			w.dts264 = nil
			return 0, false
		}
		return d, true
	case *codecs.H265:
		if w.dts265 == nil {
			if !random {
				return 0, false
			}
			w.dts265 = h265.NewDTSExtractor()
		}
		d, err := w.dts265.Extract(au, pts)
		if err != nil {
			w.dts265 = nil
			return 0, false
		}
		return d, true
	}
	return pts, true
}

func (w *writer) audioFrame(f *frame) error {
	if !w.started {
		if w.video != nil {
			return nil // audio joins at the first video keyframe
		}
		if err := w.start(f, f.pts*90000/w.audioRate); err != nil {
			return err
		}
	}
	a := f.pts - w.zero*w.audioRate/90000
	if a < 0 {
		return nil
	}
	if p := w.pendA; p != nil {
		dur := a - p.dts
		if dur <= 0 {
			dur = max(w.lastADur, 1)
		}
		w.lastADur = dur
		w.appendAudio(p, dur)
		if w.video == nil && w.seg.adur >= w.segMinA {
			if err := w.cut(); err != nil {
				return err
			}
		}
	}
	w.pendA = &pending{dts: a, sync: true, payload: f.data, ntp: f.ntp}
	return w.checkSize()
}

func (w *writer) appendVideo(p *pending, dur int64) error {
	s := &w.seg
	if len(s.video) == 0 {
		s.videoBase, s.vntp = p.dts, p.ntp
	}
	s.video = append(s.video, &fmp4.Sample{Duration: uint32(dur), PTSOffset: p.ptsOff, IsNonSyncSample: !p.sync, Payload: p.payload})
	s.vdur += dur
	s.bytes += len(p.payload)
	return w.checkSize()
}

func (w *writer) appendAudio(p *pending, dur int64) {
	s := &w.seg
	if len(s.audio) == 0 {
		s.audioBase, s.antp = p.dts, p.ntp
	}
	s.audio = append(s.audio, &fmp4.Sample{Duration: uint32(dur), Payload: p.payload})
	s.adur += dur
	s.bytes += len(p.payload)
}

func (w *writer) checkSize() error {
	if w.seg.bytes > w.cfg.MaxSegmentBytes {
		return stopError{reasonTooLarge, fmt.Errorf("a segment passed %d bytes (no keyframe?)", w.cfg.MaxSegmentBytes)}
	}
	return nil
}

// start makes the broadcast's directory, init segment and index at its
// first frame, whose wall clock names it.
func (w *writer) start(f *frame, zero int64) error {
	at := f.ntp.UTC()
	base := filepath.Join(w.cfg.Dir, w.rec.id)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	ms := at.UnixMilli()
	for tries := 0; ; tries++ {
		name := strconv.FormatInt(ms, 10)
		err := os.Mkdir(filepath.Join(base, name), 0o755)
		if err == nil {
			w.name, w.dir = name, filepath.Join(base, name)
			break
		}
		switch {
		case tries >= 100:
			return err
		case errors.Is(err, os.ErrExist):
			ms++ // two broadcasts in one millisecond: a publisher that superseded itself
		case errors.Is(err, os.ErrNotExist):
			// The sweeper removed the fundraiser's emptied directory.
			if err := os.MkdirAll(base, 0o755); err != nil {
				return err
			}
		default:
			return err
		}
	}
	w.started, w.zero = true, zero
	w.rec.r.setWriting(w.rec.id, w.name, "")
	if err := w.writeInit(f); err != nil {
		return err
	}
	ix, err := w.cfg.Create(filepath.Join(w.dir, "index.txt"))
	if err != nil {
		return err
	}
	w.index = ix
	if _, err := io.WriteString(ix, startLine(at)); err != nil {
		return err
	}
	w.rec.r.log.Info("recording started", "fundraiser", w.rec.id, "broadcast", w.name, "tracks", w.rec.tracks.String())
	w.rec.r.changed(w.rec.id)
	return nil
}

// writeInit writes init.mp4; a video keyframe's in-band parameter sets win
// over the track's (they are what the frames were encoded with).
func (w *writer) writeInit(f *frame) error {
	var tracks []*fmp4.InitTrack
	if w.video != nil {
		c, err := mp4Video(w.defaults, f.au)
		if err != nil {
			return stopError{reasonMedia, err}
		}
		tracks = append(tracks, &fmp4.InitTrack{ID: w.videoID, TimeScale: 90000, Codec: c})
		w.params = c
	}
	if w.audio != nil {
		var c mp4codecs.Codec
		switch a := w.audio.(type) {
		case *codecs.MPEG4Audio:
			c = &mp4codecs.MPEG4Audio{Config: a.Config}
		case *codecs.Opus:
			c = &mp4codecs.Opus{ChannelCount: a.ChannelCount}
		default:
			return stopError{reasonMedia, fmt.Errorf("audio %s cannot be recorded", hls.CodecName(a))}
		}
		tracks = append(tracks, &fmp4.InitTrack{ID: w.audioID, TimeScale: uint32(w.audioRate), Codec: c})
	}
	w.buf.Reset()
	if err := (&fmp4.Init{Tracks: tracks}).Marshal(&w.buf); err != nil {
		return stopError{reasonMedia, err}
	}
	return w.writeFile("init.mp4", w.buf.Bytes())
}

func mp4Video(c codecs.Codec, au [][]byte) (mp4codecs.Codec, error) {
	switch v := c.(type) {
	case *codecs.H264:
		out := &mp4codecs.H264{SPS: v.SPS, PPS: v.PPS}
		for _, n := range au {
			if len(n) == 0 {
				continue
			}
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				out.SPS = n
			case h264.NALUTypePPS:
				out.PPS = n
			}
		}
		if len(out.SPS) == 0 || len(out.PPS) == 0 {
			return nil, errors.New("H.264 without SPS and PPS")
		}
		return out, nil
	case *codecs.H265:
		out := &mp4codecs.H265{VPS: v.VPS, SPS: v.SPS, PPS: v.PPS}
		for _, n := range au {
			if len(n) < 2 {
				continue
			}
			switch h265.NALUType((n[0] >> 1) & 0b111111) {
			case h265.NALUType_VPS_NUT:
				out.VPS = n
			case h265.NALUType_SPS_NUT:
				out.SPS = n
			case h265.NALUType_PPS_NUT:
				out.PPS = n
			}
		}
		if len(out.VPS) == 0 || len(out.SPS) == 0 || len(out.PPS) == 0 {
			return nil, errors.New("H.265 without VPS, SPS and PPS")
		}
		return out, nil
	case *codecs.AV1:
		out := &mp4codecs.AV1{SequenceHeader: v.SequenceHeader}
		for _, obu := range au {
			if len(obu) > 0 && av1.OBUType((obu[0]>>3)&0b1111) == av1.OBUTypeSequenceHeader {
				out.SequenceHeader = obu
			}
		}
		if len(out.SequenceHeader) == 0 {
			return nil, errors.New("AV1 without a sequence header")
		}
		return out, nil
	}
	return nil, fmt.Errorf("video %s cannot be recorded", hls.CodecName(c))
}

// noteEvery is how many segments pass between two OnChange calls while a
// broadcast is recorded (besides its start and end).
const noteEvery = 10

// cut writes the gathered segment and its index line.
func (w *writer) cut() error {
	s := &w.seg
	if len(s.video) == 0 && len(s.audio) == 0 {
		return nil
	}
	part := fmp4.Part{SequenceNumber: uint32(w.n + 1)}
	if len(s.video) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: w.videoID, BaseTime: uint64(s.videoBase), Samples: s.video})
	}
	if len(s.audio) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: w.audioID, BaseTime: uint64(s.audioBase), Samples: s.audio})
	}
	w.buf.Reset()
	if err := part.Marshal(&w.buf); err != nil {
		return stopError{reasonMedia, err}
	}
	b := w.buf.Bytes()
	if w.total+int64(len(b)) > w.cfg.MaxBroadcastBytes {
		return stopError{reasonTooLarge, fmt.Errorf("the broadcast passed %d bytes", w.cfg.MaxBroadcastBytes)}
	}
	n := w.n + 1
	if err := w.writeFile(strconv.Itoa(n)+".m4s", b); err != nil {
		return err
	}
	sg := segment{N: n, Bytes: int64(len(b))}
	if w.video != nil && len(s.video) > 0 {
		sg.Duration, sg.Start = ticksDuration(s.vdur, 90000), s.vntp
	} else {
		sg.Duration, sg.Start = ticksDuration(s.adur, w.audioRate), s.antp
	}
	if _, err := io.WriteString(w.index, segLine(sg)); err != nil {
		return err
	}
	w.n = n
	w.total += int64(len(b))
	if n%noteEvery == 0 {
		w.rec.r.changed(w.rec.id) // other nodes see the replay grow
	}
	w.rec.r.m.segments.Inc()
	w.rec.r.m.bytes.Add(float64(len(b)))
	*s = seg{}
	return nil
}

// close pushes the held frames out (each last frame lasts as long as the
// one before it), writes the last segment and the end line.
func (w *writer) close() error {
	if !w.started {
		return nil
	}
	if p := w.pendV; p != nil {
		w.pendV = nil
		if err := w.appendVideo(p, max(w.lastVDur, 3000)); err != nil {
			return err
		}
	}
	if p := w.pendA; p != nil {
		w.pendA = nil
		w.appendAudio(p, max(w.lastADur, 1024))
	}
	if err := w.cut(); err != nil {
		return err
	}
	_, err := io.WriteString(w.index, endLine(w.cfg.Now()))
	if cerr := w.index.Close(); err == nil {
		err = cerr
	}
	w.index = nil
	return err
}

// writeFile writes a file of the broadcast whole: to a temporary name the
// handler never serves, renamed once complete. A file under its own name
// is never one being written or cut short by a full disk.
func (w *writer) writeFile(name string, b []byte) error {
	ext := filepath.Ext(name)
	tmp := filepath.Join(w.dir, strings.TrimSuffix(name, ext)+".tmp"+ext)
	f, err := w.cfg.Create(tmp)
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", name, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(w.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("failed to write %s: %w", name, err)
	}
	return nil
}

func durationTicks(d time.Duration, rate int64) int64 {
	return int64(d) * rate / int64(time.Second)
}

func ticksDuration(ticks, rate int64) time.Duration {
	return time.Duration(ticks * int64(time.Second) / rate)
}
