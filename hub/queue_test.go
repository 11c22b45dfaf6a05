package hub

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// queueConn is a connection whose writer is held off, so tests can look at
// what its queue keeps.
func queueConn(t *testing.T, cfg Config) *Conn {
	t.Helper()
	cfg.ViewerInterval, cfg.PingInterval = time.Hour, time.Hour
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown(t.Context()) })
	c := newConn(h, nil, Identity{})
	c.writing = true
	return c
}

func volatile(room, typ, frame string) *event {
	return &event{room: room, typ: typ, frame: []byte(frame)}
}

func TestViewerCountsCoalesce(t *testing.T) {
	c := queueConn(t, Config{})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.push(volatile("f_a", wire.TypeViewers, `{"count":1}`))
	c.push(volatile("f_b", wire.TypeViewers, `{"count":7}`))
	c.push(volatile("f_a", wire.TypeViewers, `{"count":2}`))
	if len(c.queue) != 2 {
		t.Fatalf("%d queued, want 2 (one per room)", len(c.queue))
	}
	if got := string(c.queue[0].frame); got != `{"count":2}` {
		t.Fatalf("room f_a has %s queued, want the latest count", got)
	}
}

func TestVolatileDroppedWhenHalfFullRecoverableCloses(t *testing.T) {
	c := queueConn(t, Config{QueueBytes: 100})
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := &event{room: "f_a", typ: wire.TypeChat, recoverable: true, frame: make([]byte, 45)}
	if _, ok := c.push(rec); !ok {
		t.Fatal("a recoverable event that fits was refused")
	}
	if _, ok := c.push(volatile("f_a", wire.TypeSticker, string(make([]byte, 10)))); !ok || len(c.queue) != 1 {
		t.Fatalf("a sticker over half the queue was queued (%d events)", len(c.queue))
	}
	if _, ok := c.push(&event{room: "f_a", typ: wire.TypeChat, recoverable: true, frame: make([]byte, 56)}); ok {
		t.Fatal("a recoverable event over the limit was accepted instead of overflowing")
	}
}

func TestBatchRespectsFrameLimits(t *testing.T) {
	cases := []struct {
		name             string
		bytes, events, n int
	}{
		{"event cap", 100, 3, 3},
		{"byte cap", 100, 10, 3}, // 3×30 + 2 newlines = 92; a fourth would pass 100
	}
	for _, tc := range cases {
		c := queueConn(t, Config{FrameBytes: tc.bytes, FrameEvents: tc.events})
		c.mu.Lock()
		for range 5 {
			c.push(&event{typ: wire.TypeChat, recoverable: true, frame: make([]byte, 30)})
		}
		if n, _ := c.batchLen(); n != tc.n {
			t.Errorf("%s: batch of %d, want %d", tc.name, n, tc.n)
		}
		c.queue = []*event{{frame: make([]byte, 500)}}
		if n, _ := c.batchLen(); n != 1 {
			t.Errorf("%s: an event larger than the frame cap must still go out alone", tc.name)
		}
		c.mu.Unlock()
	}
}
