package hub_test

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

func waitMetric(t *testing.T, s *server, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for metricValue(t, s, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, metricValue(t, s, name), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Parallel fan-out, with a tiny threshold so a small room takes that path.
func TestParallelFanoutReachesEveryone(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.ParallelFanout = 2 })
	room := "f_par"
	clients := make([]*client, 7)
	for i := range clients {
		clients[i] = s.dial(t, "")
		clients[i].subscribe(room, nil)
	}
	publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: "all"})
	for _, c := range clients {
		if m := c.nextOf(isEvent(wire.TypeShoutout)); m.Offset != 1 {
			t.Fatalf("offset %d", m.Offset)
		}
	}
}

// Unsubscribe, and connections ending, must take the viewer out of the room.
func TestUnsubscribeAndCloseLeaveRooms(t *testing.T) {
	s := newServer(t, nil)
	a, b := s.dial(t, ""), s.dial(t, "")
	a.subscribe("f_u", nil)
	b.subscribe("f_u", nil)
	if r := a.cmd(map[string]any{"op": "unsubscribe", "room": "f_u"}); !r.OK {
		t.Fatalf("unsubscribe: %s", r.raw)
	}
	publish(t, s.hub, "f_u", wire.TypeShoutout, wire.ShoutoutData{Text: "after"})
	b.nextOf(isEvent(wire.TypeShoutout))
	if r := a.cmd(map[string]any{"op": "ping"}); !r.OK { // the event would precede this reply
		t.Fatal(r.raw)
	}
	for _, m := range a.backlog {
		if m.Op == "event" && m.Type == wire.TypeShoutout {
			t.Fatalf("unsubscribed connection got %s", m.raw)
		}
	}
	b.ws.CloseNow()
	waitMetric(t, s, "givelive_hub_rooms", 0)
}

// A jump in a live room's offsets (what a lossy cross-node broker could
// deliver) must close with 4000 so the client resumes.
func TestGapOnLiveStreamCloses4000(t *testing.T) {
	s := newServer(t, nil)
	c := s.dial(t, "")
	r := c.subscribe("f_gapped", nil)
	s.hub.HandlePublication("f_gapped", hub.Publication{Type: wire.TypeShoutout, Data: []byte(`{}`), Offset: r.Offset + 2, Epoch: r.Epoch})
	if code := c.closeCode(); code != wire.CloseSlowConsumer {
		t.Fatalf("close code %d, want 4000 on a gap", code)
	}
}

// A peer that never reads never answers pings and must be dropped.
func TestPingTimeoutClosesConnection(t *testing.T) {
	s := newServer(t, func(c *hub.Config) {
		c.PingInterval = 64 * time.Millisecond
		c.PongTimeout = 50 * time.Millisecond
	})
	c, err := s.tryDial("")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ws.CloseNow()
	waitMetric(t, s, "givelive_hub_connections", 1) // registered (after the 101)
	waitMetric(t, s, "givelive_hub_connections", 0)
	if metricValue(t, s, "givelive_hub_ping_timeouts_total") < 1 {
		t.Fatal("dropped, but not for a ping timeout")
	}
}
