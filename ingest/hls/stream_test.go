package hls_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/givelive/givelive/ingest/hls"
)

const (
	video = "/hls/f1/video1_stream.m3u8"
	audio = "/hls/f1/audio2_stream.m3u8"
)

// TestLowLatencyPlaylists: a live stream's playlists are LL-HLS: parts of
// about 200 ms, blocking reload, a preload hint, program date-time; the
// multivariant playlist names both tracks' codecs.
func TestLowLatencyPlaylists(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 60)
	s.advance(5 * time.Second)

	r := h.get("/hls/f1/index.m3u8")
	if r.code != 200 || !strings.Contains(r.body, `CODECS="avc1.42c00a,mp4a.40.2"`) || !strings.Contains(r.body, "video1_stream.m3u8") ||
		!strings.Contains(r.body, `URI="audio2_stream.m3u8"`) {
		t.Fatalf("multivariant: %d\n%s", r.code, r.body)
	}
	if r.header.Get("Content-Type") != "application/vnd.apple.mpegurl" || r.header.Get("Cache-Control") != "no-cache" ||
		r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("multivariant headers %v", r.header)
	}
	for _, path := range []string{video, audio} {
		r := h.get(path)
		p := parseMedia(t, r.body)
		for _, tag := range []string{"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.50000,CAN-SKIP-UNTIL=",
			"#EXT-X-PART-INF:PART-TARGET=0.20000", "#EXT-X-MAP:URI="} {
			if !strings.Contains(r.body, tag) {
				t.Fatalf("%s lacks %s:\n%s", path, tag, r.body)
			}
		}
		if p.preload == "" || p.ended || len(p.parts) < 10 || p.dated == 0 {
			t.Fatalf("%s: %+v", path, p)
		}
		if r.header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s Cache-Control %q", path, r.header.Get("Cache-Control"))
		}
		// Every part and segment it names is served, as fMP4.
		for _, f := range append(p.parts, p.segments[p.gaps:]...) {
			r := h.get("/hls/f1/" + f)
			if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "video/mp4") && !strings.HasPrefix(r.header.Get("Content-Type"), "audio/mp4") ||
				!strings.Contains(r.header.Get("Cache-Control"), "immutable") || r.header.Get("Etag") != `"`+f+`"` || !strings.Contains(r.body, "moof") {
				t.Fatalf("%s: %d %v", f, r.code, r.header)
			}
		}
	}
}

// TestBlockingReload: a playlist request for a part not made yet waits for
// it, then lists it; one too far ahead is refused at once.
func TestBlockingReload(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 60)
	s.advance(3 * time.Second)
	p := parseMedia(t, h.get(video).body)
	msn, part := p.seq+len(p.segments), p.trailing
	ch := h.getAsync(context.Background(), fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d", video, msn, part))
	waitFor(t, "the request to be held", func() bool { return h.metric("givelive_hls_held_requests") == 1 })
	s.advance(400 * time.Millisecond)
	r := <-ch
	got := parseMedia(t, r.body)
	if r.code != 200 || got.seq+len(got.segments) != msn || got.trailing <= part {
		t.Fatalf("blocking reload for part %d of %d answered %d:\n%s", part, msn, r.code, r.body)
	}
	if st := r.header.Get("Server-Timing"); !strings.HasPrefix(st, "hold;dur=") || st == "hold;dur=0.000" {
		t.Fatalf("Server-Timing %q, want how long the request was held", st)
	}
	wantProblem(t, h.get(fmt.Sprintf("%s?_HLS_msn=%d", video, msn+5)), http.StatusBadRequest, "")
	wantProblem(t, h.get(video+"?_HLS_msn=x"), http.StatusBadRequest, "")
	wantProblem(t, h.get(video+"?_HLS_msn=1&_HLS_skip=maybe"), http.StatusBadRequest, "")
}

// TestHeldRequestsShareOneAnswer: many players held on the same part cost
// the muxer one request; each gets the same playlist. A viewer who leaves
// while held is counted and costs nothing more.
func TestHeldRequestsShareOneAnswer(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 60)
	s.advance(3 * time.Second)
	p := parseMedia(t, h.get(video).body)
	path := fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d&player=%%d", video, p.seq+len(p.segments), p.trailing)
	before := h.metric("givelive_hls_muxer_requests_total")
	const players = 200
	chs := make([]<-chan response, players)
	for i := range chs {
		chs[i] = h.getAsync(context.Background(), fmt.Sprintf(path, i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	left := h.getAsync(ctx, fmt.Sprintf(path, -1))
	waitFor(t, "every request to be held", func() bool { return h.metric("givelive_hls_held_requests") == players+1 })
	cancel()
	<-left
	waitFor(t, "the leaver to be counted", func() bool {
		return h.metric("givelive_hls_requests_total", "kind", "playlist", "code", "499") == 1
	})
	s.advance(300 * time.Millisecond)
	var first string
	for i, ch := range chs {
		r := <-ch
		if r.code != 200 {
			t.Fatalf("player %d: %d %s", i, r.code, r.body)
		}
		if first == "" {
			first = r.body
		} else if r.body != first {
			t.Fatalf("player %d got another playlist:\n%s\nthan the first:\n%s", i, r.body, first)
		}
	}
	if n := h.metric("givelive_hls_muxer_requests_total") - before; n > 2 {
		t.Fatalf("%d held players cost %v muxer requests, want 1", players, n)
	}
}

// TestEndPlaysToTheLastFrame: when the publisher stops, the stream's last
// frames are pushed out and its playlists end: EXT-X-ENDLIST, no preload
// hint or gaps, a program date-time on every segment, every file served,
// the whole published duration listed. A request held at the end gets the
// ended playlist.
func TestEndPlaysToTheLastFrame(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 60)
	s.advance(3500 * time.Millisecond)
	p := parseMedia(t, h.get(video).body)
	held := h.getAsync(context.Background(), fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d", video, p.seq+len(p.segments), p.trailing+1))
	waitFor(t, "the request to be held", func() bool { return h.metric("givelive_hls_held_requests") == 1 })
	s.st.End()
	if r := <-held; r.code != 200 || !strings.Contains(r.body, "#EXT-X-ENDLIST") {
		t.Fatalf("held request at the end: %d\n%s", r.code, r.body)
	}
	if h.srv.Live("f1") {
		t.Fatal("still live after End")
	}
	for _, path := range []string{video, audio} {
		r := h.get(path)
		p := parseMedia(t, r.body)
		if !p.ended || p.preload != "" || p.gaps != 0 || p.dated != len(p.segments) || p.trailing != 0 {
			t.Fatalf("ended %s:\n%s", path, r.body)
		}
		if r.header.Get("Cache-Control") != "public, max-age=5" {
			t.Errorf("ended playlist Cache-Control %q", r.header.Get("Cache-Control"))
		}
		// 105 frames, 3.5 s: all of them, the last shown until the
		// segment's minimum at most.
		if p.total < 3466*time.Millisecond || p.total > 4600*time.Millisecond {
			t.Fatalf("%s lists %s, want the 3.5 s published:\n%s", path, p.total, r.body)
		}
		for _, f := range append(p.parts, p.segments...) {
			if r := h.get("/hls/f1/" + f); r.code != 200 {
				t.Fatalf("%s of the ended stream: %d", f, r.code)
			}
		}
	}
	if err := s.st.WriteH264(t0, 0, [][]byte{{0x41, 1}}); !errors.Is(err, hls.ErrSuperseded) {
		t.Fatalf("a write after End: %v", err)
	}
}

// TestLinger: an ended stream is served for Linger, then forgotten.
func TestLinger(t *testing.T) {
	h := newHarness(t, hls.Config{Linger: time.Minute})
	s := h.begin("f1", 60)
	s.advance(2500 * time.Millisecond)
	s.st.End()
	if r := h.get("/hls/f1/index.m3u8"); r.code != 200 {
		t.Fatalf("ended stream: %d", r.code)
	}
	h.clock.Advance(time.Minute)
	wantProblem(t, h.get("/hls/f1/index.m3u8"), http.StatusNotFound, "no stream is live for this fundraiser")
	h.srv.Sweep()
	if n := h.metric("givelive_hls_streams"); n != 0 {
		t.Fatalf("streams after the sweep: %v", n)
	}
}

// TestSuperseded: a new publish of the same fundraiser replaces the live
// one at once; the old one's writes fail, its End changes nothing, and a
// request held on it is answered by the new one.
func TestSuperseded(t *testing.T) {
	h := newHarness(t, hls.Config{})
	old := h.begin("f1", 60)
	old.advance(2500 * time.Millisecond)
	p := parseMedia(t, h.get(video).body)
	held := h.getAsync(context.Background(), fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d", video, p.seq+len(p.segments), p.trailing))
	waitFor(t, "the request to be held", func() bool { return h.metric("givelive_hls_held_requests") == 1 })
	next := h.begin("f1", 60)
	next.advance(2500 * time.Millisecond)
	if r := <-held; r.code != 200 || strings.Contains(r.body, p.segments[len(p.segments)-1]) {
		t.Fatalf("held request on the superseded stream: %d\n%s", r.code, r.body)
	}
	if err := old.st.WriteH264(t0, 0, [][]byte{{0x41, 1}}); !errors.Is(err, hls.ErrSuperseded) {
		t.Fatalf("a superseded stream's write: %v", err)
	}
	old.st.End()
	if !h.srv.Live("f1") {
		t.Fatal("the superseded stream's End ended its successor")
	}
	if n := h.metric("givelive_hls_superseded_total"); n != 1 {
		t.Fatalf("superseded_total %v", n)
	}
}

// waitHarness is a harness whose wait hook reports on channels.
type waitHarness struct {
	*harness
	started chan struct{}
	results chan string
}

func newWaitHarness(t *testing.T, cfg hls.Config) *waitHarness {
	t.Helper()
	wh := &waitHarness{started: make(chan struct{}, 8), results: make(chan string, 8)}
	wh.harness = newHarness(t, cfg)
	wh.srv.SetWaitHook(func(event string) {
		if event == "start" {
			wh.started <- struct{}{}
		} else {
			wh.results <- event
		}
	})
	return wh
}

func TestFirstSegmentWait(t *testing.T) {
	t.Run("released by the first segment", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		s := h.begin("f1", 60)
		ch := h.getAsync(context.Background(), "/hls/f1/index.m3u8")
		<-h.started
		s.advance(2100 * time.Millisecond)
		if r := <-ch; r.code != 200 || !strings.Contains(r.body, "#EXT-X-STREAM-INF") {
			t.Fatalf("%d %s", r.code, r.body)
		}
		if got := <-h.results; got != "segment" {
			t.Fatalf("wait result %q", got)
		}
	})
	t.Run("times out", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: 50 * time.Millisecond})
		h.begin("f1", 60)
		r := h.get("/hls/f1/index.m3u8")
		wantProblem(t, r, http.StatusServiceUnavailable, "")
		if r.header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		if got := <-h.results; got != "timeout" {
			t.Fatalf("wait result %q", got)
		}
	})
	t.Run("ended before a frame", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		s := h.begin("f1", 60)
		ch := h.getAsync(context.Background(), "/hls/f1/index.m3u8")
		<-h.started
		s.st.End()
		r := <-ch
		wantProblem(t, r, http.StatusNotFound, "the stream ended before its first segment was ready")
	})
	t.Run("ended before a segment", func(t *testing.T) {
		// Half a second, shorter than a segment: pushed out at the end.
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		s := h.begin("f1", 60)
		s.advance(500 * time.Millisecond)
		ch := h.getAsync(context.Background(), "/hls/f1/index.m3u8")
		<-h.started
		s.st.End()
		if r := <-ch; r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		p := parseMedia(t, h.get(video).body)
		if !p.ended || len(p.segments) != 1 || p.total < 500*time.Millisecond {
			t.Fatalf("half a second ended:\n%s", p.body)
		}
	})
	t.Run("viewer leaves", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		h.begin("f1", 60)
		ctx, cancel := context.WithCancel(context.Background())
		ch := h.getAsync(ctx, "/hls/f1/index.m3u8")
		<-h.started
		cancel()
		<-ch
		if got := <-h.results; got != "canceled" {
			t.Fatalf("wait result %q", got)
		}
	})
}

// TestFileHeaders: segments and parts support Range, ETag and HEAD.
func TestFileHeaders(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 60)
	s.advance(3 * time.Second)
	p := parseMedia(t, h.get(video).body)
	seg := "/hls/f1/" + p.segments[len(p.segments)-1]
	full := h.get(seg)
	if full.code != 200 {
		t.Fatalf("segment: %d", full.code)
	}
	r := h.get(seg, "Range", "bytes=0-99")
	if r.code != http.StatusPartialContent || r.body != full.body[:100] {
		t.Fatalf("range: %d, %d bytes", r.code, len(r.body))
	}
	if r := h.get(seg, "If-None-Match", full.header.Get("Etag")); r.code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.code)
	}
	wantProblem(t, h.get(seg, "Range", "bytes=99999999-"), http.StatusRequestedRangeNotSatisfiable, "")
	if r := h.do(http.MethodHead, seg); r.code != 200 || r.body != "" || r.header.Get("Content-Length") != fmt.Sprint(len(full.body)) {
		t.Fatalf("HEAD: %d %v", r.code, r.header)
	}
	wantProblem(t, h.get("/hls/f1/0123456789ab_video1_seg7.mp4"), http.StatusNotFound, "")
}

func TestMethods(t *testing.T) {
	h := newHarness(t, hls.Config{})
	h.begin("f1", 60).advance(2100 * time.Millisecond)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		r := h.do(m, "/hls/f1/index.m3u8")
		wantProblem(t, r, http.StatusMethodNotAllowed, "")
		if r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Errorf("%s: Allow %q", m, r.header.Get("Allow"))
		}
	}
	r := h.do(http.MethodOptions, "/hls/f1/index.m3u8",
		"Origin", "https://givelive.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "range")
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Methods") != "GET, HEAD, OPTIONS" ||
		r.header.Get("Access-Control-Allow-Headers") != "Range" || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", r.code, r.header)
	}
	if got := h.metric("givelive_hls_requests_total", "kind", "playlist", "code", "405"); got != 4 {
		t.Errorf("requests_total{playlist,405} %v, want 4", got)
	}
}

// TestBadPaths answers 404 to every path outside /hls/{id}/{file}, however
// it is dressed up, without reaching a stream.
func TestBadPaths(t *testing.T) {
	h := newHarness(t, hls.Config{})
	h.begin("f1", 60).advance(2100 * time.Millisecond)
	for _, p := range []string{
		"/hls/",
		"/hls/f1",
		"/hls/f1/",
		"/hls//index.m3u8",
		"/hls/f1/index.m3u8/",
		"/hls/f1/x/index.m3u8",
		"/hls/../hls/f1/index.m3u8",
		"/hls/f1/../f1/index.m3u8",
		"/hls/f1/..",
		"/hls/..%2Ff1/index.m3u8",
		"/hls/f1%2Findex.m3u8",
		"/hls/f1/index%2Em3u8",
		"/hls/%66%31/index.m3u8", // "f1", escaped
		"/hls/f1/index.m3u8%00",
		"/hls/f%201/index.m3u8",
		"/hls/f.1/index.m3u8",
		"/hls/" + strings.Repeat("a", 65) + "/index.m3u8",
		"/hls/f1/" + strings.Repeat("a", 10000) + ".mp4",
		"/HLS/f1/index.m3u8",
		"/other/f1/index.m3u8",
		"/hls/f1/gap.mp4",
		"/hls/f1/nothing.m3u8",
	} {
		r := h.get(p)
		if r.code != http.StatusNotFound || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %q: %d %s, want 404 problem", p, r.code, r.header.Get("Content-Type"))
		}
	}
	// Paths no client library sends as such: raw on the socket.
	for _, p := range []string{"/hls/f1/./index.m3u8", "/hls/f1//index.m3u8", "/hls/f1\\index.m3u8"} {
		if code := rawGet(t, h.http.Listener.Addr().String(), p); code != http.StatusNotFound {
			t.Errorf("raw GET %q: %d, want 404", p, code)
		}
	}
	wantProblem(t, h.get("/hls/"+strings.Repeat("a", 64)+"/index.m3u8"), http.StatusNotFound, "no stream is live for this fundraiser")
}

func TestBeginErrors(t *testing.T) {
	h := newHarness(t, hls.Config{})
	for name, tr := range map[string]hls.Tracks{
		"nothing":         {},
		"vp9":             {Video: &codecs.VP9{}},
		"flac":            {Audio: &codecs.FLAC{}},
		"aac, 0 channels": {Audio: &codecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{Type: 2, SampleRate: 44100}}},
		"bogus sps":       {Video: &codecs.H264{SPS: []byte{0x67, 0xff}, PPS: testPPS}},
	} {
		if _, err := h.srv.Begin("f1", tr); !errors.Is(err, hls.ErrNoTracks) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if h.srv.Live("f1") {
		t.Fatal("a refused Begin left a stream")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []hls.Config{
		{SegmentCount: 6},
		{SegmentCount: -1},
		{PartDuration: -time.Second},
		{PartDuration: 2 * time.Second, SegmentDuration: time.Second},
		{CacheBytes: -1},
	} {
		if _, err := hls.NewServer(cfg); err == nil {
			t.Errorf("NewServer(%+v) accepted", cfg)
		}
	}
}

// TestConcurrentViewers: players reading while the publisher writes and
// ends (run with -race).
func TestConcurrentViewers(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 30)
	s.advance(2 * time.Second)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := parseMedia(t, h.get(video).body)
				for _, f := range p.parts {
					h.get("/hls/f1/" + f)
				}
			}
		})
	}
	s.advance(3 * time.Second)
	s.st.End()
	close(stop)
	wg.Wait()
}

// TestInvalidParameterSetsAreRefused: an SPS that does not parse, sent
// in-band before the first segment, is refused with its frame instead of
// reaching the muxer's init section (gohlslib would then fail on every
// later request); the stream goes on with its good parameters.
func TestInvalidParameterSetsAreRefused(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 60)
	if err := s.st.WriteH264(t0, 0, [][]byte{{0x67, 0xff, 0x00}, testPPS, {0x65, 0x88, 0x84, 0, 0x80}}); err == nil {
		t.Fatal("an access unit with a bogus SPS was taken")
	}
	s.advance(3 * time.Second)
	if r := h.get(video); r.code != 200 || !strings.Contains(r.body, "#EXT-X-MAP") {
		t.Fatalf("playlist after the bogus SPS: %d %s", r.code, r.body)
	}
	if n := h.metric("givelive_hls_muxer_panics_total"); n != 0 {
		t.Fatalf("panics %v", n)
	}
}

// TestLongKeyframeInterval: an encoder whose keyframes come every 5 s, far
// past the segment minimum, still gets 200 ms parts (they need no
// keyframe); only its segments grow, and the target duration with them.
func TestLongKeyframeInterval(t *testing.T) {
	h := newHarness(t, hls.Config{})
	s := h.begin("f1", 150)
	s.advance(12 * time.Second)
	r := h.get(video)
	p := parseMedia(t, r.body)
	if !strings.Contains(r.body, "#EXT-X-TARGETDURATION:5") || !strings.Contains(r.body, "#EXT-X-PART-INF:PART-TARGET=0.20000") ||
		p.trailing < 5 || len(p.segments)-p.gaps != 2 {
		t.Fatalf("5 s keyframes:\n%s", r.body)
	}
	// The parts of the segment in progress, all but its first without a
	// keyframe, are listed as they come.
	if n := strings.Count(r.body, "INDEPENDENT=YES"); n > 3 {
		t.Fatalf("%d independent parts listed, want one per keyframe", n)
	}
}
