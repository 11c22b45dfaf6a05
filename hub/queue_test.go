package hub

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// queueConn is a connection whose writer is held off, so tests can look at
// what its queue keeps.
func queueConn(t *testing.T, queueBytes int) *Conn {
	t.Helper()
	h, err := New(Config{QueueBytes: queueBytes, ViewerInterval: time.Hour, PingInterval: time.Hour})
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
	c := queueConn(t, 1<<20)
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
	c := queueConn(t, 100)
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
	c := queueConn(t, 1<<20)
	c.hub.cfg.FrameBytes, c.hub.cfg.FrameEvents = 100, 3
	c.mu.Lock()
	defer c.mu.Unlock()
	for range 5 {
		c.push(&event{typ: wire.TypeChat, recoverable: true, frame: make([]byte, 30)})
	}
	if n, _ := c.batchLen(); n != 3 {
		t.Fatalf("batch of %d, want 3 (the event cap)", n)
	}
	c.hub.cfg.FrameEvents = 10
	if n, _ := c.batchLen(); n != 3 { // 3×30 + 2 newlines = 92; a fourth would pass 100
		t.Fatalf("batch of %d, want 3 (the byte cap)", n)
	}
	c.queue = []*event{{frame: make([]byte, 500)}}
	if n, _ := c.batchLen(); n != 1 {
		t.Fatal("an event larger than the frame cap must still go out alone")
	}
}
