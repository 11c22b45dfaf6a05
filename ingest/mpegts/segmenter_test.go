package mpegts

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func newTestSegmenter(t *testing.T, cfg Config, video *VideoConfig, audio *AudioConfig) (*Segmenter, *collector, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	c := &collector{}
	s, err := NewSegmenter(cfg, video, audio, c.emit)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, clock
}

// TestCutPoints checks where segments are cut: at the first keyframe at
// or after TargetDuration of media, so durations are multiples of the
// keyframe interval, and each segment starts with tables and an IDR.
func TestCutPoints(t *testing.T) {
	for _, tc := range []struct {
		name      string
		target    time.Duration
		fps, gop  int
		length    time.Duration
		durations []time.Duration // of the segments emitted, Close's last included
	}{
		{"keyframe every second", 2 * time.Second, 30, 30, 7 * time.Second,
			[]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, time.Second}},
		{"keyframe every 1.5 s", 2 * time.Second, 30, 45, 9 * time.Second,
			[]time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second}},
		{"keyframe every 3 s", 2 * time.Second, 25, 75, 9 * time.Second,
			[]time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second}},
		{"default target", 0, 30, 60, 6 * time.Second,
			[]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"target 6 s", 6 * time.Second, 30, 60, 13 * time.Second,
			[]time.Duration{6 * time.Second, 6 * time.Second, time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c, clock := newTestSegmenter(t, Config{TargetDuration: tc.target}, testVideoConfig(), testAudioConfig())
			g := &synthStream{fps: tc.fps, gop: tc.gop, audioRate: 44100}
			g.feed(t, s, clock, tc.length)
			s.Close()
			var got []time.Duration
			for _, seg := range c.segs {
				// Round away the last frame's estimated length.
				got = append(got, seg.Duration.Round(100*time.Millisecond))
			}
			if !slices.Equal(got, tc.durations) {
				t.Fatalf("durations %v, want %v", got, tc.durations)
			}
			for i, seg := range c.segs {
				first := checkSegmentStart(t, seg)
				if first.pid != videoPID || !first.rai || first.pcr < 0 || !seg.Independent {
					t.Errorf("segment %d starts with PID %#x rai %v pcr %d independent %v", i, first.pid, first.rai, first.pcr, seg.Independent)
				}
				if types := nalTypes(first.data); !slices.Equal(types, []int{naluAUD, naluSPS, naluPPS, naluIDR}) {
					t.Errorf("segment %d starts with NAL units %v", i, types)
				}
			}
			parsePES(t, c.all()) // continuity counters across segments
		})
	}
}

// TestTimeline checks the rebased timestamps: the first frame at one
// second, PTS = DTS + CTS, PCR 100 ms behind and never back, and segment
// start times on the wall clock.
func TestTimeline(t *testing.T) {
	s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
	startWall := clock.Now()
	g := &synthStream{fps: 30, gop: 60, audioRate: 44100, start: 123_456, bframes: true}
	g.feed(t, s, clock, 6*time.Second)
	s.Close()
	if len(c.segs) != 3 {
		t.Fatalf("%d segments, want 3", len(c.segs))
	}
	for i, seg := range c.segs {
		want := startWall.Add(time.Duration(i) * 2 * time.Second)
		if !seg.Start.Equal(want) {
			t.Errorf("segment %d starts at %v, want %v", i, seg.Start, want)
		}
	}
	pes := parsePES(t, c.all())
	if pes[0].pid != videoPID || pes[0].dts != startTicks || pes[0].pts != startTicks {
		t.Fatalf("first PES on %#x at DTS %d PTS %d, want video at %d", pes[0].pid, pes[0].dts, pes[0].pts, startTicks)
	}
	lastPCR, lastDTS := int64(-1), map[uint16]int64{}
	for i, p := range pes {
		if p.pcr >= 0 {
			if p.pcr < lastPCR || p.pcr > p.dts-pcrLag {
				t.Fatalf("PES %d: PCR %d after %d, DTS %d", i, p.pcr, lastPCR, p.dts)
			}
			lastPCR = p.pcr
		}
		if p.dts <= lastDTS[p.pid] {
			t.Fatalf("PES %d on %#x: DTS %d after %d", i, p.pid, p.dts, lastDTS[p.pid])
		}
		lastDTS[p.pid] = p.dts
		if p.pid == videoPID {
			ms := (p.dts - startTicks) / ticksPerMS
			frame := int((ms*30 + 999) / 1000) // the synth's DTS are whole ms, rounded down
			if want := p.dts + int64(1000/30*(frame%3)*ticksPerMS); frame%60 != 0 && p.pts != want {
				t.Fatalf("video frame %d: PTS %d, want DTS %d + CTS = %d", frame, p.pts, p.dts, want)
			}
		}
	}
}

// TestAccessUnits checks the Annex B conversion: an AUD first, the
// configured parameter sets before every IDR that lacks its own, the
// publisher's AUDs dropped.
func TestAccessUnits(t *testing.T) {
	sei := []byte{0x06, 0x05, 0x01, 0x80}
	idr := []byte{0x65, 0x88, 0x84}
	slice := []byte{0x41, 0x9a, 0x21}
	aud := []byte{0x09, 0x10}
	for _, tc := range []struct {
		name     string
		units    [][]byte
		keyframe bool
		want     []int
		idr      bool
	}{
		{"IDR", [][]byte{idr}, true, []int{9, 7, 8, 5}, true},
		{"IDR after SEI", [][]byte{sei, idr}, true, []int{9, 7, 8, 6, 5}, true},
		{"inter frame", [][]byte{slice}, false, []int{9, 1}, false},
		{"publisher AUD dropped", [][]byte{aud, slice}, false, []int{9, 1}, false},
		{"publisher AUD before IDR", [][]byte{aud, sei, idr}, true, []int{9, 7, 8, 6, 5}, true},
		{"in-band parameter sets kept alone", [][]byte{testSPS, testPPS, idr}, true, []int{9, 7, 8, 5}, true},
		{"in-band PPS only", [][]byte{testPPS, idr}, true, []int{9, 8, 5}, true},
		{"IDR not flagged as keyframe", [][]byte{idr}, false, []int{9, 7, 8, 5}, true},
		{"keyframe flag on an I slice", [][]byte{sei, slice}, true, []int{9, 7, 8, 6, 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &videoTrack{}
			v.setConfig(*testVideoConfig())
			var avcc []byte
			for _, u := range tc.units {
				avcc = append(avcc, 0, 0, byte(len(u)>>8), byte(len(u)))
				avcc = append(avcc, u...)
			}
			in := slices.Clone(avcc)
			au, idr, err := v.buildAU(avcc, 4, tc.keyframe)
			if err != nil {
				t.Fatal(err)
			}
			if got := nalTypes(au); !slices.Equal(got, tc.want) || idr != tc.idr {
				t.Errorf("NAL units %v idr %v, want %v idr %v", got, idr, tc.want, tc.idr)
			}
			if string(au[:6]) != "\x00\x00\x00\x01\x09\xf0" {
				t.Errorf("access unit starts with % x, want the AUD", au[:6])
			}
			if !slices.Equal(avcc, in) {
				t.Errorf("input modified")
			}
		})
	}
}

func TestAccessUnitErrors(t *testing.T) {
	v := &videoTrack{}
	for _, tc := range []struct {
		name       string
		avcc       []byte
		lengthSize int
	}{
		{"length past the end", []byte{0, 0, 0, 9, 0x65, 1}, 4},
		{"partial length", []byte{0, 0, 0, 1, 0x41, 0, 0}, 4},
		{"no units", nil, 4},
		{"only empty units", []byte{0, 0, 0, 0}, 4},
		{"length size 3", []byte{0, 0, 1, 0x41}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := v.buildAU(tc.avcc, tc.lengthSize, false); !errors.Is(err, ErrInvalidFrame) {
				t.Errorf("buildAU error = %v, want ErrInvalidFrame", err)
			}
		})
	}
	s, c, _ := newTestSegmenter(t, Config{}, testVideoConfig(), nil)
	if err := s.WriteVideo(0, 0, true, []byte{0, 0, 0, 9, 0x65}, 4); !errors.Is(err, ErrInvalidFrame) {
		t.Errorf("WriteVideo error = %v, want ErrInvalidFrame", err)
	}
	if err := s.WriteVideo(0, 0, true, []byte{0, 0, 0, 2, 0x65, 0x88}, 4); err != nil {
		t.Errorf("WriteVideo after a bad frame: %v", err)
	}
	s.Close()
	if len(c.segs) != 1 {
		t.Errorf("%d segments, want 1", len(c.segs))
	}
}

// TestSetVideoConfig checks that new parameter sets go before the IDRs
// that follow.
func TestSetVideoConfig(t *testing.T) {
	s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), nil)
	g := &synthStream{fps: 30, gop: 30}
	g.feed(t, s, clock, 2*time.Second)
	newSPS := []byte{0x67, 0x42, 0xc0, 0x1f, 0x01}
	s.SetVideoConfig(VideoConfig{SPS: [][]byte{newSPS}, PPS: [][]byte{testPPS}})
	newSPS[4] = 0xff // the segmenter must have copied it
	g.feed(t, s, clock, 4*time.Second)
	s.Close()
	if len(c.segs) != 2 {
		t.Fatalf("%d segments, want 2", len(c.segs))
	}
	first := checkSegmentStart(t, c.segs[1])
	if want := "\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x67\x42\xc0\x1f\x01\x00\x00\x00\x01\x68"; string(first.data[:len(want)]) != want {
		t.Errorf("IDR after SetVideoConfig starts % x", first.data[:len(want)])
	}
}

// TestDropBeforeKeyframe checks that a stream with video starts with an
// IDR: earlier video frames and earlier audio are dropped.
func TestDropBeforeKeyframe(t *testing.T) {
	s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
	// Start in the middle of a GOP: frames 45..59 are inter frames.
	g := &synthStream{fps: 30, gop: 60, audioRate: 44100, vi: 45, ai: 65}
	wallStart := clock.Now() // when the frame at 1.5 s arrives
	g.feed(t, s, clock, 4*time.Second)
	s.Close()
	st := s.Stats()
	if st.DroppedBeforeKeyframe < 15+21 {
		t.Errorf("dropped %d frames before the keyframe, want at least 36", st.DroppedBeforeKeyframe)
	}
	pes := parsePES(t, c.all())
	if pes[0].pid != videoPID || pes[0].dts != startTicks {
		t.Fatalf("first PES on %#x at %d, want the keyframe at %d", pes[0].pid, pes[0].dts, startTicks)
	}
	if want := wallStart.Add(500 * time.Millisecond); !c.segs[0].Start.Equal(want) {
		t.Errorf("first segment starts at %v, want %v, when the keyframe arrived", c.segs[0].Start, want)
	}
	for _, p := range pes {
		if p.pid == audioPID && p.pts < pes[0].dts {
			t.Fatalf("audio at %d before the first keyframe at %d", p.pts, pes[0].dts)
		}
	}
}

// TestAudioGoesWithItsSegment checks that audio still waiting for its PES
// at a cut is split by timestamp: earlier frames end the old segment,
// later ones follow the IDR in the new one.
func TestAudioGoesWithItsSegment(t *testing.T) {
	s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
	g := &synthStream{fps: 30, gop: 60, audioRate: 44100}
	g.feed(t, s, clock, 6*time.Second)
	s.Close()
	for i, seg := range c.segs {
		pes := parsePES(t, seg.Data)
		start := pes[0].dts
		end := start + int64(seg.Duration/time.Millisecond)*ticksPerMS
		for _, p := range pes {
			if p.pid != audioPID {
				continue
			}
			if p.pts < start-ticksPerSecond/10 || p.pts >= end {
				t.Errorf("segment %d [%d, %d) has audio at %d", i, start, end, p.pts)
			}
			// Count the ADTS frames: at most maxAudioFrames per PES.
			n := 0
			for b := p.data; len(b) >= 7; n++ {
				if b[0] != 0xff || b[1] != 0xf1 {
					t.Fatalf("segment %d: PES at %d is not ADTS: % x", i, p.pts, b[:7])
				}
				b = b[int(b[3]&3)<<11|int(b[4])<<3|int(b[5]>>5):]
			}
			if n == 0 || n > maxAudioFrames {
				t.Errorf("PES with %d ADTS frames", n)
			}
		}
	}
}

// TestAudioOnly checks that an audio-only stream is cut on time, carries
// the PCR on the audio PID and marks each segment's first PES as a random
// access point.
func TestAudioOnly(t *testing.T) {
	s, c, clock := newTestSegmenter(t, Config{}, nil, testAudioConfig())
	g := &synthStream{noVideo: true, audioRate: 44100}
	g.feed(t, s, clock, 7*time.Second)
	s.Close()
	if len(c.segs) != 4 {
		t.Fatalf("%d segments (%s), want 4", len(c.segs), c.durations())
	}
	for i, seg := range c.segs[:3] {
		if d := seg.Duration; d < 2*time.Second || d > 2*time.Second+24*time.Millisecond {
			t.Errorf("segment %d lasts %v, want 2 s and at most one frame more", i, d)
		}
		first := checkSegmentStart(t, seg)
		if first.pid != audioPID || !first.rai || first.pcr < 0 || !seg.Independent {
			t.Errorf("segment %d starts with PID %#x rai %v pcr %d independent %v", i, first.pid, first.rai, first.pcr, seg.Independent)
		}
	}
	for _, p := range parsePES(t, c.all()) {
		if p.pcr < 0 {
			t.Fatalf("audio PES at %d without PCR", p.pts)
		}
	}
}

func TestVideoOnly(t *testing.T) {
	s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), nil)
	g := &synthStream{fps: 30, gop: 60}
	g.feed(t, s, clock, 6*time.Second)
	s.Close()
	if len(c.segs) != 3 {
		t.Fatalf("%d segments, want 3", len(c.segs))
	}
	for _, seg := range c.segs {
		if first := checkSegmentStart(t, seg); first.pid != videoPID || !first.rai {
			t.Errorf("segment starts with PID %#x rai %v", first.pid, first.rai)
		}
	}
}

// TestForcedCut checks the hard limits: without keyframes, segments are
// cut at MaxDuration or MaxSegmentBytes anyway, marked not independent,
// and still start with tables.
func TestForcedCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"duration", Config{MaxDuration: 3 * time.Second}},
		{"bytes", Config{MaxSegmentBytes: 100_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c, clock := newTestSegmenter(t, tc.cfg, testVideoConfig(), testAudioConfig())
			g := &synthStream{fps: 30, gop: 1 << 30, audioRate: 44100, interSize: 1000}
			g.feed(t, s, clock, 10*time.Second)
			s.Close()
			if len(c.segs) < 3 {
				t.Fatalf("%d segments, want at least 3", len(c.segs))
			}
			if st := s.Stats(); st.ForcedCuts != len(c.segs)-1 {
				t.Errorf("%d forced cuts for %d segments", st.ForcedCuts, len(c.segs))
			}
			for i, seg := range c.segs {
				checkSegmentStart(t, seg)
				if seg.Independent != (i == 0) {
					t.Errorf("segment %d: Independent %v", i, seg.Independent)
				}
				if tc.cfg.MaxDuration > 0 && seg.Duration > tc.cfg.MaxDuration+40*time.Millisecond {
					t.Errorf("segment %d lasts %v", i, seg.Duration)
				}
				// Over by at most the frame that crossed the limit and the
				// audio group flushed at the cut.
				if tc.cfg.MaxSegmentBytes > 0 && len(seg.Data) > tc.cfg.MaxSegmentBytes+4096 {
					t.Errorf("segment %d has %d bytes", i, len(seg.Data))
				}
			}
			parsePES(t, c.all())
		})
	}
}

// TestWrap33 runs a stream whose timestamps cross 2^33 ticks (26.5 hours
// in) and checks that PTS, DTS and PCR wrap and carry on.
func TestWrap33(t *testing.T) {
	clock := newFakeClock()
	c := &collector{}
	zero := int64(1<<33) - 3*ticksPerSecond
	s, err := newSegmenter(Config{Now: clock.Now}, testVideoConfig(), testAudioConfig(), c.emit, zero)
	if err != nil {
		t.Fatal(err)
	}
	g := &synthStream{fps: 30, gop: 60, audioRate: 44100, bframes: true}
	g.feed(t, s, clock, 6*time.Second)
	s.Close()
	if len(c.segs) != 3 {
		t.Fatalf("%d segments, want 3", len(c.segs))
	}
	for i, seg := range c.segs {
		if d := seg.Duration.Round(100 * time.Millisecond); d != 2*time.Second {
			t.Errorf("segment %d lasts %v", i, seg.Duration)
		}
		if want := c.segs[0].Start.Add(time.Duration(i) * 2 * time.Second); !seg.Start.Equal(want) {
			t.Errorf("segment %d starts at %v, want %v", i, seg.Start, want)
		}
	}
	wrapped := false
	last := map[uint16]int64{}
	for _, p := range parsePES(t, c.all()) {
		if p.pts > wrapMask || p.dts > wrapMask || p.pcr > wrapMask {
			t.Fatalf("timestamp over 33 bits")
		}
		if l, ok := last[p.pid]; ok {
			step := (p.dts - l) & wrapMask // forward distance, modulo 2^33
			if step == 0 || step > ticksPerSecond/10 {
				t.Fatalf("PID %#x: DTS %d after %d", p.pid, p.dts, l)
			}
			if p.dts < l {
				wrapped = true
			}
		}
		last[p.pid] = p.dts
	}
	if !wrapped {
		t.Errorf("timestamps never wrapped")
	}
}

// TestTimestampJumps checks what happens to timestamps that jump: small
// steps back are clamped, a publisher restarting its clock is rebased so
// the output goes on seamlessly, and a real gap (the wall clock moved
// too) is kept.
func TestTimestampJumps(t *testing.T) {
	t.Run("clock restart", func(t *testing.T) {
		s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
		g := &synthStream{fps: 30, gop: 60, audioRate: 44100, start: 50_000}
		g.feed(t, s, clock, 3*time.Second)
		// The publisher restarts: timestamps go back to 0.
		g.start, g.vi, g.ai, g.fed = 0, 0, 0, false
		g.feed(t, s, clock, 3*time.Second)
		s.Close()
		if st := s.Stats(); st.Rebased != 2 {
			t.Errorf("Rebased = %d, want 2 (both tracks)", st.Rebased)
		}
		checkMonotonic(t, c.all(), 100*ticksPerMS)
		var total time.Duration
		for _, seg := range c.segs {
			total += seg.Duration
		}
		if total < 5900*time.Millisecond || total > 6100*time.Millisecond {
			t.Errorf("segments last %v in all (%s), want 6 s", total, c.durations())
		}
	})
	t.Run("jump forward without wall clock", func(t *testing.T) {
		s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
		g := &synthStream{fps: 30, gop: 60, audioRate: 44100}
		g.feed(t, s, clock, 3*time.Second)
		g.start += 3_600_000 // an hour, at once, and the wall clock does not move
		g.fed = false
		g.feed(t, s, clock, 6*time.Second)
		s.Close()
		if st := s.Stats(); st.Rebased != 2 {
			t.Errorf("Rebased = %d, want 2", st.Rebased)
		}
		checkMonotonic(t, c.all(), 100*ticksPerMS)
	})
	t.Run("stall", func(t *testing.T) {
		s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
		g := &synthStream{fps: 30, gop: 60, audioRate: 44100}
		g.feed(t, s, clock, 4*time.Second)
		stallEnd := clock.Now().Add(20 * time.Second)
		clock.Advance(20 * time.Second)
		g.start += 20_000 // the publisher's clock and the wall clock agree
		g.fed = false
		g.feed(t, s, clock, 8*time.Second)
		s.Close()
		if st := s.Stats(); st.Rebased != 2 {
			t.Errorf("Rebased = %d, want 2", st.Rebased)
		}
		if len(c.segs) != 4 {
			t.Fatalf("%d segments (%s), want 4 of 2 s: the hole closed up", len(c.segs), c.durations())
		}
		checkMonotonic(t, c.all(), 100*ticksPerMS)
		// The segment after the stall starts on the wall clock, where the
		// media after the stall arrived.
		if d := c.segs[2].Start.Sub(stallEnd); d < 0 || d > 100*time.Millisecond {
			t.Errorf("segment after the stall starts %v after the stall ended, want about 0", d)
		}
		if d := c.segs[1].Start.Sub(c.segs[0].Start); d != 2*time.Second {
			t.Errorf("segments before the stall start %v apart, want 2 s", d)
		}
	})
	t.Run("jitter", func(t *testing.T) {
		s, c, _ := newTestSegmenter(t, Config{}, nil, testAudioConfig())
		frame := []byte{0x21, 0x10}
		for _, dts := range []int64{0, 23, 46, 45, 46, 93, 116, 139} {
			if err := s.WriteAudio(dts, frame); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if st := s.Stats(); st.Clamped != 2 || st.Rebased != 0 {
			t.Errorf("Clamped %d Rebased %d, want 2 and 0", st.Clamped, st.Rebased)
		}
		// The frames after the clamped ones are back on their own times.
		pes := parsePES(t, c.all())
		lastGroup := pes[len(pes)-1]
		if want := int64(startTicks + 93*ticksPerMS); lastGroup.pts != want {
			t.Errorf("last group at %d, want %d", lastGroup.pts, want)
		}
	})
	t.Run("tracks from different origins", func(t *testing.T) {
		s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
		v := &synthStream{fps: 30, gop: 60, noVideo: false, start: 1_000_000}
		a := &synthStream{noVideo: true, audioRate: 44100, start: 5_000}
		for ms := time.Duration(0); ms < 4*time.Second; ms += 100 * time.Millisecond {
			v.feed(t, s, clock, ms)
			a.feed(t, s, nil, ms)
		}
		s.Close()
		if st := s.Stats(); st.Rebased != 1 {
			t.Errorf("Rebased = %d, want 1 (audio joins video)", st.Rebased)
		}
		var firstAudio int64 = -1
		for _, p := range parsePES(t, c.all()) {
			if p.pid == audioPID && firstAudio < 0 {
				firstAudio = p.pts
			}
		}
		if firstAudio < startTicks || firstAudio > startTicks+ticksPerSecond/5 {
			t.Errorf("first audio at %d, want near the first keyframe at %d", firstAudio, startTicks)
		}
	})
}

// checkMonotonic checks that each PID's DTS only moves forward, by at
// most maxStep (less than 2^32) modulo the 2^33 wrap, and that the PCR
// never goes back.
func checkMonotonic(t *testing.T, ts []byte, maxStep int64) {
	t.Helper()
	last := map[uint16]int64{}
	lastPCR := int64(-1)
	for _, p := range parsePES(t, ts) {
		if l, ok := last[p.pid]; ok {
			if d := (p.dts - l) & wrapMask; d == 0 || d > maxStep {
				t.Fatalf("PID %#x: DTS %d after %d", p.pid, p.dts, l)
			}
		}
		last[p.pid] = p.dts
		if p.pcr >= 0 {
			if lastPCR >= 0 && (p.pcr-lastPCR)&wrapMask > 1<<32 {
				t.Fatalf("PCR %d after %d", p.pcr, lastPCR)
			}
			lastPCR = p.pcr
		}
	}
}

func TestCloseAndErrors(t *testing.T) {
	s, c, _ := newTestSegmenter(t, Config{}, testVideoConfig(), nil)
	s.Close() // nothing written: nothing emitted
	s.Close()
	if len(c.segs) != 0 {
		t.Errorf("%d segments from an empty stream", len(c.segs))
	}
	if err := s.WriteVideo(0, 0, true, []byte{0, 0, 0, 1, 0x65}, 4); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteVideo after Close: %v", err)
	}
	if err := s.WriteAudio(0, []byte{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteAudio after Close: %v", err)
	}

	s, _, _ = newTestSegmenter(t, Config{}, testVideoConfig(), nil)
	if err := s.WriteAudio(0, []byte{1}); !errors.Is(err, ErrNoTrack) {
		t.Errorf("WriteAudio without audio: %v", err)
	}
	if err := s.SetAudioConfig(*testAudioConfig()); !errors.Is(err, ErrNoTrack) {
		t.Errorf("SetAudioConfig without audio: %v", err)
	}
	s, _, _ = newTestSegmenter(t, Config{}, nil, testAudioConfig())
	if err := s.WriteVideo(0, 0, true, []byte{0, 0, 0, 1, 0x65}, 4); !errors.Is(err, ErrNoTrack) {
		t.Errorf("WriteVideo without video: %v", err)
	}
	for _, n := range []int{0, maxADTSFrame + 1} {
		if err := s.WriteAudio(0, make([]byte, n)); !errors.Is(err, ErrInvalidFrame) {
			t.Errorf("WriteAudio of %d bytes: %v", n, err)
		}
	}
	if err := s.SetAudioConfig(AudioConfig{ObjectType: 5, SampleRateIndex: 4, Channels: 2}); err == nil {
		t.Errorf("SetAudioConfig accepted object type 5")
	}

	for _, tc := range []struct {
		name  string
		cfg   Config
		video *VideoConfig
		audio *AudioConfig
	}{
		{"no tracks", Config{}, nil, nil},
		{"MaxDuration below target", Config{TargetDuration: 4 * time.Second, MaxDuration: 3 * time.Second}, testVideoConfig(), nil},
		{"HE-AAC object type", Config{}, nil, &AudioConfig{ObjectType: 5, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}},
		{"explicit rate outside the table", Config{}, nil, &AudioConfig{ObjectType: 2, SampleRateIndex: 15, SampleRate: 44000, Channels: 2}},
		{"reserved rate index", Config{}, nil, &AudioConfig{ObjectType: 2, SampleRateIndex: 13, Channels: 2}},
		{"channel configuration 0", Config{}, nil, &AudioConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100}},
	} {
		if _, err := NewSegmenter(tc.cfg, tc.video, tc.audio, func(Segment) {}); err == nil {
			t.Errorf("NewSegmenter with %s: no error", tc.name)
		}
	}
}

// TestLastSegment checks Close's segment: its duration runs to the last
// frame's end, and Ready and FirstKeyframeArrival come from the clock.
func TestLastSegment(t *testing.T) {
	s, c, clock := newTestSegmenter(t, Config{}, testVideoConfig(), nil)
	arrival := clock.Now()
	g := &synthStream{fps: 25, gop: 250}
	g.feed(t, s, clock, time.Second)
	clock.Advance(300 * time.Millisecond)
	s.Close()
	if len(c.segs) != 1 {
		t.Fatalf("%d segments, want 1", len(c.segs))
	}
	seg := c.segs[0]
	if seg.Duration != time.Second {
		t.Errorf("Duration %v, want 1 s (25 frames of 40 ms)", seg.Duration)
	}
	if !seg.FirstKeyframeArrival.Equal(arrival) || !seg.Ready.Equal(arrival.Add(1260*time.Millisecond)) {
		t.Errorf("FirstKeyframeArrival %v Ready %v", seg.FirstKeyframeArrival, seg.Ready)
	}
}

// TestSegmentAllocations checks what frames cost in allocations in steady
// state. The segmenter's own buffers are reused and a segment's bytes are
// allocated about once; astits allocates the stuffing adaptation field of
// the last TS packet of each PES (one small object per PES, about 41 per
// second here) and builds the PAT and PMT afresh each time it writes them.
func TestSegmentAllocations(t *testing.T) {
	s, _, clock := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
	g := &synthStream{fps: 30, gop: 60, audioRate: 44100, interSize: 12000, keySize: 60000}
	g.feed(t, s, clock, 4*time.Second) // warm up: buffers at their size
	d := 4 * time.Second
	allocs := testing.AllocsPerRun(5, func() {
		d += 2 * time.Second
		g.feed(t, s, clock, d) // two seconds: one segment, 60 video and 86 audio frames
	})
	// 60 video and 22 audio PES, a segment's tables and buffer.
	if allocs > 82+20 {
		t.Errorf("%v allocations per segment of 146 frames, want at most one per PES and a few more", allocs)
	}
	t.Logf("%v allocations per 2 s segment", allocs)
}

// TestConfigChangesAndOddInput checks a negative composition time (PTS
// would precede DTS: it is raised to DTS) and an AAC sequence header
// change mid-stream (the frames after it get the new ADTS header).
func TestConfigChangesAndOddInput(t *testing.T) {
	s, c, _ := newTestSegmenter(t, Config{}, testVideoConfig(), testAudioConfig())
	idr := []byte{0, 0, 0, 2, 0x65, 0x88}
	if err := s.WriteVideo(0, -33, true, idr, 4); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAudio(0, []byte{0x21}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAudioConfig(AudioConfig{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, Channels: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAudio(300, []byte{0x21}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	pes := parsePES(t, c.all())
	if len(pes) != 3 {
		t.Fatalf("%d PES, want 3", len(pes))
	}
	if pes[0].pts != pes[0].dts {
		t.Errorf("negative CTS: PTS %d, DTS %d", pes[0].pts, pes[0].dts)
	}
	if h1, h2 := pes[1].data[2], pes[2].data[2]; h1 != 0x50 || h2 != 0x4c {
		t.Errorf("ADTS byte 2 before and after the change: %#x %#x, want 0x50 0x4c", h1, h2)
	}
	if ch := pes[2].data[3] >> 6; ch != 1 {
		t.Errorf("channels after the change: %d, want 1", ch)
	}
}
