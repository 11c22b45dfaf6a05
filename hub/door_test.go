package hub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// One address may hold at most MaxConnsPerAddr open WebSockets; the next
// handshake is refused with 429, and a slot frees when a connection ends.
func TestOpenWebSocketsPerAddressAreCapped(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.MaxConnsPerAddr = 2 })
	a, b := s.dial(t, ""), s.dial(t, "")
	if status := handshakeStatus(t, s); status != http.StatusTooManyRequests {
		t.Fatalf("third handshake answered %d, want 429", status)
	}
	if n := metricValue(t, s, "givelive_hub_handshake_refusals_total"); n < 1 {
		t.Fatalf("refusals counted: %v", n)
	}
	a.ws.Close(websocket.StatusNormalClosure, "")
	waitMetric(t, s, "givelive_hub_connections", 1)
	c := s.dial(t, "")
	c.subscribe("f_cap", nil)
	b.subscribe("f_cap", nil)
}

// The address counted is the one the server in front says the client has
// (hub.WithClientAddr), so clients behind one proxy are told apart; IPv6
// addresses count by their /64.
func TestClientAddrFromContext(t *testing.T) {
	h, err := hub.New(hub.Config{MaxConnsPerAddr: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	from := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(hub.WithClientAddr(r.Context(), from)))
	}))
	t.Cleanup(srv.Close)
	dial := func(addr string) error {
		from = addr
		ws, _, err := websocket.Dial(context.Background(), "ws"+srv.URL[4:]+"/ws",
			&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
		if err == nil {
			t.Cleanup(func() { ws.CloseNow() })
		}
		return err
	}
	for _, addr := range []string{"203.0.113.7", "203.0.113.8", "2001:db8:1:2::1"} {
		if err := dial(addr); err != nil {
			t.Fatalf("first WebSocket from %s refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"203.0.113.7", "2001:db8:1:2:ffff::9"} {
		if err := dial(addr); err == nil {
			t.Fatalf("second WebSocket from %s accepted", addr)
		}
	}
}

func handshakeStatus(t *testing.T, s *server) int {
	t.Helper()
	_, res, err := websocket.Dial(context.Background(), s.url+"/ws",
		&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err == nil {
		t.Fatal("handshake accepted")
	}
	if res == nil {
		t.Fatalf("no response: %v", err)
	}
	return res.StatusCode
}
