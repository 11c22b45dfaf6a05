package hls_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/hls"
)

// TestSlidingWindow appends 20 two-second segments to a window of 6: the
// playlist lists the last 6 with the matching media sequence; the 7 before
// them left the playlist but stay fetchable (their duration plus the
// playlist's, RFC 8216 6.2.2); older ones are gone.
func TestSlidingWindow(t *testing.T) {
	h := newHarness(t, hls.Config{})
	st := h.srv.Begin("f1")
	gen := st.Generation()
	for i := range 20 {
		st.Append(seg(i, 2*time.Second))
		p := h.playlist("f1")
		first := max(0, i-5)
		if p.mediaSeq != int64(first) || len(p.entries) != i-first+1 {
			t.Fatalf("after %d appends: media sequence %d with %d segments, want %d with %d",
				i+1, p.mediaSeq, len(p.entries), first, i-first+1)
		}
		for j, e := range p.entries {
			if e.uri != segURI(gen, first+j) {
				t.Fatalf("entry %d is %s, want %s", j, e.uri, segURI(gen, first+j))
			}
		}
	}
	for i := range 21 {
		r := h.get("/hls/f1/" + segURI(gen, i))
		switch {
		case i <= 6:
			wantProblem(t, r, http.StatusNotFound, "segment has left the live window")
		case i == 20:
			wantProblem(t, r, http.StatusNotFound, "no such segment in this stream")
		case r.code != http.StatusOK || r.body != string(tsData(i, 1880)):
			t.Fatalf("segment %d: %d, %d bytes; want 200 with its data", i, r.code, len(r.body))
		}
	}
	if got, want := h.metric("givelive_hls_window_bytes"), float64(13*1880); got != want {
		t.Errorf("window_bytes %v, want %v (6 listed + 7 retired)", got, want)
	}
}

// TestByteBound drops the oldest segments, listed or not, beyond
// MaxStreamBytes, and always keeps the newest.
func TestByteBound(t *testing.T) {
	h := newHarness(t, hls.Config{MaxStreamBytes: 3 * 1880})
	st := h.srv.Begin("f1")
	gen := st.Generation()
	for i := range 5 {
		st.Append(seg(i, 2*time.Second))
	}
	p := h.playlist("f1")
	if p.mediaSeq != 2 || len(p.entries) != 3 {
		t.Fatalf("media sequence %d with %d segments, want 2 with 3", p.mediaSeq, len(p.entries))
	}
	wantProblem(t, h.get("/hls/f1/"+segURI(gen, 1)), http.StatusNotFound, "segment has left the live window")
	if got := h.metric("givelive_hls_window_bytes"); got != 3*1880 {
		t.Errorf("window_bytes %v, want %v", got, 3*1880)
	}
	if got := h.metric("givelive_hls_segments_dropped_total", "reason", "bytes"); got != 2 {
		t.Errorf("dropped{bytes} %v, want 2", got)
	}

	big := seg(5, 2*time.Second)
	big.Data = tsData(5, 4*1880) // alone over the bound: kept, alone
	st.Append(big)
	p = h.playlist("f1")
	if p.mediaSeq != 5 || len(p.entries) != 1 {
		t.Fatalf("after an oversized segment: media sequence %d with %d segments, want 5 with 1", p.mediaSeq, len(p.entries))
	}
	if r := h.get("/hls/f1/" + segURI(gen, 5)); r.code != http.StatusOK || len(r.body) != 4*1880 {
		t.Fatalf("oversized segment: %d, %d bytes", r.code, len(r.body))
	}
}

// TestLinger serves an ended stream for Linger, then forgets it; a new
// Begin afterwards starts a new generation at media sequence 0, so no
// segment URL is reused.
func TestLinger(t *testing.T) {
	h := newHarness(t, hls.Config{Linger: time.Minute})
	st := h.srv.Begin("f1")
	oldGen := st.Generation()
	st.Append(seg(0, 2*time.Second))
	st.Append(seg(1, 2*time.Second))
	st.End()
	if h.srv.Live("f1") {
		t.Fatal("Live after End")
	}

	h.clock.Advance(time.Minute - time.Nanosecond)
	if p := h.playlist("f1"); !p.ended || len(p.entries) != 2 {
		t.Fatalf("lingering playlist: ended %v with %d segments", p.ended, len(p.entries))
	}
	h.srv.Sweep()
	if _, ok := h.srv.Lookup("f1"); !ok {
		t.Fatal("forgotten before Linger passed")
	}

	h.clock.Advance(time.Nanosecond)
	wantProblem(t, h.get("/hls/f1/index.m3u8"), http.StatusNotFound, "no stream is live for this fundraiser")
	wantProblem(t, h.get("/hls/f1/"+segURI(oldGen, 1)), http.StatusNotFound, "no stream is live for this fundraiser")
	if _, ok := h.srv.Lookup("f1"); ok {
		t.Fatal("Lookup finds a stream past its Linger")
	}
	if got := h.metric("givelive_hls_streams"); got != 1 {
		t.Fatalf("streams %v before the sweep, want 1", got)
	}
	h.srv.Sweep()
	if s, b := h.metric("givelive_hls_streams"), h.metric("givelive_hls_window_bytes"); s != 0 || b != 0 {
		t.Fatalf("after the sweep: streams %v, window_bytes %v; want 0, 0", s, b)
	}

	st2 := h.srv.Begin("f1")
	if st2.Generation() == oldGen {
		t.Fatal("a new stream reuses the forgotten one's generation")
	}
	st2.Append(seg(0, 2*time.Second))
	p := h.playlist("f1")
	if p.mediaSeq != 0 || p.ended || p.discSeq != 0 || p.entries[0].disc || !strings.HasPrefix(p.entries[0].uri, st2.Generation()) {
		t.Fatalf("new stream's playlist: %+v", p)
	}
	wantProblem(t, h.get("/hls/f1/"+segURI(oldGen, 0)), http.StatusNotFound, "segment has left the live window")
}

// TestRestartDuringLinger keeps the window: the media sequence goes on.
func TestRestartDuringLinger(t *testing.T) {
	h := newHarness(t, hls.Config{Linger: time.Minute})
	st := h.srv.Begin("f1")
	gen := st.Generation()
	st.Append(seg(0, 2*time.Second))
	st.End()
	h.clock.Advance(30 * time.Second)
	st = h.srv.Begin("f1")
	if !h.srv.Live("f1") || st.Generation() != gen {
		t.Fatal("restart during linger: not live, or a new generation")
	}
	h.clock.Advance(time.Hour) // no longer ended: never forgotten
	h.srv.Sweep()
	st.Append(seg(1, 2*time.Second))
	p := h.playlist("f1")
	if p.ended || len(p.entries) != 2 || !p.entries[1].disc || p.entries[1].uri != segURI(gen, 1) {
		t.Fatalf("restarted playlist: %+v", p)
	}
}

// TestSuperseded ignores the Appends and End of a Stream a later Begin
// replaced, so a slow old publisher cannot end its successor's stream.
func TestSuperseded(t *testing.T) {
	h := newHarness(t, hls.Config{})
	old := h.srv.Begin("f1")
	old.Append(seg(0, 2*time.Second))
	cur := h.srv.Begin("f1")
	if got, ok := h.srv.Lookup("f1"); !ok || got != cur || got.ID() != "f1" {
		t.Fatal("Lookup does not return the latest Stream")
	}
	old.Append(seg(1, 2*time.Second))
	old.End()
	if !h.srv.Live("f1") {
		t.Fatal("the superseded Stream's End ended the stream")
	}
	cur.Append(seg(1, 2*time.Second))
	p := h.playlist("f1")
	if len(p.entries) != 2 || !p.entries[1].disc {
		t.Fatalf("playlist %+v, want 2 segments, the second after a discontinuity", p)
	}
	if got := h.metric("givelive_hls_segments_dropped_total", "reason", "superseded"); got != 1 {
		t.Errorf("dropped{superseded} %v, want 1", got)
	}

	cur.End()
	cur.Append(seg(2, 2*time.Second))
	cur.Append(hls.Segment{Duration: time.Second}) // no data: refused (but ended first)
	if got := h.metric("givelive_hls_segments_dropped_total", "reason", "ended"); got != 2 {
		t.Errorf("dropped{ended} %v, want 2", got)
	}
}

// TestInvalidSegments refuses segments without data or duration.
func TestInvalidSegments(t *testing.T) {
	h := newHarness(t, hls.Config{})
	st := h.srv.Begin("f1")
	st.Append(hls.Segment{Duration: 2 * time.Second})
	st.Append(hls.Segment{Data: tsData(0, 188), Duration: 400 * time.Microsecond})
	st.Append(hls.Segment{Data: tsData(0, 188), Duration: -time.Second})
	if got := h.metric("givelive_hls_segments_dropped_total", "reason", "invalid"); got != 3 {
		t.Fatalf("dropped{invalid} %v, want 3", got)
	}
	if got := h.metric("givelive_hls_segments_total"); got != 0 {
		t.Fatalf("segments_total %v, want 0", got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []hls.Config{
		{WindowSize: 2}, {WindowSize: -1}, {TargetDuration: -1}, {Linger: -1},
		{FirstSegmentWait: -1}, {MaxStreamBytes: -1},
	} {
		if s, err := hls.NewServer(cfg); err == nil {
			s.Close()
			t.Errorf("NewServer(%+v) accepted", cfg)
		}
	}
}

// TestListedSegmentsStayFetchable: a segment a player saw listed can be
// fetched through the next window's worth of appends (RFC 8216 6.2.2).
func TestListedSegmentsStayFetchable(t *testing.T) {
	h := newHarness(t, hls.Config{})
	st := h.srv.Begin("f1")
	for i := range 10 {
		st.Append(seg(i, 2*time.Second))
	}
	seen := h.playlist("f1")
	for i := 10; i < 16; i++ {
		st.Append(seg(i, 2*time.Second))
		for _, e := range seen.entries {
			if r := h.get("/hls/f1/" + e.uri); r.code != http.StatusOK {
				t.Fatalf("%d appends after the playlist was read, %s: %d", i-9, e.uri, r.code)
			}
		}
	}
}

// TestConcurrentReaders runs one publisher against many readers under the
// race detector: every playlist read is well formed and every segment read
// is either whole or gone.
func TestConcurrentReaders(t *testing.T) {
	h := newHarness(t, hls.Config{WindowSize: 3})
	st := h.srv.Begin("f1")
	st.Append(seg(0, 2*time.Second))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				p := h.playlist("f1")
				for _, e := range p.entries {
					r := h.get("/hls/f1/" + e.uri)
					if r.code == http.StatusNotFound {
						continue // the publisher outran this reader
					}
					var n int
					fmt.Sscanf(e.uri[strings.LastIndexByte(e.uri, '-')+1:], "%d.ts", &n)
					if r.code != http.StatusOK || r.body != string(tsData(n, 1880)) {
						t.Errorf("%s: %d with %d bytes", e.uri, r.code, len(r.body))
					}
				}
			}
		}()
	}
	for i := 1; i < 300; i++ {
		st.Append(seg(i, 2*time.Second))
		if i%100 == 0 {
			st = h.srv.Begin("f1")
		}
	}
	st.End()
	close(done)
	wg.Wait()
	if p := h.playlist("f1"); !p.ended || p.mediaSeq != 297 || p.discSeq != 2 {
		t.Fatalf("final playlist: %+v", p)
	}
}
