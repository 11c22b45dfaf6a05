package hub_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// dialProtocols dials /ws offering protocols, with no token in the URL.
func (s *server) dialProtocols(t *testing.T, protocols ...string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.url+"/ws", &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if got := ws.Subprotocol(); got != wire.Subprotocol {
		t.Fatalf("the server selected subprotocol %q, want %q", got, wire.Subprotocol)
	}
	ws.SetReadLimit(1 << 24)
	c := &client{t: t, ws: ws, msgs: make(chan message, 1000), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { c.ws.CloseNow(); <-c.done })
	return c
}

// TestTokenInSubprotocol: a browser can send its token in the
// Sec-WebSocket-Protocol header instead of the URL; the server selects
// givelive.v1 only, and a bad token there is refused like one in the URL.
func TestTokenInSubprotocol(t *testing.T) {
	s := newServer(t, nil)
	host := s.dialProtocols(t, wire.Subprotocol, wire.TokenSubprotocolPrefix+"b:b1:Host")
	watcher := s.dial(t, "")
	watcher.subscribe("f_1", nil)
	host.subscribe("f_1", nil)
	if r := host.cmd(map[string]any{"op": "chat", "room": "f_1", "text": "hello from the studio"}); !r.OK {
		t.Fatalf("chat with a subprotocol token: %+v", r.Error)
	}
	ev := watcher.nextOf(isEvent(wire.TypeChat))
	var chat wire.ChatData
	if err := json.Unmarshal(ev.Data, &chat); err != nil || chat.User.ID != "b1" || chat.User.Name != "Host" {
		t.Fatalf("chat event %s (%v): want it from b1 Host", ev.Data, err)
	}

	bad := s.dialProtocols(t, wire.Subprotocol, wire.TokenSubprotocolPrefix+"not-a-token")
	if code := bad.closeCode(); code != wire.CloseBadToken {
		t.Fatalf("bad subprotocol token: close %d, want %d", code, wire.CloseBadToken)
	}
}
