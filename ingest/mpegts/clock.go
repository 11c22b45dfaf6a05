package mpegts

import "time"

// MPEG-TS time: PTS, DTS and the PCR base count a 90 kHz clock in 33 bits.
const (
	ticksPerSecond = 90000
	ticksPerMS     = ticksPerSecond / 1000
	wrapMask       = 1<<33 - 1

	// startTicks is where the output timeline starts: one second. The PCR
	// runs pcrLag behind the DTS, and audio may start a little before the
	// first keyframe; a positive start keeps both from going negative.
	startTicks = ticksPerSecond

	// pcrLag is how far the PCR runs behind the DTS of the access unit it
	// comes with, so that a decoder following the PCR has each unit before
	// its decoding time.
	pcrLag = 100 * ticksPerMS
)

// Limits of what counts as an ordinary step between two frames of a track.
const (
	// maxBackStep is the largest step backwards that is read as jitter:
	// the frame is clamped to just after the previous one. Larger steps
	// back are a new timeline (a publisher restarting its clock).
	maxBackStep = 100 // ms
	// maxGap is the largest step forwards taken as is. Longer ones (a
	// publisher's clock jumping, or a stall of many seconds) are
	// rebased too, so that no segment spans the hole.
	maxGap = 10_000 // ms
)

// trackClock maps one track's millisecond timestamps onto the segmenter's
// 90 kHz timeline. The mapping is absolute (rebased input plus an offset),
// not a sum of steps, so clamping one jittery frame does not shift the
// frames after it.
type trackClock struct {
	started bool
	offset  int64 // ticks added to the rebased input, changed only by rebasing
	lastIn  int64 // ms, the previous input timestamp
	lastOut int64 // ticks, the previous output timestamp
	step    int64 // ticks, the last ordinary step: an estimate of one frame
}

// next maps the input timestamp ms (rebased to raw ticks by the caller)
// to an output DTS that is always after the previous one:
//
//   - A step back of up to maxBackStep is jitter: the frame is clamped to
//     one tick after the previous one, and the offset stays, so later
//     frames fall back in place.
//   - A larger step back, or a step forward longer than maxGap, is a new
//     timeline: the offset changes so that this frame lands one frame
//     after the previous one and the track goes on seamlessly.
//   - The first frame of a track starts where other (the other track) is,
//     if it is more than maxGap away from it: publishers that run their
//     audio and video clocks from different origins stay in step.
//
// It reports whether it clamped or rebased, for the counters.
func (c *trackClock) next(ms, raw int64, other *trackClock, defaultStep int64) (t int64, clamped, rebased bool) {
	if !c.started {
		if other.started {
			if d := raw + c.offset - other.lastOut; d > maxGap*ticksPerMS || d < -maxGap*ticksPerMS {
				c.offset = other.lastOut - raw
				rebased = true
			}
		}
	} else {
		if d := ms - c.lastIn; d < -maxBackStep || d > maxGap {
			step := c.step
			if step == 0 {
				step = defaultStep
			}
			c.offset = c.lastOut + step - raw
			rebased = true
		}
	}
	t = raw + c.offset
	if c.started {
		switch {
		case t <= c.lastOut:
			t, clamped = c.lastOut+1, true
		case t-c.lastOut <= ticksPerSecond && !rebased:
			c.step = t - c.lastOut
		}
	}
	c.started, c.lastIn, c.lastOut = true, ms, t
	return t, clamped, rebased
}

// frameTicks estimates the duration of the track's last frame.
func (c *trackClock) frameTicks(defaultStep int64) int64 {
	if c.step > 0 {
		return c.step
	}
	return defaultStep
}

// ticksToDuration converts 90 kHz ticks to a time.Duration (one tick is
// 100000/9 ns); it overflows only after about 32 years.
func ticksToDuration(t int64) time.Duration {
	return time.Duration(t) * 100000 / 9
}
