package hub

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// queueConn is a connection without a socket whose write side is held, so
// tests can look at what its queue keeps.
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

// testEvent frames payload as a room event.
func testEvent(room, typ string, offset uint64, payload string) *event {
	fb := newFrameBuilder(len(payload))
	fb.buf = append(fb.buf, payload...)
	ev := newEvent(fb)
	ev.room, ev.typ, ev.offset, ev.recoverable = room, typ, offset, offset > 0
	return ev
}

func volatile(room, typ, payload string) *event { return testEvent(room, typ, 0, payload) }

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
	if got := string(c.queue[0].payload()); got != `{"count":2}` {
		t.Fatalf("room f_a has %s queued, want the latest count", got)
	}
}

func TestVolatileDroppedWhenHalfFullRecoverableCloses(t *testing.T) {
	c := queueConn(t, Config{QueueBytes: 100})
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.push(testEvent("f_a", wire.TypeChat, 1, string(make([]byte, 45)))); r != needKick {
		t.Fatal("a recoverable event that fits was refused")
	}
	if r := c.push(volatile("f_a", wire.TypeSticker, string(make([]byte, 10)))); r != delivered || len(c.queue) != 1 {
		t.Fatalf("a sticker over half the queue was queued (%d events)", len(c.queue))
	}
	if r := c.push(testEvent("f_a", wire.TypeChat, 2, string(make([]byte, 56)))); r != overflowed {
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
		for i := range 5 {
			c.push(testEvent("f_a", wire.TypeChat, uint64(i+1), string(make([]byte, 30))))
		}
		if n, _ := c.batchLen(); n != tc.n {
			t.Errorf("%s: batch of %d, want %d", tc.name, n, tc.n)
		}
		c.queue = []*event{testEvent("f_a", wire.TypeChat, 9, string(make([]byte, 500)))}
		if n, _ := c.batchLen(); n != 1 {
			t.Errorf("%s: an event larger than the frame cap must still go out alone", tc.name)
		}
		c.queue = []*event{testEvent("f_a", wire.TypeChat, 1, "{}"), controlEvent(controlFrame(opPing, nil)), testEvent("f_a", wire.TypeChat, 2, "{}")}
		if n, _ := c.batchLen(); n != 1 {
			t.Errorf("%s: a control frame was packed with an event", tc.name)
		}
		c.queue = c.queue[1:]
		if n, _ := c.batchLen(); n != 1 {
			t.Errorf("%s: a control frame was packed with an event", tc.name)
		}
		c.mu.Unlock()
	}
}

// Several queued events go out as one text frame, joined by newlines.
func TestPackFrame(t *testing.T) {
	batch := []*event{testEvent("f", wire.TypeChat, 1, `{"a":1}`), testEvent("f", wire.TypeChat, 2, `{"b":2}`)}
	f := packFrame(nil, batch)
	if got := string(readServerFrame(t, f)); got != "{\"a\":1}\n{\"b\":2}" {
		t.Fatalf("packed %q", got)
	}
}
