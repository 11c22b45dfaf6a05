package mpegts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asticode/go-astits"
)

var (
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("mpegts: segmenter closed")
	// ErrNoTrack is returned by a write to a track the segmenter was not
	// created with.
	ErrNoTrack = errors.New("mpegts: no such track")
	// ErrInvalidFrame marks a frame that cannot be remuxed (a NAL unit
	// length past the end, an AAC frame too long for ADTS). The frame is
	// dropped; the stream goes on.
	ErrInvalidFrame = errors.New("mpegts: invalid frame")
)

// Config configures a Segmenter. The zero value is usable.
type Config struct {
	// TargetDuration is the media time after which a segment is cut at the
	// next keyframe (less half a frame, so that millisecond rounding cannot
	// postpone the cut by a whole keyframe interval); audio-only streams
	// are cut at the first frame after it. 0 means 2 s.
	TargetDuration time.Duration
	// MaxDuration and MaxSegmentBytes bound a segment when keyframes stop
	// coming (an encoder with a very long or infinite keyframe interval,
	// or video that stalls while audio goes on): once a segment reaches
	// either, it is cut at the next frame even without a keyframe, and
	// the next segment has Independent unset. Players already playing go
	// on smoothly (the decoder keeps its references); one that joins at
	// such a segment shows video from the next keyframe. This keeps
	// memory bounded and EXT-X-TARGETDURATION honest.
	//
	// MaxDuration 0 means 15 s, or twice TargetDuration if that is
	// longer; MaxSegmentBytes 0 means 16 MiB.
	MaxDuration     time.Duration
	MaxSegmentBytes int
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

// Segment is one finished MPEG-TS segment.
type Segment struct {
	// Data is the whole segment: a multiple of 188 bytes that starts with
	// PAT and PMT and, for video, with an IDR access unit (unless
	// Independent is false). The receiver owns it.
	Data []byte
	// Duration is the segment's media duration: from its first DTS to the
	// next segment's first DTS, or for the last segment (from Close) to
	// its last frame's DTS plus one frame.
	Duration time.Duration
	// Start is the wall-clock time of the first frame: the time the
	// stream's first frame kept (its first keyframe, or first audio frame
	// without video) arrived plus the media time since then, or,
	// after a timestamp jump was rebased (see Stats.Rebased), the time the
	// first frame after the jump arrived plus the media time since that.
	// Meant for EXT-X-PROGRAM-DATE-TIME: it stays on the wall clock across
	// publisher stalls, which the media timeline closes up.
	Start time.Time
	// Ready is when the segment was emitted, and FirstKeyframeArrival when
	// its first frame (a keyframe, for video) was written: their
	// difference is the segmenting delay a viewer waits at the least.
	Ready                time.Time
	FirstKeyframeArrival time.Time
	// Independent is set when a player can start decoding here: the
	// segment starts with an IDR, or the stream has no video. Only a cut
	// forced by MaxDuration or MaxSegmentBytes leaves it unset.
	Independent bool
}

// Stats counts what a Segmenter did to frames other than remuxing them.
type Stats struct {
	Segments int
	// DroppedBeforeKeyframe counts video frames before the first keyframe
	// and audio frames earlier than it: a stream starts with an IDR.
	DroppedBeforeKeyframe int
	// Clamped counts frames that went back in time a little (at most
	// 100 ms) and were moved to just after the frame before them.
	Clamped int
	// Rebased counts timestamp jumps (back more than 100 ms, or forward
	// more than 10 s) after which the track was moved to continue
	// seamlessly.
	Rebased int
	// ForcedCuts counts segments cut without a keyframe (see MaxDuration).
	ForcedCuts int
}

// PIDs of the elementary streams; the PMT is on astits' default, 0x1000.
const (
	videoPID = 0x100
	audioPID = 0x101
)

// maxCutSlack bounds how far before TargetDuration a keyframe may cut.
const maxCutSlack = 50 * ticksPerMS

// tablesNever is a table retransmission period (in PES packets) long
// enough never to be reached. Tables are written where players need them:
// at the start of each segment, by astits before every random access PES on
// the PCR PID, and by the segmenter when a segment starts otherwise.
const tablesNever = 1 << 30

// Segmenter turns timestamped H.264 access units and AAC frames into
// MPEG-TS segments for HLS.
//
// Timestamps are rebased: the first frame kept (the first keyframe, or
// without video the first audio frame) is at one second (90000 at 90 kHz),
// and nothing written is earlier, so the PCR, 100 ms behind the DTS,
// never goes negative. PTS, DTS and PCR wrap
// at 2^33 (after about 26.5 hours) as MPEG-TS requires; players unwrap
// them. Within a track, a step back of up to 100 ms is clamped to just
// after the frame before; a larger step back or a step forward of more than
// 10 s (a publisher restarting its clock, a long stall) is rebased: the
// track goes on one frame after its last frame, so the output timeline
// only moves forward, without holes, and no segment spans a jump. Segment
// start times follow the wall clock across such jumps (see Segment.Start).
//
// Before the first keyframe of a stream with video, video frames and the
// audio that precedes it are dropped. Continuity counters run on across
// segments, so the segments play back to back.
//
// A Segmenter is not safe for concurrent use; emit is called synchronously
// from WriteVideo, WriteAudio and Close.
type Segmenter struct {
	cfg  Config
	now  func() time.Time
	emit func(Segment)

	mux    *astits.Muxer
	out    segmentBuffer
	pcrPID uint16

	video *videoTrack // nil without video
	audio *audioTrack // nil without audio

	// The timeline. zero is the output time of the first frame kept,
	// startTicks except in tests that start near the 2^33 wrap. The wall
	// clock anchor maps output ticks to wall time for Segment.Start: the
	// first frame's arrival, moved to the arrival of the frame after
	// each rebase.
	started     bool
	origin      int64 // ms, the timestamp of the first frame kept
	zero        int64
	anchorWall  time.Time
	anchorTicks int64
	vclock      trackClock
	aclock      trackClock
	waitKey     bool  // video is configured and no keyframe written yet
	firstKey    int64 // ticks of the first keyframe
	lastPCR     int64

	seg    segmentState
	stats  Stats
	closed bool

	// Reused for every PES: astits takes pointers, and building these
	// afresh per frame would allocate.
	md     astits.MuxerData
	pes    astits.PESData
	pesHdr astits.PESHeader
	opt    astits.PESOptionalHeader
	af     astits.PacketAdaptationField
	pts    astits.ClockReference
	dts    astits.ClockReference
	pcr    astits.ClockReference
}

// segmentState is the segment being built.
type segmentState struct {
	open        bool
	empty       bool  // no PES written yet
	first       int64 // ticks: DTS of the first frame
	end         int64 // ticks: the latest DTS plus one frame
	start       time.Time
	arrival     time.Time
	independent bool
}

// segmentBuffer collects the muxer's output for the current segment.
type segmentBuffer struct{ b []byte }

func (w *segmentBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// NewSegmenter returns a Segmenter for a stream with the given tracks:
// either may be nil (audio-only, video-only), not both. It fails if the
// audio cannot be carried in ADTS (see AudioConfig). emit receives each
// segment.
func NewSegmenter(cfg Config, video *VideoConfig, audio *AudioConfig, emit func(Segment)) (*Segmenter, error) {
	return newSegmenter(cfg, video, audio, emit, startTicks)
}

// newSegmenter is NewSegmenter with the output time of the first
// timestamp as a parameter, so tests can cross the 2^33 wrap quickly.
func newSegmenter(cfg Config, video *VideoConfig, audio *AudioConfig, emit func(Segment), zero int64) (*Segmenter, error) {
	if video == nil && audio == nil {
		return nil, errors.New("mpegts: a segmenter needs a video or an audio track")
	}
	if cfg.TargetDuration <= 0 {
		cfg.TargetDuration = 2 * time.Second
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = max(15*time.Second, 2*cfg.TargetDuration)
	}
	if cfg.MaxDuration < cfg.TargetDuration {
		return nil, fmt.Errorf("mpegts: MaxDuration %v is shorter than TargetDuration %v", cfg.MaxDuration, cfg.TargetDuration)
	}
	if cfg.MaxSegmentBytes <= 0 {
		cfg.MaxSegmentBytes = 16 << 20
	}
	s := &Segmenter{cfg: cfg, now: cfg.Now, emit: emit, zero: zero}
	if s.now == nil {
		s.now = time.Now
	}
	s.mux = astits.NewMuxer(context.Background(), &s.out, astits.MuxerOptTablesRetransmitPeriod(tablesNever))
	if audio != nil {
		a, err := newAudioTrack(*audio)
		if err != nil {
			return nil, err
		}
		s.audio = a
		if err := s.mux.AddElementaryStream(astits.PMTElementaryStream{ElementaryPID: audioPID, StreamType: astits.StreamTypeADTS}); err != nil {
			return nil, fmt.Errorf("mpegts: failed to add the audio stream: %w", err)
		}
		s.pcrPID = audioPID
	}
	if video != nil {
		s.video = &videoTrack{defStep: ticksPerSecond / 30}
		s.video.setConfig(*video)
		s.waitKey = true
		if err := s.mux.AddElementaryStream(astits.PMTElementaryStream{ElementaryPID: videoPID, StreamType: astits.StreamTypeH264Video}); err != nil {
			return nil, fmt.Errorf("mpegts: failed to add the video stream: %w", err)
		}
		s.pcrPID = videoPID
	}
	s.mux.SetPCRPID(s.pcrPID)
	s.md.PES = &s.pes
	s.pes.Header = &s.pesHdr
	s.pesHdr.OptionalHeader = &s.opt
	return s, nil
}

// SetVideoConfig replaces the parameter sets put before IDRs, after a new
// sequence header (an SPS/PPS change mid-stream). The first IDR after it
// carries them. It does nothing on a segmenter without video.
func (s *Segmenter) SetVideoConfig(c VideoConfig) {
	if s.video != nil {
		s.video.setConfig(c)
	}
}

// SetAudioConfig changes the ADTS headers of the frames that follow, after
// a new AAC sequence header. It fails, changing nothing, if ADTS cannot
// carry c or the segmenter has no audio.
func (s *Segmenter) SetAudioConfig(c AudioConfig) error {
	if s.audio == nil {
		return ErrNoTrack
	}
	a, err := newAudioTrack(c)
	if err != nil {
		return err
	}
	s.audio.header, s.audio.frameTicks = a.header, a.frameTicks
	return nil
}

// Stats returns the counters so far.
func (s *Segmenter) Stats() Stats { return s.stats }

// WriteVideo adds one H.264 access unit. dts is the publisher's timestamp
// in milliseconds, unwrapped to 64 bits by the caller; cts the composition
// offset in milliseconds (PTS = DTS + CTS; a negative CTS, which would
// present a frame before it is decoded, counts as 0). keyframe is the FLV
// frame type; an access unit with an IDR slice counts as a keyframe
// whatever it says. avcc holds the NAL units, each preceded by its length in
// lengthSize bytes; it is only read, and not kept after the call. A frame
// that cannot be read returns an error wrapping ErrInvalidFrame and is
// dropped.
func (s *Segmenter) WriteVideo(dts int64, cts int32, keyframe bool, avcc []byte, lengthSize int) error {
	if s.closed {
		return ErrClosed
	}
	if s.video == nil {
		return ErrNoTrack
	}
	au, idr, err := s.video.buildAU(avcc, lengthSize, keyframe)
	if err != nil {
		return err
	}
	keyframe = keyframe || idr
	if s.waitKey && !keyframe {
		s.stats.DroppedBeforeKeyframe++
		return nil
	}
	now := s.now()
	s.begin(dts, now)
	t := s.clock(&s.vclock, &s.aclock, dts, now, s.video.defStep)
	if s.waitKey {
		s.waitKey, s.firstKey = false, t
	}
	if s.seg.open {
		// Half a frame of slack (at most 50 ms): millisecond timestamps, or
		// a rebase, can put a keyframe a hair before the target, and
		// missing it would double the segment. A frame before the first
		// (a segment opened on an audio frame) never cuts.
		elapsed := t - s.seg.first
		slack := min(s.vclock.frameTicks(s.video.defStep)/2, maxCutSlack)
		if keyframe && elapsed > 0 && elapsed >= s.ticks(s.cfg.TargetDuration)-slack {
			s.cut(t, now)
		} else if s.overCap(elapsed) {
			s.stats.ForcedCuts++
			s.cut(t, now)
		}
	}
	if !s.seg.open {
		s.open(t, now, keyframe)
	}
	pts := t + int64(max(cts, 0))*ticksPerMS
	if err := s.writePES(videoPID, au, pts, t, keyframe); err != nil {
		return err
	}
	s.seg.end = max(s.seg.end, t+s.vclock.frameTicks(s.video.defStep))
	return nil
}

// WriteAudio adds one raw AAC frame (no ADTS header). dts is the
// publisher's timestamp in milliseconds, unwrapped to 64 bits. The frame
// is copied. A frame too long for ADTS returns an error wrapping
// ErrInvalidFrame and is dropped.
func (s *Segmenter) WriteAudio(dts int64, frame []byte) error {
	if s.closed {
		return ErrClosed
	}
	if s.audio == nil {
		return ErrNoTrack
	}
	if len(frame) == 0 || len(frame) > maxADTSFrame {
		return fmt.Errorf("%w: AAC frame of %d bytes", ErrInvalidFrame, len(frame))
	}
	if s.waitKey {
		s.stats.DroppedBeforeKeyframe++
		return nil
	}
	now := s.now()
	s.begin(dts, now)
	t := s.clock(&s.aclock, &s.vclock, dts, now, s.audio.frameTicks)
	if s.video != nil && t < s.firstKey {
		s.stats.DroppedBeforeKeyframe++
		return nil
	}
	if s.seg.open {
		elapsed := t - s.seg.first
		if s.video == nil && elapsed >= s.ticks(s.cfg.TargetDuration) {
			s.cut(t, now)
		} else if s.overCap(elapsed) {
			s.stats.ForcedCuts++
			s.cut(t, now)
		}
	}
	if !s.seg.open {
		s.open(t, now, s.video == nil)
	}
	a := s.audio
	if a.n > 0 && !a.follows(t) {
		// A decoder times the frames of a PES one after the other from
		// its PTS: a frame after a gap starts a PES of its own.
		if err := s.flushAudio(a.n); err != nil {
			return err
		}
	}
	a.add(t, frame)
	s.seg.end = max(s.seg.end, t+a.frameTicks)
	if a.full() {
		return s.flushAudio(a.n)
	}
	return nil
}

// Close writes what is pending and emits the last segment, if it has any
// frames. Writes after Close fail with ErrClosed; Close again does nothing.
func (s *Segmenter) Close() {
	if s.closed {
		return
	}
	s.closed = true
	if !s.seg.open {
		return
	}
	if s.audio != nil && s.audio.n > 0 {
		// Writing to memory cannot fail, and Close has no one to tell.
		_ = s.flushAudio(s.audio.n)
	}
	if !s.seg.empty {
		s.finish(s.seg.end, s.now())
	}
}

// begin starts the timeline at the first frame kept. Starting it at an
// earlier, dropped frame would let a keyframe that comes with an earlier
// timestamp (audio leads, or the publisher's clock jumped) land before
// zero.
func (s *Segmenter) begin(dts int64, now time.Time) {
	if !s.started {
		s.started, s.origin = true, dts
		s.anchorWall, s.anchorTicks = now, s.zero
	}
}

// clock maps a track's timestamp to output ticks and counts what it did.
func (s *Segmenter) clock(c, other *trackClock, dts int64, now time.Time, defStep int64) int64 {
	t, clamped, rebased := c.next(dts, (dts-s.origin)*ticksPerMS+s.zero, other, defStep)
	if clamped {
		s.stats.Clamped++
	}
	if rebased {
		s.stats.Rebased++
		s.anchorWall, s.anchorTicks = now, t
	}
	return t
}

// ticks converts a duration to 90 kHz ticks (9 ticks per 100 µs).
func (s *Segmenter) ticks(d time.Duration) int64 {
	return int64(d) * 9 / 100_000
}

// overCap reports whether the segment has reached a hard limit and may be
// cut before a frame elapsed ticks after its first. Audio and video
// interleave with some skew, so that frame may be earlier than the first
// (a segment opened on the other track): cutting there would give the
// segment a negative duration, so the cut waits for a later frame.
func (s *Segmenter) overCap(elapsed int64) bool {
	return elapsed > 0 && (len(s.out.b) >= s.cfg.MaxSegmentBytes || elapsed >= s.ticks(s.cfg.MaxDuration))
}

func (s *Segmenter) open(t int64, now time.Time, independent bool) {
	s.seg = segmentState{open: true, empty: true, first: t, end: t, arrival: now, independent: independent,
		start: s.anchorWall.Add(ticksToDuration(t - s.anchorTicks))}
}

// cut ends the current segment where the frame at t begins. Audio
// waiting for its PES goes with the segment its timestamps belong to:
// frames before t into this one, the others into the next.
func (s *Segmenter) cut(t int64, now time.Time) {
	if a := s.audio; a != nil {
		if k := a.before(t); k > 0 {
			// Writing to memory cannot fail; an error here would be a
			// bug in the muxer's use and is left to the next PES to show.
			_ = s.flushAudio(k)
		}
	}
	if s.seg.empty {
		// Nothing written yet (the frames so far are still pending):
		// keep the segment open rather than emit an empty one.
		return
	}
	s.finish(t, now)
}

// finish emits the current segment, ending at end ticks.
func (s *Segmenter) finish(end int64, now time.Time) {
	data := s.out.b
	// The next segment is likely the size of this one: reserve that much
	// once instead of growing through several copies.
	s.out.b = make([]byte, 0, min(len(data)+len(data)/8, s.cfg.MaxSegmentBytes+64<<10))
	seg := Segment{
		Data:                 data,
		Duration:             ticksToDuration(end - s.seg.first),
		Start:                s.seg.start,
		Ready:                now,
		FirstKeyframeArrival: s.seg.arrival,
		Independent:          s.seg.independent,
	}
	s.seg = segmentState{}
	s.stats.Segments++
	s.emit(seg)
}

// flushAudio writes the first k pending audio frames as one PES packet.
func (s *Segmenter) flushAudio(k int) error {
	a := s.audio
	payload, dts := a.take(k)
	// Without video, the audio PID carries the PCR, and the first PES of
	// a segment is its random access point (every AAC frame is one).
	err := s.writePES(audioPID, payload, dts, dts, s.video == nil && s.seg.empty)
	a.drop(k)
	return err
}

// writePES writes one PES packet into the current segment. rai marks a
// random access point; on the PCR PID it makes astits write PAT and PMT
// first. A segment that starts otherwise gets its tables here.
func (s *Segmenter) writePES(pid uint16, data []byte, pts, dts int64, rai bool) error {
	if s.seg.empty {
		s.seg.empty = false
		if !rai || pid != s.pcrPID {
			if _, err := s.mux.WriteTables(); err != nil {
				return fmt.Errorf("mpegts: failed to write PAT/PMT: %w", err)
			}
		}
	}
	s.af = astits.PacketAdaptationField{RandomAccessIndicator: rai}
	s.md.AdaptationField = nil // none unless there is something to say
	if rai {
		s.md.AdaptationField = &s.af
	}
	if pid == s.pcrPID {
		// The PCR must never go back, and no access unit written after it
		// may be due before it: audio still pending counts too.
		pcr := dts
		if a := s.audio; a != nil && a.n > 0 && pid == videoPID {
			pcr = min(pcr, a.frames[0].dts)
		}
		s.lastPCR = max(s.lastPCR, pcr-pcrLag)
		s.pcr = astits.ClockReference{Base: s.lastPCR & wrapMask}
		s.af.HasPCR, s.af.PCR = true, &s.pcr
		s.md.AdaptationField = &s.af
	}
	s.opt = astits.PESOptionalHeader{
		MarkerBits:             2,
		DataAlignmentIndicator: true,
		PTSDTSIndicator:        astits.PTSDTSIndicatorOnlyPTS,
		PTS:                    &s.pts,
	}
	s.pts = astits.ClockReference{Base: pts & wrapMask}
	if pts != dts {
		s.dts = astits.ClockReference{Base: dts & wrapMask}
		s.opt.PTSDTSIndicator, s.opt.DTS = astits.PTSDTSIndicatorBothPresent, &s.dts
	}
	s.pesHdr = astits.PESHeader{OptionalHeader: &s.opt, StreamID: 0xe0}
	if pid == audioPID {
		s.pesHdr.StreamID = 0xc0
	}
	s.pes.Data = data
	s.md.PID = pid
	if _, err := s.mux.WriteData(&s.md); err != nil {
		return fmt.Errorf("mpegts: failed to write PES: %w", err)
	}
	return nil
}
