package mpegts

import (
	"bytes"
	"testing"

	"github.com/givelive/givelive/ingest/flv"
)

// TestADTSHeader checks the ADTS header written before each AAC frame,
// field by field against a header laid out by hand, and against
// flv.AACConfig.AppendADTS (itself checked against ffmpeg's ADTS muxer)
// for every configuration ADTS can carry.
func TestADTSHeader(t *testing.T) {
	a, err := newAudioTrack(*testAudioConfig())
	if err != nil {
		t.Fatal(err)
	}
	a.add(0, make([]byte, 371))
	// syncword fff, MPEG-4, layer 0, no CRC | LC, 44.1 kHz, private 0,
	// channels 2 | frame_length 378 | buffer fullness 7ff, 1 raw block.
	if want := []byte{0xff, 0xf1, 0x50, 0x80, 0x2f, 0x5f, 0xfc}; !bytes.Equal(a.pending[:7], want) {
		t.Errorf("ADTS header % x, want % x", a.pending[:7], want)
	}

	for obj := 1; obj <= 4; obj++ {
		for idx := 0; idx <= 12; idx++ {
			for ch := 1; ch <= 7; ch++ {
				for _, n := range []int{1, 255, 2048, maxADTSFrame} {
					cfg := AudioConfig{ObjectType: obj, SampleRateIndex: idx, SampleRate: tableRate(idx), Channels: ch}
					a, err := newAudioTrack(cfg)
					if err != nil {
						t.Fatalf("%+v: %v", cfg, err)
					}
					a.add(0, make([]byte, n))
					want, err := flv.AACConfig{ObjectType: obj, SampleRateIndex: idx, SampleRate: tableRate(idx), Channels: ch}.AppendADTS(nil, n)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(a.pending[:7], want) {
						t.Fatalf("%+v, %d bytes: ADTS header % x, flv writes % x", cfg, n, a.pending[:7], want)
					}
				}
			}
		}
	}

	// An explicit rate that the table has is written as its index.
	a, err = newAudioTrack(AudioConfig{ObjectType: 2, SampleRateIndex: 15, SampleRate: 48000, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	if a.header[2] != 0x4c {
		t.Errorf("explicit 48 kHz: header byte 2 = %#x, want 0x4c (index 3)", a.header[2])
	}
}

// TestAudioGrouping checks how AAC frames share PES packets: at most
// maxAudioFrames, spanning at most 100 ms, so that PCRs on the audio PID
// of an audio-only stream are at most 100 ms apart.
func TestAudioGrouping(t *testing.T) {
	for _, tc := range []struct {
		rate, index int
		perPES      int
	}{
		{44100, 4, 4}, // 23.2 ms frames: 4 span 92.9 ms
		{48000, 3, 4}, // 21.3 ms: 4 span 85.3 ms, 5 would be 106.7 ms
		{96000, 0, 5}, // 10.7 ms: the frame cap first
		{22050, 7, 2}, // 46.4 ms
		{8000, 11, 1}, // 128 ms: each alone
	} {
		s, c, _ := newTestSegmenter(t, Config{}, nil, &AudioConfig{ObjectType: 2, SampleRateIndex: tc.index, SampleRate: tc.rate, Channels: 1})
		for i := 0; i < 40; i++ {
			if err := s.WriteAudio(int64(i)*1024*1000/int64(tc.rate), []byte{0x21, 0x10, 0x04}); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		pes := parsePES(t, c.all())
		if n := len(pes[0].data) / 10; n != tc.perPES {
			t.Errorf("%d Hz: %d frames in the first PES, want %d", tc.rate, n, tc.perPES)
		}
		if got, want := len(pes), (40+tc.perPES-1)/tc.perPES; got != want {
			t.Errorf("%d Hz: %d PES for 40 frames, want %d", tc.rate, got, want)
		}
		for i := 1; i < len(pes) && tc.perPES > 1; i++ {
			if gap := pes[i].pcr - pes[i-1].pcr; gap > maxAudioSpan {
				t.Errorf("%d Hz: PCRs %d ticks apart", tc.rate, gap)
			}
		}
	}
}
