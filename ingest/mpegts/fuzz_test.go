package mpegts

import (
	"errors"
	"testing"
)

// FuzzSegmenter feeds arbitrary frames (the AVCC bytes and timestamps a
// publisher controls) and checks that the output stays well-formed: whole
// TS packets, tables first in every segment, continuity counters in
// order, and DTS moving forward on each PID whatever the input did.
//
// Each input is a list of ops of 3 bytes plus a payload: flags (bit 0
// audio, bit 1 keyframe, bits 2-3 the NAL length size), a signed
// timestamp step in units of 16 ms, and the payload length.
//
// New inputs here are long and slow to minimize: run it with
// -fuzzminimizetime 1s, or most of the time goes to minimizing.
func FuzzSegmenter(f *testing.F) {
	idr := []byte{0, 0, 0, 3, 0x65, 0x88, 0x84}
	inter := []byte{0, 0, 0, 2, 0x41, 0x9a}
	var seed []byte
	for i := 0; i < 40; i++ {
		if i%10 == 0 {
			seed = append(append(seed, 0x02|2<<2, 2, byte(len(idr))), idr...)
		} else {
			seed = append(append(seed, 2<<2, 2, byte(len(inter))), inter...)
		}
		seed = append(seed, 0x01, 1, 3, 0x21, 0x10, 0x04)
	}
	f.Add(seed)
	f.Add([]byte{0x02 | 2<<2, 0, 5, 0, 0, 0, 9, 0x65}) // a length past the end
	f.Add([]byte{0x01, 0x80, 1, 0x21, 0x01, 0x7f, 1, 0x21})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &collector{}
		s, err := NewSegmenter(Config{TargetDuration: 100e6, MaxDuration: 300e6, MaxSegmentBytes: 4096},
			testVideoConfig(), testAudioConfig(), c.emit)
		if err != nil {
			t.Fatal(err)
		}
		var dts int64
		for len(b) >= 3 {
			flags, step, n := b[0], int8(b[1]), int(b[2])
			b = b[3:]
			payload := b[:min(n, len(b))]
			b = b[len(payload):]
			dts += int64(step) * 16
			if flags&1 != 0 {
				err = s.WriteAudio(dts, payload)
			} else {
				err = s.WriteVideo(dts, int32(step), flags&2 != 0, payload, []int{1, 2, 4, 3}[flags>>2&3])
			}
			if err != nil && !errors.Is(err, ErrInvalidFrame) {
				t.Fatalf("write: %v", err)
			}
		}
		s.Close()
		for i, seg := range c.segs {
			checkSegmentStart(t, seg)
			if seg.Duration < 0 {
				t.Fatalf("segment %d lasts %v", i, seg.Duration)
			}
		}
		checkMonotonic(t, c.all(), 1<<32)
		// The first frame kept is at one second; nothing is earlier.
		if pes := parsePES(t, c.all()); len(pes) > 0 && pes[0].dts != startTicks {
			t.Fatalf("first PES at %d, want %d", pes[0].dts, startTicks)
		}
	})
}
