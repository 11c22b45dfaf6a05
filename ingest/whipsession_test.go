package ingest

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/hls"
)

type oneKey struct{}

func (oneKey) PublishKey(context.Context, string) (string, error) { return "f1", nil }

// TestWHIPDropCountsUnderLock: an unreadable video frame (the video
// track's goroutine) and a frame the muxer refused (the audio track's)
// are counted at once without a data race (run with -race).
func TestWHIPDropCountsUnderLock(t *testing.T) {
	h, err := hls.NewServer(hls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv, err := New(Config{Keys: oneKey{}, HLS: h})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWHIP(srv, WHIPConfig{UDP: udp})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ws := newWHIPSession(w, "f1", "key", "127.0.0.1:1", offerInfo{})
	const n = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		for range n {
			ws.videoFrame(time.Now(), 0, []byte{1, 2, 3}) // no start code: unreadable
		}
	})
	wg.Go(func() {
		for range n {
			ws.mu.Lock()
			ws.wrote(errors.New("refused by the muxer"))
			ws.mu.Unlock()
		}
	})
	wg.Wait()
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.dropped != 2*n {
		t.Errorf("%d dropped, want %d", ws.dropped, 2*n)
	}
}
