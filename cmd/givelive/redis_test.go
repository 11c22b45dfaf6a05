package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/testredis"
)

// TestTwoNodesShareRedis runs two nodes of the real binary on one Redis
// (GIVELIVE_REDIS_URL) and one ledger directory: the viewer count is the
// total over both nodes; a chat sent to node A and a
// donation posted to node A reach a viewer on node B, at the same offsets
// as on A; /readyz says not ready while Redis is down and ready again after
// it returns; the viewers stay connected meanwhile, and are told to resume
// once it is back without their room's history.
func TestTwoNodesShareRedis(t *testing.T) {
	redis := testredis.Start(t)
	bin := buildBinary(t)
	data := t.TempDir()
	env := "GIVELIVE_REDIS_URL=" + redis.URL()
	a := startDemoIn(t, bin, data, freeAddr(t), env)
	b := startDemoIn(t, bin, data, freeAddr(t), env)
	if a.fundraiser != b.fundraiser {
		t.Fatalf("the nodes seeded different demos: %s and %s", a.fundraiser, b.fundraiser)
	}
	room := a.fundraiser

	ada, _ := session(t, a.base, "Ada")
	onA := subscribed(t, a.base, ada, room)
	onB := subscribed(t, b.base, "", room)

	// One viewer on each node: both hear the room's total, 2.
	for name, ws := range map[string]*websocket.Conn{"A": onA, "B": onB} {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			if ev.Type != wire.TypeViewers {
				return false
			}
			var v wire.ViewersData
			_ = json.Unmarshal(ev.Data, &v)
			if v.Count < 2 {
				return false // one node's count, before the other's arrived
			}
			if v.Count != 2 {
				t.Fatalf("node %s heard %d viewers, want 2 (one on each node)", name, v.Count)
			}
			return true
		})
	}

	send(t, onA, map[string]any{"op": "chat", "id": 2, "room": room, "text": "hello from node A"})
	var chatOffset uint64
	readUntil(t, onA, func(ev wire.Event, _ wire.Reply) bool {
		if ev.Type == wire.TypeChat {
			chatOffset = ev.Offset
			return true
		}
		return false
	})
	readUntil(t, onB, func(ev wire.Event, _ wire.Reply) bool {
		if ev.Type != wire.TypeChat {
			return false
		}
		var c wire.ChatData
		_ = json.Unmarshal(ev.Data, &c)
		if c.Text != "hello from node A" || ev.Offset != chatOffset {
			t.Fatalf("node B got chat %s at offset %d, want node A's at %d", ev.Data, ev.Offset, chatOffset)
		}
		return true
	})

	code, id, err := donate(a.base, room, "two-nodes-1", "", 1500, "Grace")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate on A: %d %v", code, err)
	}
	for name, ws := range map[string]*websocket.Conn{"A": onA, "B": onB} {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			if ev.Type != wire.TypeDonation {
				return false
			}
			var d wire.DonationData
			_ = json.Unmarshal(ev.Data, &d)
			if d.ID != id || d.Amount != 1500 {
				t.Fatalf("node %s got donation %s, want %s", name, ev.Data, id)
			}
			return true
		})
	}

	// Redis down: not ready, viewers still connected (they are answered).
	redis.Kill()
	waitStatus(t, a.base+"/readyz", http.StatusServiceUnavailable)
	send(t, onA, map[string]any{"op": "ping", "id": 9})
	readUntil(t, onA, func(_ wire.Event, r wire.Reply) bool { return r.Op == "reply" && r.ID == 9 })
	// Back, but empty: ready again, and since the room's history is gone,
	// each node makes its viewers resume at once (4000) instead of waiting
	// for the room's next event to show the gap.
	redis.Restart()
	waitStatus(t, a.base+"/readyz", http.StatusOK)
	waitStatus(t, b.base+"/readyz", http.StatusOK)
	for name, ws := range map[string]*websocket.Conn{"A": onA, "B": onB} {
		if code := closeCode(t, ws); code != wire.CloseSlowConsumer {
			t.Fatalf("viewer on node %s closed with %d after Redis came back empty, want 4000 (resume)", name, code)
		}
	}
}

// waitStatus polls url until it answers status (readiness follows Redis a
// moment later; the poll is not ordering events, only waiting for a state).
func waitStatus(t *testing.T, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %s", url, status, testTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTwoNodesOnRedisCluster runs two nodes of the binary on a Redis
// Cluster of three masters (GIVELIVE_REDIS_CLUSTER=true): both are ready,
// the viewer count is summed across them, and a donation posted to one
// reaches a viewer on the other at the same offset.
func TestTwoNodesOnRedisCluster(t *testing.T) {
	cluster := testredis.StartCluster(t, 3)
	bin := buildBinary(t)
	data := t.TempDir()
	env := []string{"GIVELIVE_REDIS_URL=" + cluster.URL(), "GIVELIVE_REDIS_CLUSTER=true"}
	a := startDemoIn(t, bin, data, freeAddr(t), env...)
	b := startDemoIn(t, bin, data, freeAddr(t), env...)
	room := a.fundraiser
	waitStatus(t, a.base+"/readyz", http.StatusOK)
	waitStatus(t, b.base+"/readyz", http.StatusOK)

	onA := subscribed(t, a.base, "", room)
	onB := subscribed(t, b.base, "", room)
	for name, ws := range map[string]*websocket.Conn{"A": onA, "B": onB} {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			var v wire.ViewersData
			if ev.Type != wire.TypeViewers || json.Unmarshal(ev.Data, &v) != nil || v.Count < 2 {
				return false
			}
			if v.Count != 2 {
				t.Fatalf("node %s heard %d viewers, want 2", name, v.Count)
			}
			return true
		})
	}
	code, id, err := donate(a.base, room, "cluster-1", "", 2500, "Hedy")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate on A: %d %v", code, err)
	}
	offsets := map[string]uint64{}
	for name, ws := range map[string]*websocket.Conn{"A": onA, "B": onB} {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			var d wire.DonationData
			if ev.Type != wire.TypeDonation || json.Unmarshal(ev.Data, &d) != nil || d.ID != id {
				return false
			}
			offsets[name] = ev.Offset
			return true
		})
	}
	if offsets["A"] != offsets["B"] || offsets["A"] == 0 {
		t.Fatalf("the donation reached node A at offset %d and node B at %d", offsets["A"], offsets["B"])
	}
}
