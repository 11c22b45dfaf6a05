package hls_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/hls"
)

// BenchmarkHeldPlayers holds players on the next part over loopback
// HTTP/1.1 (one connection each), as hls.js at the live edge does; each
// iteration makes one part and waits until every player has it and is held
// on the next. The time per iteration is what delivering a part to all of
// them costs, server and clients in one process.
func BenchmarkHeldPlayers(b *testing.B) {
	for _, players := range []int{100, 1000} {
		b.Run(fmt.Sprint(players), func(b *testing.B) { benchHeld(b, players) })
	}
}

func benchHeld(b *testing.B, players int) {
	srv, err := hls.NewServer(hls.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	web := &http.Server{Handler: srv}
	ln, url := listen(b)
	go func() { _ = web.Serve(ln) }()
	defer web.Close()
	st, err := srv.Begin("f1", testTracks())
	if err != nil {
		b.Fatal(err)
	}
	src := &source{tb: b, st: st, gop: 60}
	src.advance(3 * time.Second)

	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	got := 0 // answers for the current part
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range players {
		tr := &http.Transport{MaxIdleConnsPerHost: 1}
		c := &http.Client{Transport: tr}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			pos := ""
			for ctx.Err() == nil {
				body := fetch(ctx, c, url+video+pos)
				if body == "" {
					return
				}
				pos = nextPosition(body)
				mu.Lock()
				got++
				cond.Broadcast()
				mu.Unlock()
			}
		})
	}
	wait := func(n int) {
		mu.Lock()
		for got < n {
			cond.Wait()
		}
		got = 0
		mu.Unlock()
	}
	wait(players) // everyone has a first playlist and is held
	b.ResetTimer()
	for range b.N {
		src.advance(200 * time.Millisecond)
		wait(players)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(players), "µs/player/part")
	cancel()
	src.st.End()
	wg.Wait()
}

func fetch(ctx context.Context, c *http.Client, url string) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := c.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// listen opens a loopback listener and returns it with its base URL.
func listen(tb testing.TB) (net.Listener, string) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

// nextPosition is the blocking query for the part after the last one a
// live media playlist lists, read without regular expressions (the clients
// here must cost little beside the server).
func nextPosition(body string) string {
	seq, segments, trailing := 0, 0, 0
	for len(body) > 0 {
		var l string
		l, body, _ = strings.Cut(body, "\n")
		switch {
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.Atoi(l[len("#EXT-X-MEDIA-SEQUENCE:"):])
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			trailing++
		case l != "" && l[0] != '#':
			segments++
			trailing = 0
		}
	}
	return "?_HLS_msn=" + strconv.Itoa(seq+segments) + "&_HLS_part=" + strconv.Itoa(trailing)
}
