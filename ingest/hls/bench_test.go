package hls_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/hls"
)

// discardWriter is a ResponseWriter that keeps one header map across
// requests, as a server connection effectively does, so the benchmarks
// measure the handler rather than the recorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header  { return w.h }
func (w *discardWriter) WriteHeader(code int) { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

// liveServer is a Server with one stream and a full window of 6 segments of
// 1 MB (a 4 Mb/s stream cut every 2 s).
func liveServer(tb testing.TB) (*hls.Server, string) {
	tb.Helper()
	s, err := hls.NewServer(hls.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	st := s.Begin("f1")
	for i := range 6 {
		g := seg(i, 2*time.Second)
		g.Data = tsData(i, 1<<20)
		st.Append(g)
	}
	return s, "/hls/f1/" + segURI(st.Generation(), 5)
}

func benchServe(b *testing.B, path string, s *hls.Server) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			w.code = 0
			s.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkServePlaylist(b *testing.B) {
	s, _ := liveServer(b)
	benchServe(b, "/hls/f1/index.m3u8", s)
}

func BenchmarkServeSegment(b *testing.B) {
	s, path := liveServer(b)
	benchServe(b, path, s)
}

// BenchmarkServeSegmentLoopback fetches a 1 MB segment over real HTTP/1.1
// keep-alive connections on loopback, client and server in one process.
func BenchmarkServeSegmentLoopback(b *testing.B) {
	s, path := liveServer(b)
	hs := httptest.NewServer(s)
	b.Cleanup(hs.Close)
	hs.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 64<<10)
		for pb.Next() {
			resp, err := hs.Client().Get(hs.URL + path)
			if err != nil {
				b.Error(err)
				return
			}
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkServePlaylistLoopback polls the playlist over real HTTP/1.1
// keep-alive connections on loopback, client and server in one process, 16
// pollers per CPU (loopback latency, not CPU, bounds fewer).
func BenchmarkServePlaylistLoopback(b *testing.B) {
	s, _ := liveServer(b)
	hs := httptest.NewServer(s)
	b.Cleanup(hs.Close)
	hs.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hs.Client().Get(hs.URL + "/hls/f1/index.m3u8")
			if err != nil {
				b.Error(err)
				return
			}
			var buf [1024]byte
			for {
				if _, err := resp.Body.Read(buf[:]); err != nil {
					break
				}
			}
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// TestServeAllocs holds the hot paths, a playlist poll and a whole-segment
// GET, to zero allocations in the handler.
func TestServeAllocs(t *testing.T) {
	s, segPath := liveServer(t)
	for _, path := range []string{"/hls/f1/index.m3u8", segPath} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		w := &discardWriter{h: http.Header{}}
		s.ServeHTTP(w, req) // fills the header map once
		if n := testing.AllocsPerRun(100, func() { s.ServeHTTP(w, req) }); n != 0 {
			t.Errorf("GET %s: %v allocations, want 0", path, n)
		}
	}
}
