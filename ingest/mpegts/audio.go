package mpegts

import "fmt"

// AudioConfig describes the AAC stream, as the publisher's
// AudioSpecificConfig does (the fields of flv.AACConfig).
type AudioConfig struct {
	// ObjectType is the audio object type: 1 to 4 (2 is AAC-LC). HE-AAC
	// is described by its core, LC, at the core's rate.
	ObjectType int
	// SampleRateIndex is the samplingFrequencyIndex, 0 to 12, or 15 for
	// an explicit SampleRate (which must then be one of the 13 tabled
	// rates, since ADTS has no room for another).
	SampleRateIndex int
	SampleRate      int // Hz
	// Channels is the channelConfiguration, 1 to 7 (7 is 7.1).
	Channels int
}

// tableRate returns the rate of samplingFrequencyIndex 0 to 12, or 0.
func tableRate(index int) int {
	rates := [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}
	if index < 0 || index >= len(rates) {
		return 0
	}
	return rates[index]
}

// adtsHeader returns the first four bytes of the ADTS header of every
// frame (all but the frame length, which goes in bytes 3 to 5), after
// checking that ADTS can describe c.
func (c AudioConfig) adtsHeader() ([4]byte, error) {
	idx := c.SampleRateIndex
	if idx == 15 {
		idx = -1
		for i := 0; i <= 12; i++ {
			if tableRate(i) == c.SampleRate {
				idx = i
			}
		}
	}
	switch {
	case c.ObjectType < 1 || c.ObjectType > 4:
		return [4]byte{}, fmt.Errorf("mpegts: ADTS cannot carry AAC object type %d", c.ObjectType)
	case idx < 0 || idx > 12:
		return [4]byte{}, fmt.Errorf("mpegts: ADTS cannot carry an AAC sampling rate of %d Hz (index %d)", c.SampleRate, c.SampleRateIndex)
	case c.Channels < 1 || c.Channels > 7:
		return [4]byte{}, fmt.Errorf("mpegts: ADTS cannot carry AAC channel configuration %d", c.Channels)
	}
	return [4]byte{
		0xff,
		0xf1, // syncword end, MPEG-4, layer 0, no CRC
		byte(c.ObjectType-1)<<6 | byte(idx)<<2 | byte(c.Channels>>2),
		byte(c.Channels&3) << 6,
	}, nil
}

// sampleRate is the rate the index stands for (or the explicit one).
func (c AudioConfig) sampleRate() int {
	if r := tableRate(c.SampleRateIndex); r > 0 {
		return r
	}
	return c.SampleRate
}

// Audio PES grouping: several ADTS frames share one PES packet, which
// saves a PES header and most of a TS packet of stuffing per frame. A
// group spans at most 100 ms, so that the PCR (on the audio PID when there
// is no video) comes at least that often, as ISO/IEC 13818-1 2.7.2 wants
// (unless one frame is longer, at 8 kHz), and audio is not held back from
// the segment being built for long: 4 frames at 44.1 and 48 kHz.
const (
	maxAudioFrames = 5
	maxAudioSpan   = 100 * ticksPerMS

	adtsHeaderSize = 7
	maxADTSFrame   = 1<<13 - 1 - adtsHeaderSize
)

// audioTrack holds AAC frames, with their ADTS headers, until they are
// written as one PES packet.
type audioTrack struct {
	header     [4]byte
	frameTicks int64 // the length of a frame (1024 samples) in ticks

	pending []byte // ADTS frames not yet written, reused
	frames  [maxAudioFrames]pendingFrame
	n       int // frames in pending
}

type pendingFrame struct {
	dts int64 // ticks
	end int   // offset in pending just after the frame
}

func newAudioTrack(c AudioConfig) (*audioTrack, error) {
	h, err := c.adtsHeader()
	if err != nil {
		return nil, err
	}
	return &audioTrack{header: h, frameTicks: 1024 * ticksPerSecond / int64(c.sampleRate())}, nil
}

// add appends one raw frame with its ADTS header; the caller has made room.
func (a *audioTrack) add(dts int64, frame []byte) {
	total := len(frame) + adtsHeaderSize
	a.pending = append(a.pending,
		a.header[0], a.header[1], a.header[2],
		a.header[3]|byte(total>>11),
		byte(total>>3),
		byte(total&7)<<5|0x1f, // buffer fullness 0x7ff: variable rate
		0xfc,                  // rest of buffer fullness, one raw data block
	)
	a.pending = append(a.pending, frame...)
	a.frames[a.n] = pendingFrame{dts: dts, end: len(a.pending)}
	a.n++
}

// full reports whether the group should be written now: one more frame
// would make it span more than maxAudioSpan.
func (a *audioTrack) full() bool {
	return a.n == maxAudioFrames || a.frames[a.n-1].dts+2*a.frameTicks-a.frames[0].dts > maxAudioSpan
}

// follows reports whether a frame at t can join the pending ones: it comes
// right after the last (within half a frame) and keeps the group within
// maxAudioSpan.
func (a *audioTrack) follows(t int64) bool {
	last := a.frames[a.n-1].dts
	return t-last <= a.frameTicks+a.frameTicks/2 && t+a.frameTicks-a.frames[0].dts <= maxAudioSpan
}

// before counts the pending frames with a DTS before t.
func (a *audioTrack) before(t int64) int {
	k := 0
	for k < a.n && a.frames[k].dts < t {
		k++
	}
	return k
}

// take returns the first k pending frames as one payload and their first
// DTS; the caller writes them before the next add or drop.
func (a *audioTrack) take(k int) (payload []byte, dts int64) {
	return a.pending[:a.frames[k-1].end], a.frames[0].dts
}

// drop forgets the first k pending frames.
func (a *audioTrack) drop(k int) {
	end := a.frames[k-1].end
	a.pending = a.pending[:copy(a.pending, a.pending[end:])]
	copy(a.frames[:], a.frames[k:a.n])
	a.n -= k
	for i := 0; i < a.n; i++ {
		a.frames[i].end -= end
	}
}
