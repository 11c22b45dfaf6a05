package hls_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/hls"
)

// streamKey is the secret in the upstream path.
const streamKey = "sk_9f8e7d6c5b4a3210"

// A mediamtx-like HLS muxer's answers (fMP4 variant, low latency).
const (
	multivariant = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-STREAM-INF:BANDWIDTH=2400000,AVERAGE-BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000
video1_stream.m3u8
`
	upstreamMedia = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.60000,CAN-SKIP-UNTIL=12.00000
#EXT-X-PART-INF:PART-TARGET=0.20000
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-MAP:URI="3f2a_video1_init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T20:15:03.120Z
#EXTINF:2.00000,
3f2a_video1_seg7.mp4
#EXT-X-PART:DURATION=0.20000,URI="3f2a_video1_part40.mp4",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="3f2a_video1_part41.mp4"
`
)

var segmentBytes = bytes.Repeat([]byte("fmp4-segment-bytes."), 100)

// upstream mimics mediamtx's HLS server for live/streamKey, with hostile
// headers on every answer; routes override or add answers by path.
type upstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []*http.Request
	routes   map[string]http.HandlerFunc
}

func newUpstream(t *testing.T, prefix string) *upstream {
	t.Helper()
	u := &upstream{routes: map[string]http.HandlerFunc{}}
	dir := prefix + "/live/" + streamKey + "/"
	text := func(ct, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			fmt.Fprint(w, body)
		}
	}
	u.routes[dir+"index.m3u8"] = text("application/vnd.apple.mpegurl", multivariant)
	u.routes[dir+"video1_stream.m3u8"] = text("application/vnd.apple.mpegurl", upstreamMedia)
	u.routes[dir+"3f2a_video1_seg7.mp4"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", `"3f2a-7"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(segmentBytes))
	}
	u.routes[dir+"leaky_seg.mp4"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", `"`+streamKey+`"`)
		w.Header().Set("Cache-Control", "max-age=60, path=/live/"+streamKey)
		w.Write(segmentBytes)
	}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.requests = append(u.requests, r)
		route := u.routes[r.URL.Path]
		u.mu.Unlock()
		h := w.Header()
		h.Set("Server", "mediamtx")
		h.Set("Location", u.srv.URL+dir+"index.m3u8")
		h.Set("Set-Cookie", "path=live/"+streamKey)
		h.Set("X-Stream-Path", "live/"+streamKey)
		h.Set("Access-Control-Allow-Origin", "https://mediamtx.example")
		if route == nil {
			http.Error(w, "path 'live/"+streamKey+"' is not ready", http.StatusNotFound)
			return
		}
		route(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) route(path string, h http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.routes[path] = h
}

func (u *upstream) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests[len(u.requests)-1]
}

// pathFunc resolves f1 to mediamtx's live/streamKey.
func pathFunc(_ context.Context, id string) (string, error) {
	switch id {
	case "f1":
		return "live/" + streamKey, nil
	case "broken":
		return "", errors.New("database is down")
	case "dotdot":
		return "live/../" + streamKey, nil
	}
	return "", fmt.Errorf("fundraiser %s: %w", id, hls.ErrNotFound)
}

// newProxyFront serves a Proxy to up on loopback.
// Its log, if logs is not nil, goes there.
func newProxyFront(t *testing.T, upstreamURL string, logs *syncBuffer) *httptest.Server {
	t.Helper()
	u, err := url.Parse(upstreamURL)
	if err != nil {
		t.Fatal(err)
	}
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	p, err := hls.NewProxy(u, pathFunc, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	return front
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noKey checks the stream key appears nowhere in a response.
func noKey(t *testing.T, what string, r response) {
	t.Helper()
	if strings.Contains(r.body, streamKey) {
		t.Errorf("%s: the stream key is in the body:\n%s", what, r.body)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			if strings.Contains(k+v, streamKey) || strings.Contains(k+v, "live/") {
				t.Errorf("%s: the stream key is in header %s: %s", what, k, v)
			}
		}
	}
	if r.header.Get("Location") != "" || r.header.Get("Set-Cookie") != "" || r.header.Get("X-Stream-Path") != "" {
		t.Errorf("%s: upstream headers forwarded: %v", what, r.header)
	}
}

func TestProxy(t *testing.T) {
	up := newUpstream(t, "")
	front := newProxyFront(t, up.srv.URL, nil)
	get := func(path string, header ...string) response {
		t.Helper()
		r := doRequest(t, front, http.MethodGet, path, header...)
		noKey(t, path, r)
		if r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want *", path, r.header.Get("Access-Control-Allow-Origin"))
		}
		return r
	}

	r := get("/hls/f1/index.m3u8")
	if r.code != http.StatusOK || r.body != multivariant ||
		r.header.Get("Content-Type") != "application/vnd.apple.mpegurl" || r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("multivariant: %d %v\n%s", r.code, r.header, r.body)
	}
	if got := up.last().URL.Path; got != "/live/"+streamKey+"/index.m3u8" {
		t.Fatalf("upstream path %q", got)
	}

	r = get("/hls/f1/video1_stream.m3u8?_HLS_msn=8&_HLS_part=1&jwt=stolen&user=x")
	if r.code != http.StatusOK || r.body != upstreamMedia {
		t.Fatalf("media playlist: %d\n%s", r.code, r.body)
	}
	if q := up.last().URL.Query(); len(q) != 2 || q.Get("_HLS_msn") != "8" || q.Get("_HLS_part") != "1" {
		t.Fatalf("upstream query %v, want only the _HLS_ directives", q)
	}

	r = get("/hls/f1/3f2a_video1_seg7.mp4")
	if r.code != http.StatusOK || r.body != string(segmentBytes) || r.header.Get("Content-Type") != "video/mp4" ||
		r.header.Get("ETag") != `"3f2a-7"` {
		t.Fatalf("segment: %d %v", r.code, r.header)
	}
	r = get("/hls/f1/3f2a_video1_seg7.mp4", "Range", "bytes=0-9")
	if r.code != http.StatusPartialContent || r.body != string(segmentBytes[:10]) ||
		r.header.Get("Content-Range") != fmt.Sprintf("bytes 0-9/%d", len(segmentBytes)) {
		t.Fatalf("range: %d %q %v", r.code, r.body, r.header)
	}
	r = get("/hls/f1/leaky_seg.mp4")
	if r.code != http.StatusOK || r.header.Get("ETag") != "" || r.header.Get("Cache-Control") != "" {
		t.Fatalf("leaky segment: %d %v", r.code, r.header)
	}
	if head := doRequest(t, front, http.MethodHead, "/hls/f1/index.m3u8"); head.code != http.StatusOK || head.body != "" {
		t.Fatalf("HEAD: %d %q", head.code, head.body)
	}

	wantProblem(t, get("/hls/nope/index.m3u8"), http.StatusNotFound, "no stream is live for this fundraiser")
	wantProblem(t, get("/hls/f1/video2_stream.m3u8"), http.StatusNotFound, "no stream is live for this fundraiser") // upstream 404
	wantProblem(t, get("/hls/broken/index.m3u8"), http.StatusServiceUnavailable, "")
	wantProblem(t, get("/hls/dotdot/index.m3u8"), http.StatusBadGateway, "")
	wantProblem(t, get("/hls/f1/../index.m3u8"), http.StatusNotFound, "")
	wantProblem(t, get("/hls/f1/a%2Fb.m3u8"), http.StatusNotFound, "")
	wantProblem(t, doRequest(t, front, http.MethodPost, "/hls/f1/index.m3u8"), http.StatusMethodNotAllowed, "")
	if r := doRequest(t, front, http.MethodOptions, "/hls/f1/index.m3u8"); r.code != http.StatusNoContent {
		t.Fatalf("preflight: %d", r.code)
	}
}

// TestProxyHostileUpstream checks what the proxy does when upstream names
// the key: absolute URIs are made relative, anything else is refused.
func TestProxyHostileUpstream(t *testing.T) {
	up := newUpstream(t, "/mtx")
	logs := &syncBuffer{}
	front := newProxyFront(t, up.srv.URL+"/mtx/", logs)
	dir := "/mtx/live/" + streamKey + "/"
	up.route(dir+"absolute.m3u8", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "#EXTM3U\n#EXT-X-MAP:URI=\"%[1]s%[2]sinit.mp4\"\n#EXTINF:2.0,\n%[1]s%[2]sseg1.mp4\n#EXTINF:2.0,\n%[2]sseg2.mp4\n",
			up.srv.URL, dir)
	})
	up.route(dir+"named.m3u8", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "#EXTM3U\n#X-SOURCE:%s\n", streamKey)
	})
	up.route(dir+"redirect.m3u8", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, dir+"index.m3u8", http.StatusFound)
	})
	up.route(dir+"error.m3u8", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "muxer for live/"+streamKey+" crashed", http.StatusInternalServerError)
	})

	r := doRequest(t, front, http.MethodGet, "/hls/f1/absolute.m3u8")
	noKey(t, "absolute", r)
	if want := "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg1.mp4\n#EXTINF:2.0,\nseg2.mp4\n"; r.code != http.StatusOK || r.body != want {
		t.Fatalf("absolute URIs: %d\n%s\nwant\n%s", r.code, r.body, want)
	}
	if got := up.last().URL.Path; got != dir+"absolute.m3u8" {
		t.Fatalf("upstream path %q, want it under the upstream's base path", got)
	}
	for _, name := range []string{"named.m3u8", "redirect.m3u8", "error.m3u8"} {
		r := doRequest(t, front, http.MethodGet, "/hls/f1/"+name)
		noKey(t, name, r)
		wantProblem(t, r, http.StatusBadGateway, "the media server gave an unexpected answer")
	}
	if l := logs.String(); strings.Contains(l, streamKey) || !strings.Contains(l, "unexpected upstream status") {
		t.Fatalf("log names the key, or lacks the refusals:\n%s", l)
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	logs := &syncBuffer{}
	front := newProxyFront(t, down.URL, logs)
	r := doRequest(t, front, http.MethodGet, "/hls/f1/index.m3u8")
	noKey(t, "down", r)
	wantProblem(t, r, http.StatusBadGateway, "the media server is unavailable")
	if l := logs.String(); strings.Contains(l, streamKey) || !strings.Contains(l, "upstream request failed") {
		t.Fatalf("log names the key, or lacks the failure:\n%s", l)
	}
}

func TestNewProxyErrors(t *testing.T) {
	for _, raw := range []string{"ftp://h/", "http://", "http://h/?x=1", "http://u:p@h/", "/relative"} {
		u, _ := url.Parse(raw)
		if p, err := hls.NewProxy(u, pathFunc, nil); err == nil {
			p.Close()
			t.Errorf("NewProxy(%q) accepted", raw)
		}
	}
	if _, err := hls.NewProxy(nil, pathFunc, nil); err == nil {
		t.Error("NewProxy(nil) accepted")
	}
	u, _ := url.Parse("http://h")
	if _, err := hls.NewProxy(u, nil, nil); err == nil {
		t.Error("NewProxy without a PathFunc accepted")
	}
}
