package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/mediadir"
)

func TestAdvertiseURL(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg     config.Config
		want    string
		wantErr bool
	}{
		{cfg: config.Config{AdvertiseURL: "https://node1.internal:8443", HTTPAddr: ":8080"}, want: "https://node1.internal:8443"},
		{cfg: config.Config{HTTPAddr: "127.0.0.1:8080"}, want: "http://127.0.0.1:8080"},
		{cfg: config.Config{HTTPAddr: "[::1]:8080"}, want: "http://[::1]:8080"},
		{cfg: config.Config{HTTPAddr: "10.0.0.5:8080"}, want: "http://10.0.0.5:8080"},
		{cfg: config.Config{HTTPAddr: ":8080"}, want: "http://" + host + ":8080"},
		{cfg: config.Config{HTTPAddr: "0.0.0.0:8080"}, want: "http://" + host + ":8080"},
		{cfg: config.Config{HTTPAddr: "[::]:8080"}, want: "http://" + host + ":8080"},
		{cfg: config.Config{HTTPAddr: "127.0.0.1:0"}, wantErr: true},
		{cfg: config.Config{HTTPAddr: "nonsense"}, wantErr: true},
	} {
		got, err := advertiseURL(c.cfg)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("advertiseURL(%+v) = %q, %v; want %q (error %v)", c.cfg.HTTPAddr, got, err, c.want, c.wantErr)
		}
	}
}

func TestSplitHLSPath(t *testing.T) {
	for _, c := range []struct {
		path, id, name string
		ok             bool
	}{
		{"/hls/f_1/index.m3u8", "f_1", "index.m3u8", true},
		{"/hls/f-1/abc-3.ts", "f-1", "abc-3.ts", true},
		{"/hls/f_1/", "", "", false},
		{"/hls//index.m3u8", "", "", false},
		{"/hls/f_1/../../api", "", "", false},
		{"/hls/f_1/..", "", "", false},
		{"/hls/f.1/index.m3u8", "", "", false},
		{"/hls/" + strings.Repeat("a", 65) + "/index.m3u8", "", "", false},
		{"/api/v1/x", "", "", false},
	} {
		id, name, ok := splitHLSPath(c.path)
		if id != c.id || name != c.name || ok != c.ok {
			t.Errorf("splitHLSPath(%q) = %q, %q, %v; want %q, %q, %v", c.path, id, name, ok, c.id, c.name, c.ok)
		}
	}
}

// fakeWindow is a local HLS window holding the streams in live.
type fakeWindow struct{ live map[string]bool }

func (w fakeWindow) Live(id string) bool { return w.live[id] }

func (w fakeWindow) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if id, _, _ := splitHLSPath(r.URL.Path); w.live[id] {
		io.WriteString(rw, "local")
		return
	}
	writeHLSProblem(rw, r, http.StatusNotFound, "no stream is live for this fundraiser")
}

// fakeDirectory answers lookups from entries, or fails with err.
type fakeDirectory struct {
	self    string
	entries map[string]mediadir.Entry
	err     error
}

func (d fakeDirectory) Self() string { return d.self }

func (d fakeDirectory) Lookup(_ context.Context, id string) (mediadir.Entry, bool, error) {
	e, ok := d.entries[id]
	return e, ok, d.err
}

// The routing: local streams locally; another node's proxied there with
// the hop mark and without credentials, its headers kept; unknown, own
// leftovers and already-proxied requests answered by the window; a failed
// lookup is 503 and a dead node 502.
func TestCrossNodeHLS(t *testing.T) {
	var gotHop, gotAuth, gotPath, gotHost string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHop, gotAuth, gotPath, gotHost = r.Header.Get(hopHeader), r.Header.Get("Authorization"), r.URL.Path, r.Host
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
		io.WriteString(w, "remote")
	}))
	defer upstream.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	dir := fakeDirectory{self: "http://self:8080", entries: map[string]mediadir.Entry{
		"remote": {URL: upstream.URL, Session: "s1"},
		"own":    {URL: "http://self:8080", Session: "s0"},
		"dead":   {URL: deadURL, Session: "s2"},
	}}
	h, err := newCrossNodeHLS(fakeWindow{live: map[string]bool{"local": true}}, dir, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()

	serve := func(h http.Handler, path string, hdr http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		for k, v := range hdr {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := serve(h, "/hls/local/index.m3u8", nil); w.Body.String() != "local" {
		t.Fatalf("local stream: %d %s", w.Code, w.Body)
	}
	w := serve(h, "/hls/remote/g-1.ts", http.Header{"Authorization": {"Bearer secret"}})
	if w.Code != 200 || w.Body.String() != "remote" || w.Header().Get("Etag") != `"abc"` ||
		!strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("remote stream: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// The other node sees the public host (its host guard answers only for
	// it), the hop mark, and no credentials.
	if gotHop != "1" || gotAuth != "" || gotPath != "/hls/remote/g-1.ts" || gotHost != "example.com" {
		t.Fatalf("upstream saw hop %q, authorization %q, path %q, host %q", gotHop, gotAuth, gotPath, gotHost)
	}
	w = serve(h, "/hls/remote/h-1.ts", http.Header{"Range": {"bytes=0-1"}}) // not shared: passed through
	if w.Code != 206 && w.Code != 200 || gotHost != "example.com" {
		t.Fatalf("range request: %d, upstream saw host %q", w.Code, gotHost)
	}
	for _, c := range []struct {
		path string
		hdr  http.Header
	}{
		{"/hls/remote/index.m3u8", http.Header{"X-Givelive-Hop": {"1"}}},
		{"/hls/own/index.m3u8", nil},
		{"/hls/nowhere/index.m3u8", nil},
	} {
		if w := serve(h, c.path, c.hdr); w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %d %s, want the window's 404", c.path, w.Code, w.Body)
		}
	}
	if w := serve(h, "/hls/dead/index.m3u8", nil); w.Code != http.StatusBadGateway {
		t.Fatalf("dead node: %d %s, want 502", w.Code, w.Body)
	}
	failing, err := newCrossNodeHLS(fakeWindow{}, fakeDirectory{err: errors.New("redis down")}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(failing, "/hls/remote/index.m3u8", nil); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("failed lookup: %d %v", w.Code, w.Header())
	}
}

// An ended stream: the directory forgets it when the encoder stops, but its
// node serves its end a while longer (EXT-X-ENDLIST) and players must reach
// it; blocking reloads go along as they are; once that node is gone, the
// stream is simply not live (404, not 502).
func TestCrossNodeHLSPlaysOutAnEndedStream(t *testing.T) {
	var gotQuery string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		io.WriteString(w, "#EXTM3U\n#EXT-X-ENDLIST\n")
	}))
	dir := fakeDirectory{self: "http://self:8080", entries: map[string]mediadir.Entry{"f1": {URL: upstream.URL, Session: "s1"}}}
	h, err := newCrossNodeHLS(fakeWindow{}, dir, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w
	}
	const blocking = "/hls/f1/video1_stream.m3u8?_HLS_msn=9&_HLS_part=3"
	if w := get(blocking); w.Code != 200 || gotQuery != "_HLS_msn=9&_HLS_part=3" {
		t.Fatalf("live: %d, upstream query %q", w.Code, gotQuery)
	}
	delete(dir.entries, "f1") // the stream ended
	if w := get(blocking); w.Code != 200 || !strings.Contains(w.Body.String(), "#EXT-X-ENDLIST") {
		t.Fatalf("ended: %d %s, want the end from the node that had it", w.Code, w.Body)
	}
	upstream.Close()
	if w := get("/hls/f1/index.m3u8"); w.Code != http.StatusNotFound {
		t.Fatalf("ended on a node that is gone: %d %s, want 404", w.Code, w.Body)
	}
	if w := get("/hls/g1/index.m3u8"); w.Code != http.StatusNotFound {
		t.Fatalf("a stream never seen: %d", w.Code)
	}
}

// FuzzSplitHLSPath: whatever path a viewer sends, an accepted one is
// exactly /hls/{id}/{name} with a safe id and a name that cannot leave
// the stream's directory, so the path proxied to another node is the
// one checked.
func FuzzSplitHLSPath(f *testing.F) {
	for _, p := range []string{"/hls/f_1/index.m3u8", "/hls/f_1/../x", "/hls//a", "/hls/a/b/c", "/hls/a/%2e%2e", "/hls/a/\\x"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		id, name, ok := splitHLSPath(p)
		if !ok {
			return
		}
		if "/hls/"+id+"/"+name != p {
			t.Fatalf("splitHLSPath(%q) = %q, %q: not the whole path", p, id, name)
		}
		if id == "" || len(id) > 64 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			t.Fatalf("splitHLSPath(%q): unsafe id %q", p, id)
		}
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
			t.Fatalf("splitHLSPath(%q): unsafe name %q", p, name)
		}
	})
}

// fakePublisher says which fundraisers this node ingests.
type fakePublisher map[string]bool

func (p fakePublisher) Publishing(id string) bool { return p[id] }

// The owner's stream health is answered by the node that ingests the
// stream: another node forwards the request there with the owner's token
// and the hop mark; a stream this node ingests, one live nowhere, an
// already-forwarded request and other paths stay here.
func TestForwardHealth(t *testing.T) {
	var gotAuth, gotHop, gotPath, gotHost string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotHop, gotPath, gotHost = r.Header.Get("Authorization"), r.Header.Get(hopHeader), r.URL.Path, r.Host
		io.WriteString(w, `{"live":true,"warnings":[]}`)
	}))
	defer upstream.Close()
	dir := fakeDirectory{self: "http://self:8080", entries: map[string]mediadir.Entry{
		"remote": {URL: upstream.URL, Session: "s1"},
		"here":   {URL: "http://self:8080", Session: "s0"},
	}}
	h, err := newCrossNodeHLS(fakeWindow{}, dir, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api") })
	fw := h.forwardHealth(fakePublisher{"mine": true}, api)
	get := func(path string, hdr http.Header) string {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer glb_owner")
		for k, v := range hdr {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		fw.ServeHTTP(w, r)
		return w.Body.String()
	}
	if got := get("/api/v1/fundraisers/remote/stream/health", nil); !strings.Contains(got, `"live":true`) {
		t.Fatalf("remote stream's health: %q", got)
	}
	if gotAuth != "Bearer glb_owner" || gotHop != "1" || gotPath != "/api/v1/fundraisers/remote/stream/health" || gotHost != "example.com" {
		t.Fatalf("the ingesting node saw authorization %q, hop %q, path %q, host %q", gotAuth, gotHop, gotPath, gotHost)
	}
	for _, c := range []struct {
		path string
		hdr  http.Header
	}{
		{"/api/v1/fundraisers/mine/stream/health", nil},
		{"/api/v1/fundraisers/here/stream/health", nil},
		{"/api/v1/fundraisers/nowhere/stream/health", nil},
		{"/api/v1/fundraisers/remote/stream/health", http.Header{"X-Givelive-Hop": {"1"}}},
		{"/api/v1/fundraisers/remote/ingest", nil},
		{"/api/v1/fundraisers/a/b/stream/health", nil},
	} {
		if got := get(c.path, c.hdr); got != "api" {
			t.Errorf("%s: forwarded (%q), want this node's API", c.path, got)
		}
	}
}

// Viewers of this node held on the same part of another node's stream
// share one request to that node (blocking reloads go along as they are,
// never polled); each gets the answer, with its own hold in Server-Timing;
// finished files are then served from this node's cache.
func TestCrossNodeHLSSharesHeldRequests(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RequestURI())
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, ".m3u8") {
			<-release
			w.Header().Set("Server-Timing", "hold;dur=100.000")
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			io.WriteString(w, "#EXTM3U\n#EXT-X-PART:DURATION=0.2,URI=\"p1.mp4\"\n")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
		io.WriteString(w, "part")
	}))
	defer upstream.Close()
	dir := fakeDirectory{self: "http://self:8080", entries: map[string]mediadir.Entry{"f1": {URL: upstream.URL, Session: "s1"}}}
	reg := prometheus.NewRegistry()
	h, err := newCrossNodeHLS(fakeWindow{}, dir, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	const viewers = 50
	var wg sync.WaitGroup
	answers := make([]*httptest.ResponseRecorder, viewers)
	for i := range viewers {
		wg.Go(func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", fmt.Sprintf("/hls/f1/video1_stream.m3u8?_HLS_part=3&_HLS_msn=9&viewer=%d", i), nil))
			answers[i] = w
		})
	}
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 1 && counterValue(h.proxied) == viewers {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i, w := range answers {
		if w.Code != 200 || !strings.Contains(w.Body.String(), "p1.mp4") || !strings.HasPrefix(w.Header().Get("Server-Timing"), "hold;dur=") ||
			w.Header().Get("Content-Type") != "application/vnd.apple.mpegurl" {
			t.Fatalf("viewer %d: %d %v %q", i, w.Code, w.Header(), w.Body)
		}
	}
	if len(seen) != 1 || seen[0] != "/hls/f1/video1_stream.m3u8?_HLS_msn=9&_HLS_part=3" {
		t.Fatalf("the ingesting node saw %q, want one blocking request", seen)
	}
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/hls/f1/p1.mp4", nil))
		if w.Code != 200 || w.Body.String() != "part" || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
			t.Fatalf("part: %d %v", w.Code, w.Header())
		}
	}
	if len(seen) != 2 {
		t.Fatalf("the ingesting node saw %q: a finished part fetched more than once", seen)
	}
	if n := counterValue(h.upstream); n != 2 {
		t.Fatalf("upstream requests %v, want 2", n)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
