package hls_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/ingest/hls"
)

// t0 is when the test streams start.
var t0 = time.Date(2026, 11, 23, 21, 15, 3, 120e6, time.FixedZone("CET", 3600))

// clock is the Server's Now in tests: it moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a Server on a loopback HTTP server, with its registry and clock.
type harness struct {
	t     *testing.T
	srv   *hls.Server
	http  *httptest.Server
	reg   *prometheus.Registry
	clock *clock
}

func newHarness(t *testing.T, cfg hls.Config) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry(), clock: &clock{now: t0}}
	cfg.Registerer = h.reg
	cfg.Now = h.clock.Now
	srv, err := hls.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.http = httptest.NewServer(srv)
	t.Cleanup(func() {
		h.http.Close()
		srv.Close()
	})
	return h
}

// A baseline x264 stream's parameter sets (pic_order_cnt_type 2, so the
// muxer takes decode times from presentation times without reading slices).
var (
	testSPS, _ = hex.DecodeString("6742c00ad90426c044000003000400000300f03c489920")
	testPPS, _ = hex.DecodeString("68cb83cb20")
)

func testTracks() hls.Tracks {
	return hls.Tracks{
		Video: &codecs.H264{SPS: testSPS, PPS: testPPS},
		Audio: &codecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelCount: 2}},
	}
}

// source writes a synthetic stream to a Stream: H.264 at 30 fps with a
// keyframe every gop frames (SPS and PPS in front), and AAC at 44.1 kHz,
// interleaved in time.
type source struct {
	tb     testing.TB
	st     *hls.Stream
	gop    int
	frames int   // video frames written
	audio  int64 // audio frames written
}

func (h *harness) begin(id string, gop int) *source {
	h.t.Helper()
	st, err := h.srv.Begin(id, testTracks())
	if err != nil {
		h.t.Fatal(err)
	}
	return &source{tb: h.t, st: st, gop: gop}
}

// advance writes d more of media.
func (s *source) advance(d time.Duration) {
	s.tb.Helper()
	end := s.frames + int(d/(time.Second/30))
	for ; s.frames < end; s.frames++ {
		pts := int64(s.frames) * 3000
		for ; s.audio*1024*90000/44100 <= pts; s.audio++ {
			apts := s.audio * 1024
			if err := s.st.WriteMPEG4Audio(t0.Add(time.Duration(apts)*time.Second/44100), apts, []byte{0x21, 0x00, 0x49, byte(s.audio)}); err != nil {
				s.tb.Fatalf("audio frame %d: %v", s.audio, err)
			}
		}
		au := [][]byte{{0x41, 0x9a, byte(s.frames), 0x80}}
		if s.frames%s.gop == 0 {
			au = [][]byte{testSPS, testPPS, {0x65, 0x88, 0x84, byte(s.frames), 0x80}}
		}
		if err := s.st.WriteH264(t0.Add(time.Duration(pts)*time.Second/90000), pts, au); err != nil {
			s.tb.Fatalf("video frame %d: %v", s.frames, err)
		}
	}
}

// response is an answer read whole.
type response struct {
	code   int
	header http.Header
	body   string
}

func (h *harness) do(method, path string, header ...string) response {
	h.t.Helper()
	return doRequest(h.t, h.http, method, path, header...)
}

func (h *harness) get(path string, header ...string) response {
	h.t.Helper()
	return h.do(http.MethodGet, path, header...)
}

// getAsync fetches path in a goroutine, returning the channel its response
// arrives on.
func (h *harness) getAsync(ctx context.Context, path string) <-chan response {
	ch := make(chan response, 1)
	go func() { ch <- doRequestContext(h.t, ctx, h.http, http.MethodGet, path) }()
	return ch
}

// doRequest sends method path to srv with header given as name, value pairs.
func doRequest(t *testing.T, srv *httptest.Server, method, path string, header ...string) response {
	t.Helper()
	return doRequestContext(t, context.Background(), srv, method, path, header...)
}

func doRequestContext(t *testing.T, ctx context.Context, srv *httptest.Server, method, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
	if err != nil {
		t.Error(err)
		return response{}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		if ctx.Err() == nil {
			t.Errorf("%s %s: %v", method, path, err)
		}
		return response{}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s %s: reading the body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(body)}
}

// wantProblem checks r is an RFC 9457 problem with status code and, if
// detail is not empty, that detail.
func wantProblem(t *testing.T, r response, code int, detail string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("problem Cache-Control %q, want no-store", cc)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("problem without Access-Control-Allow-Origin: *")
	}
	want := fmt.Sprintf(`"status":%d`, code)
	if !strings.Contains(r.body, want) || !strings.Contains(r.body, `"type":"about:blank"`) ||
		!strings.Contains(r.body, `"title":"`+http.StatusText(code)+`"`) {
		t.Errorf("problem body %s lacks type, title or status", r.body)
	}
	if detail != "" && !strings.Contains(r.body, `"detail":"`+detail+`"`) {
		t.Errorf("problem body %s, want detail %q", r.body, detail)
	}
}

// rawGet sends a request line as is and returns the status code.
func rawGet(t *testing.T, addr, path string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metric sums the samples of a metric whose labels include the given
// name, value pairs.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// waitFor polls cond until it holds; the timeout only bounds a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mediaPlaylist is what a player reads from a media playlist.
type mediaPlaylist struct {
	seq      int      // EXT-X-MEDIA-SEQUENCE
	segments []string // URIs, gaps included
	gaps     int
	parts    []string // every EXT-X-PART URI
	trailing int      // parts after the last segment: of the one in progress
	dated    int      // segments with a program date-time
	total    time.Duration
	preload  string
	ended    bool
	body     string
}

var (
	reSeq     = regexp.MustCompile(`(?m)^#EXT-X-MEDIA-SEQUENCE:(\d+)$`)
	rePart    = regexp.MustCompile(`#EXT-X-PART:.*URI="([^"]+)"`)
	rePreload = regexp.MustCompile(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"`)
	reInf     = regexp.MustCompile(`^#EXTINF:([0-9.]+),`)
)

func parseMedia(t testing.TB, body string) mediaPlaylist {
	t.Helper()
	p := mediaPlaylist{body: body}
	if m := reSeq.FindStringSubmatch(body); m != nil {
		fmt.Sscan(m[1], &p.seq)
	}
	gap, dated := false, false
	for _, l := range strings.Split(body, "\n") {
		switch {
		case l == "#EXT-X-GAP":
			gap = true
		case strings.HasPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:"):
			dated = true
		case reInf.MatchString(l):
			var s float64
			fmt.Sscan(reInf.FindStringSubmatch(l)[1], &s)
			p.total += time.Duration(s * float64(time.Second))
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			p.parts = append(p.parts, rePart.FindStringSubmatch(l)[1])
			p.trailing++
		case strings.HasPrefix(l, "#EXT-X-PRELOAD-HINT:"):
			p.preload = rePreload.FindStringSubmatch(l)[1]
		case l == "#EXT-X-ENDLIST":
			p.ended = true
		case l != "" && !strings.HasPrefix(l, "#"):
			p.segments = append(p.segments, l)
			p.trailing = 0
			if gap {
				p.gaps++
			}
			if dated {
				p.dated++
			}
			gap, dated = false, false
		}
	}
	return p
}
