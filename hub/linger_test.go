package hub

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

func TestWriterParksThenRetires(t *testing.T) {
	h, err := New(Config{WriterLinger: 300 * time.Millisecond, ViewerInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer func() {
		h.Shutdown(context.Background())
		srv.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws",
		&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	state := func() (writing, parked bool) {
		c := h.allConns()[0]
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.writing, c.parked
	}
	read := func() {
		if _, _, err := ws.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ws.Write(ctx, websocket.MessageText, []byte(`{"op":"subscribe","room":"f_l"}`))
	read()
	for range 3 { // steady traffic: the same writer parks and is woken
		h.Publish(ctx, "f_l", wire.TypeShoutout, wire.ShoutoutData{Text: "x"})
		read()
		for w, p := state(); !(w && p); w, p = state() {
			if ctx.Err() != nil {
				t.Fatal("the writer did not park after its queue emptied")
			}
			time.Sleep(time.Millisecond)
		}
	}
	for w, _ := state(); w; w, _ = state() { // then quiet: retired
		if ctx.Err() != nil {
			t.Fatal("a parked writer was never retired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.Publish(ctx, "f_l", wire.TypeShoutout, wire.ShoutoutData{Text: "after"})
	read() // a new writer starts for the next event
}

// A writer retired by the watchdog must exit even if, before it wakes, an
// event arrives and a new writer takes over the connection: otherwise two
// writers would write one connection's frames out of order.
func TestRetiredWriterExitsWhenNewOneStarted(t *testing.T) {
	c := queueConn(t, Config{WriterLinger: time.Hour}) // no socket: the old writer must not write at all
	c.writing = true
	done := make(chan struct{})
	go func() { defer close(done); c.writeLoop() }()
	for {
		c.mu.Lock()
		parked := c.parked
		c.mu.Unlock()
		if parked {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.mu.Lock()
	c.writing = false // the watchdog retires it…
	c.unpark(false)
	start, _ := c.push(&event{typ: wire.TypeChat, recoverable: true, frame: []byte(`{}`)})
	c.mu.Unlock() // …and a new event would start a new writer (not started here)
	if !start {
		t.Fatal("push after a retire did not ask for a new writer")
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the retired writer did not exit")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) != 1 {
		t.Fatal("the retired writer took the new writer's event")
	}
}
