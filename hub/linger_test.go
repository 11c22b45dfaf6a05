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
