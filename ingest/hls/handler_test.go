package hls_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/hls"
)

func TestPlaylistHeaders(t *testing.T) {
	h := newHarness(t, hls.Config{})
	st := h.srv.Begin("f1")
	st.Append(seg(0, 2*time.Second))

	r := h.get("/hls/f1/index.m3u8")
	for k, want := range map[string]string{
		"Content-Type":                  "application/vnd.apple.mpegurl",
		"Cache-Control":                 "no-cache",
		"Access-Control-Allow-Origin":   "*",
		"Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, ETag, Retry-After",
		"Content-Length":                fmt.Sprint(len(r.body)),
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the playlist")
	}
	if r := h.get("/hls/f1/index.m3u8", "If-None-Match", etag); r.code != http.StatusNotModified || r.body != "" {
		t.Fatalf("If-None-Match with the current ETag: %d, want 304", r.code)
	}

	head := h.do(http.MethodHead, "/hls/f1/index.m3u8")
	if head.code != http.StatusOK || head.body != "" || head.header.Get("Content-Length") != fmt.Sprint(len(r.body)) {
		t.Fatalf("HEAD: %d, body %q, Content-Length %q", head.code, head.body, head.header.Get("Content-Length"))
	}

	st.Append(seg(1, 2*time.Second))
	if r := h.get("/hls/f1/index.m3u8", "If-None-Match", etag); r.code != http.StatusOK {
		t.Fatalf("If-None-Match with an old ETag: %d, want 200", r.code)
	}
	st.End()
	if r := h.get("/hls/f1/index.m3u8"); r.header.Get("Cache-Control") != "public, max-age=5" {
		t.Fatalf("ended playlist Cache-Control %q", r.header.Get("Cache-Control"))
	}
}

func TestSegmentHeaders(t *testing.T) {
	h := newHarness(t, hls.Config{})
	st := h.srv.Begin("f1")
	st.Append(seg(0, 2*time.Second))
	path := "/hls/f1/" + segURI(st.Generation(), 0)
	data := string(tsData(0, 1880))

	r := h.get(path)
	if r.code != http.StatusOK || r.body != data {
		t.Fatalf("GET: %d with %d bytes", r.code, len(r.body))
	}
	for k, want := range map[string]string{
		"Content-Type":                "video/mp2t",
		"Cache-Control":               "public, max-age=86400, immutable",
		"Access-Control-Allow-Origin": "*",
		"Accept-Ranges":               "bytes",
		"Content-Length":              "1880",
		"ETag":                        `"` + segURI(st.Generation(), 0) + `"`,
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}

	head := h.do(http.MethodHead, path)
	if head.code != http.StatusOK || head.body != "" || head.header.Get("Content-Length") != "1880" {
		t.Fatalf("HEAD: %d, body %d bytes, Content-Length %q", head.code, len(head.body), head.header.Get("Content-Length"))
	}

	rg := h.get(path, "Range", "bytes=188-375")
	if rg.code != http.StatusPartialContent || rg.body != data[188:376] ||
		rg.header.Get("Content-Range") != "bytes 188-375/1880" || rg.header.Get("Content-Type") != "video/mp2t" {
		t.Fatalf("Range: %d, %d bytes, Content-Range %q", rg.code, len(rg.body), rg.header.Get("Content-Range"))
	}
	wantProblem(t, h.get(path, "Range", "bytes=5000-6000"), http.StatusRequestedRangeNotSatisfiable, "the requested range is not satisfiable")

	if r := h.get(path, "If-None-Match", r.header.Get("ETag")); r.code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", r.code)
	}
	if got := h.metric("givelive_hls_bytes_served_total"); got != 1880+188 {
		t.Errorf("bytes_served_total %v, want %v", got, 1880+188)
	}
}

func TestMethods(t *testing.T) {
	h := newHarness(t, hls.Config{})
	h.srv.Begin("f1").Append(seg(0, 2*time.Second))
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

// TestBadPaths answers 404 to every path outside the two shapes, however
// it is dressed up, without reaching a stream.
func TestBadPaths(t *testing.T) {
	h := newHarness(t, hls.Config{})
	st := h.srv.Begin("f1")
	st.Append(seg(0, 2*time.Second))
	gen := st.Generation()
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
		"/hls/f1/" + strings.Repeat("a", 10000) + ".ts",
		"/HLS/f1/index.m3u8",
		"/hls/f1/INDEX.M3U8",
		"/other/f1/index.m3u8",
		"/hls/f1/index.m3u",
		"/hls/f1/" + gen + "-00.ts",
		"/hls/f1/" + gen + "-+0.ts",
		"/hls/f1/" + gen + "-0.TS",
		"/hls/f1/" + gen + "0.ts",
		"/hls/f1/-0.ts",
		"/hls/f1/" + gen + "-.ts",
		"/hls/f1/" + gen + "-99999999999999999999999.ts",
		"/hls/f1/" + strings.ToUpper(gen) + "-0.ts",
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
	// An id of 64 characters is fine; one never begun is not live.
	wantProblem(t, h.get("/hls/"+strings.Repeat("a", 64)+"/index.m3u8"), http.StatusNotFound, "no stream is live for this fundraiser")
	// A well-formed but wrong generation is a segment from an earlier stream.
	wantProblem(t, h.get("/hls/f1/0123456789abcdef-0.ts"), http.StatusNotFound, "segment has left the live window")
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

// getAsync fetches path in a goroutine, returning the channel its response
// arrives on.
func (h *harness) getAsync(ctx context.Context, path string) <-chan response {
	ch := make(chan response, 1)
	go func() { ch <- doRequestContext(h.t, ctx, h.http, http.MethodGet, path) }()
	return ch
}

func TestFirstSegmentWait(t *testing.T) {
	t.Run("released by Append", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		st := h.srv.Begin("f1")
		resp := h.getAsync(context.Background(), "/hls/f1/index.m3u8")
		<-h.started
		st.Append(seg(0, 2*time.Second))
		r := <-resp
		if r.code != http.StatusOK {
			t.Fatalf("%d %s", r.code, r.body)
		}
		if p := parsePlaylist(t, r.body); len(p.entries) != 1 {
			t.Fatalf("%d segments, want 1", len(p.entries))
		}
		if res := <-h.results; res != "segment" {
			t.Fatalf("wait result %q", res)
		}
		if got := h.metric("givelive_hls_waits_total", "result", "segment"); got != 1 {
			t.Fatalf("waits_total{segment} %v", got)
		}
	})
	t.Run("not released by a restart without a segment", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		h.srv.Begin("f1")
		resp := h.getAsync(context.Background(), "/hls/f1/index.m3u8")
		<-h.started
		st := h.srv.Begin("f1") // publishes a new snapshot, still empty
		st.Append(seg(0, 2*time.Second))
		if r := <-resp; r.code != http.StatusOK {
			t.Fatalf("%d %s", r.code, r.body)
		}
	})
	t.Run("released by End", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		st := h.srv.Begin("f1")
		resp := h.getAsync(context.Background(), "/hls/f1/index.m3u8")
		<-h.started
		st.End()
		wantProblem(t, <-resp, http.StatusNotFound, "the stream ended before its first segment was ready")
		if res := <-h.results; res != "ended" {
			t.Fatalf("wait result %q", res)
		}
		// Later requests do not wait.
		wantProblem(t, h.get("/hls/f1/index.m3u8"), http.StatusNotFound, "the stream ended before its first segment was ready")
	})
	t.Run("times out", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: 20 * time.Millisecond})
		h.srv.Begin("f1")
		r := h.get("/hls/f1/index.m3u8")
		wantProblem(t, r, http.StatusServiceUnavailable, "")
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q, want 1", r.header.Get("Retry-After"))
		}
		if res := <-h.results; res != "timeout" {
			t.Fatalf("wait result %q", res)
		}
		if got := h.metric("givelive_hls_requests_total", "kind", "playlist", "code", "503"); got != 1 {
			t.Errorf("requests_total{playlist,503} %v, want 1", got)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		h.srv.Begin("f1")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.http.URL+"/hls/f1/index.m3u8", nil)
			resp, err := h.http.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-h.started
		cancel()
		if err := <-done; err == nil {
			t.Fatal("canceled request succeeded")
		}
		if res := <-h.results; res != "canceled" {
			t.Fatalf("wait result %q", res)
		}
		if got := h.metric("givelive_hls_requests_total", "kind", "playlist", "code", "499"); got != 1 {
			t.Errorf("requests_total{playlist,499} %v, want 1", got)
		}
	})
	t.Run("released by Close", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		h.srv.Begin("f1")
		resp := h.getAsync(context.Background(), "/hls/f1/index.m3u8")
		<-h.started
		h.srv.Close()
		wantProblem(t, <-resp, http.StatusServiceUnavailable, "")
		if res := <-h.results; res != "closed" {
			t.Fatalf("wait result %q", res)
		}
	})
	t.Run("unknown id does not wait", func(t *testing.T) {
		h := newWaitHarness(t, hls.Config{FirstSegmentWait: time.Minute})
		wantProblem(t, h.get("/hls/nope/index.m3u8"), http.StatusNotFound, "no stream is live for this fundraiser")
		if len(h.started) != 0 {
			t.Fatal("waited for an unknown id")
		}
	})
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, hls.Config{})
	st := h.srv.Begin("f1")
	h.srv.Begin("f2")
	for i := range 3 {
		st.Append(seg(i, 2*time.Second))
	}
	pl := h.get("/hls/f1/index.m3u8")
	h.get("/hls/f1/" + segURI(st.Generation(), 2))
	h.get("/hls/f1/" + segURI(st.Generation(), 2))
	h.get("/hls/f1/nope.ts")
	h.get("/hls/f3/index.m3u8")
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"givelive_hls_requests_total", []string{"kind", "playlist", "code", "200"}, 1},
		{"givelive_hls_requests_total", []string{"kind", "playlist", "code", "404"}, 1},
		{"givelive_hls_requests_total", []string{"kind", "segment", "code", "200"}, 2},
		{"givelive_hls_requests_total", []string{"kind", "other", "code", "404"}, 1},
		{"givelive_hls_segments_total", nil, 3},
		{"givelive_hls_bytes_served_total", nil, float64(len(pl.body) + 2*1880)},
		{"givelive_hls_streams", nil, 2},
		{"givelive_hls_window_bytes", nil, 3 * 1880},
	} {
		if got := h.metric(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}
