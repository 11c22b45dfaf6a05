package hls_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/ingest/hls"
)

// TestPlaylistGolden walks a stream through appends, a restart, an end and
// another restart, comparing the whole playlist text at each step.
func TestPlaylistGolden(t *testing.T) {
	h := newHarness(t, hls.Config{WindowSize: 3})
	st := h.srv.Begin("f1")
	gen := st.Generation()
	s2 := seg(2, 1999600*time.Microsecond) // 1.9996s shows as 2.000
	s2.Start = time.Time{}                 // no wall clock: no PROGRAM-DATE-TIME

	steps := []struct {
		name string
		do   func()
		want string
	}{{
		name: "two segments",
		do: func() {
			st.Append(seg(0, 2*time.Second))
			st.Append(seg(1, 2002100*time.Microsecond))
		},
		want: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:03.120Z
#EXTINF:2.000,
GEN-0.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:05.120Z
#EXTINF:2.002,
GEN-1.ts
`,
	}, {
		name: "slid once, after a restart",
		do: func() {
			st.Append(s2)
			st = h.srv.Begin("f1")
			st.Append(seg(3, 2*time.Second))
		},
		want: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:05.120Z
#EXTINF:2.002,
GEN-1.ts
#EXTINF:2.000,
GEN-2.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:09.120Z
#EXTINF:2.000,
GEN-3.ts
`,
	}, {
		name: "ended",
		do:   func() { st.End() },
		want: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:05.120Z
#EXTINF:2.002,
GEN-1.ts
#EXTINF:2.000,
GEN-2.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:09.120Z
#EXTINF:2.000,
GEN-3.ts
#EXT-X-ENDLIST
`,
	}, {
		name: "restarted after the end: ENDLIST cleared, second discontinuity",
		do: func() {
			st = h.srv.Begin("f1")
			st.Append(seg(4, 2*time.Second))
		},
		want: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:2
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:2.000,
GEN-2.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:09.120Z
#EXTINF:2.000,
GEN-3.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:11.120Z
#EXTINF:2.000,
GEN-4.ts
`,
	}, {
		name: "first tagged segment slid out: discontinuity sequence 1",
		do: func() {
			st.Append(seg(5, 2*time.Second))
			st.Append(seg(6, 2*time.Second))
		},
		want: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:11.120Z
#EXTINF:2.000,
GEN-4.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:13.120Z
#EXTINF:2.000,
GEN-5.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:15.120Z
#EXTINF:2.000,
GEN-6.ts
`,
	}, {
		name: "both slid out: discontinuity sequence 2",
		do:   func() { st.Append(seg(7, 2*time.Second)) },
		want: `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:13.120Z
#EXTINF:2.000,
GEN-5.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:15.120Z
#EXTINF:2.000,
GEN-6.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:17.120Z
#EXTINF:2.000,
GEN-7.ts
`,
	}}
	for _, step := range steps {
		step.do()
		r := h.get("/hls/f1/index.m3u8")
		got := strings.ReplaceAll(r.body, gen, "GEN")
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Fatalf("%s: playlist (-want +got):\n%s", step.name, diff)
		}
		parsePlaylist(t, r.body) // and it obeys the RFC's rules
	}
}

// TestTargetDuration checks EXT-X-TARGETDURATION starts at the configured
// target rounded up, never decreases, and is never below a listed segment's
// rounded duration.
func TestTargetDuration(t *testing.T) {
	h := newHarness(t, hls.Config{WindowSize: 3, TargetDuration: 1500 * time.Millisecond})
	st := h.srv.Begin("f1")
	steps := []struct {
		dur    time.Duration
		target int64
	}{
		{2 * time.Second, 2},            // ceil(1.5s)
		{2499 * time.Millisecond, 2},    // rounds to 2
		{2500 * time.Millisecond, 3},    // rounds to 3: raised
		{4200 * time.Millisecond, 4},    // raised again
		{1 * time.Second, 4},            // never lowered
		{1 * time.Second, 4},            // the 4.2s segment still listed
		{1 * time.Second, 4},            // ...and gone: still 4 (RFC: must not change back)
		{4499500 * time.Microsecond, 4}, // 4.4995s shows as 4.500 and rounds to 5
	}
	for i, s := range steps[:len(steps)-1] {
		st.Append(seg(i, s.dur))
		if p := h.playlist("f1"); p.target != s.target {
			t.Fatalf("after a %v segment: target %d, want %d", s.dur, p.target, s.target)
		}
	}
	st.Append(seg(7, steps[7].dur))
	p := h.playlist("f1")
	if last := p.entries[len(p.entries)-1]; last.millis != 4500 || p.target != 5 {
		t.Fatalf("4.4995s segment: EXTINF %dms, target %d; want 4500ms, 5", last.millis, p.target)
	}
}
