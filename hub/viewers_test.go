package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// dialAs connects with a role in the handshake (?role=…), as the overlay
// and the studio do.
func (s *server) dialAs(t *testing.T, token, role string) *client {
	t.Helper()
	u := s.url + "/ws?role=" + role
	if token != "" {
		u += "&token=" + token
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	c := &client{t: t, ws: ws, msgs: make(chan message, 1000), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { c.ws.CloseNow(); <-c.done })
	return c
}

// TestViewerCountsOnlyViewers: the broadcaster's own connection (the
// studio), an overlay's and a studio's are in the room but are not
// viewers, so the count leaves them out (found: the count included them).
// Another broadcaster watching is a viewer.
func TestViewerCountsOnlyViewers(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.ViewerInterval = 20 * time.Millisecond })
	room := "f_count"
	s.dial(t, "b:b1:Host").subscribe(room, nil)     // the owner (room owner is b1)
	s.dialAs(t, "", "overlay").subscribe(room, nil) // OBS
	s.dialAs(t, "", "studio").subscribe(room, nil)  // a studio signed out
	s.dial(t, "b:b2:Other").subscribe(room, nil)    // another streamer, watching
	first := s.dialAs(t, "", "viewer")              // the default role, said aloud
	first.subscribe(room, nil)
	s.dial(t, "").subscribe(room, nil)
	for {
		v := decode[wire.ViewersData](t, first.nextOf(isEvent(wire.TypeViewers)).Data)
		if v.Count > 3 {
			t.Fatalf("count %d: the studio, the overlay or the owner were counted (3 viewers)", v.Count)
		}
		if v.Count == 3 {
			break
		}
	}
}
