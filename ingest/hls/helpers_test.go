package hls_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/ingest/hls"
)

// t0 is when the test streams start, in a zone other than UTC so the
// playlist's conversion to UTC shows.
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
	t.Cleanup(srv.Close)
	h.http = httptest.NewServer(srv)
	t.Cleanup(h.http.Close)
	return h
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

// doRequest sends method path to srv with header given as name, value pairs.
func doRequest(t *testing.T, srv *httptest.Server, method, path string, header ...string) response {
	t.Helper()
	return doRequestContext(t, context.Background(), srv, method, path, header...)
}

func doRequestContext(t *testing.T, ctx context.Context, srv *httptest.Server, method, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
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

// tsData is n bytes shaped like TS packets, distinct for each i.
func tsData(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		if j%188 == 0 {
			b[j] = 0x47
		} else {
			b[j] = byte(i*31 + j)
		}
	}
	return b
}

// seg is the i-th segment of a stream cut every d from t0.
func seg(i int, d time.Duration) hls.Segment {
	return hls.Segment{Data: tsData(i, 1880), Duration: d, Start: t0.Add(time.Duration(i) * 2 * time.Second)}
}

// entry is a media segment as a playlist lists it.
type entry struct {
	disc   bool
	pdt    string
	millis int64
	uri    string
}

// parsed is a media playlist as a player reads it.
type parsed struct {
	target, mediaSeq, discSeq int64
	independent, ended        bool
	entries                   []entry
}

// parsePlaylist reads a media playlist strictly: every line must be one of
// the tags this package writes, and RFC 8216's rules on them must hold.
func parsePlaylist(t *testing.T, body string) parsed {
	t.Helper()
	var p parsed
	sc := bufio.NewScanner(strings.NewReader(body))
	var cur entry
	line := 0
	for sc.Scan() {
		l := sc.Text()
		line++
		num := func(prefix string) int64 {
			n, err := strconv.ParseInt(strings.TrimPrefix(l, prefix), 10, 64)
			if err != nil {
				t.Fatalf("line %d %q: %v", line, l, err)
			}
			return n
		}
		switch {
		case line == 1:
			if l != "#EXTM3U" {
				t.Fatalf("first line %q, want #EXTM3U", l)
			}
		case l == "#EXT-X-VERSION:3":
		case strings.HasPrefix(l, "#EXT-X-TARGETDURATION:"):
			p.target = num("#EXT-X-TARGETDURATION:")
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			p.mediaSeq = num("#EXT-X-MEDIA-SEQUENCE:")
		case strings.HasPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE:"):
			p.discSeq = num("#EXT-X-DISCONTINUITY-SEQUENCE:")
			if p.discSeq == 0 {
				t.Errorf("EXT-X-DISCONTINUITY-SEQUENCE:0 written")
			}
		case l == "#EXT-X-INDEPENDENT-SEGMENTS":
			p.independent = true
		case l == "#EXT-X-DISCONTINUITY":
			cur.disc = true
		case strings.HasPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:"):
			cur.pdt = strings.TrimPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:")
			if _, err := time.Parse(time.RFC3339Nano, cur.pdt); err != nil || len(cur.pdt) != len("2006-01-02T15:04:05.000Z") {
				t.Errorf("line %d: PROGRAM-DATE-TIME %q is not RFC 3339 UTC with milliseconds", line, cur.pdt)
			}
		case strings.HasPrefix(l, "#EXTINF:"):
			v, ok := strings.CutSuffix(strings.TrimPrefix(l, "#EXTINF:"), ",")
			whole, frac, dot := strings.Cut(v, ".")
			if !ok || !dot || len(frac) != 3 {
				t.Fatalf("line %d %q: want #EXTINF:<seconds with 3 decimals>,", line, l)
			}
			s, err1 := strconv.ParseInt(whole, 10, 64)
			ms, err2 := strconv.ParseInt(frac, 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("line %d %q: bad duration", line, l)
			}
			cur.millis = s*1000 + ms
		case l == "#EXT-X-ENDLIST":
			p.ended = true
		case strings.HasPrefix(l, "#"):
			t.Fatalf("line %d: unexpected tag %q", line, l)
		default:
			if cur.millis == 0 {
				t.Fatalf("line %d: URI %q without EXTINF", line, l)
			}
			cur.uri = l
			p.entries = append(p.entries, cur)
			cur = entry{}
		}
	}
	if p.target == 0 || !p.independent {
		t.Fatalf("playlist without TARGETDURATION or INDEPENDENT-SEGMENTS:\n%s", body)
	}
	for _, e := range p.entries {
		if r := (e.millis + 500) / 1000; r > p.target {
			t.Errorf("segment %s lasts %dms, rounded %ds > EXT-X-TARGETDURATION %d", e.uri, e.millis, r, p.target)
		}
	}
	return p
}

// playlist fetches and parses id's playlist, which must be served.
func (h *harness) playlist(id string) parsed {
	h.t.Helper()
	r := h.get("/hls/" + id + "/index.m3u8")
	if r.code != http.StatusOK {
		h.t.Fatalf("playlist: %d %s", r.code, r.body)
	}
	return parsePlaylist(h.t, r.body)
}

// metric sums the samples of a metric whose labels include the given
// name, value pairs.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	return gather(h.t, h.reg, name, labels...)
}

func gather(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
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

func segURI(gen string, seq int) string { return gen + "-" + strconv.Itoa(seq) + ".ts" }
