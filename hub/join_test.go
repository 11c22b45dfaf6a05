package hub_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// raceBroker publishes into the room while a subscribe reads its history:
// one event just before the history is read (it must be in the reply, and
// only there) and one just after (it must come live, right after the reply).
// This pins the join/History/finishJoin order deterministically instead of
// hoping a background publisher hits a microsecond window.
type raceBroker struct {
	*hub.MemoryBroker
	armed atomic.Bool
}

func (b *raceBroker) History(ctx context.Context, room string, since *wire.Position) (hub.History, error) {
	if !b.armed.CompareAndSwap(true, false) {
		return b.MemoryBroker.History(ctx, room, since)
	}
	pub := func() {
		b.MemoryBroker.Publish(ctx, room, hub.Publication{Type: wire.TypeShoutout, Data: []byte(`{}`)})
	}
	pub()
	h, err := b.MemoryBroker.History(ctx, room, since)
	pub()
	return h, err
}

func TestSubscribeOrderAroundHistoryRead(t *testing.T) {
	for _, withSince := range []bool{false, true} {
		b := &raceBroker{MemoryBroker: hub.NewMemoryBroker(hub.MemoryConfig{})}
		s := newServer(t, func(c *hub.Config) { c.Broker = b })
		room := "f_race"
		p0 := publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: "0"}) // offset 1
		c := s.dial(t, "")
		cmd := map[string]any{"op": "subscribe", "room": room, "id": 1}
		if withSince {
			cmd["since"] = p0
		}
		b.armed.Store(true)
		c.send(cmd)
		// Read raw, in arrival order: nothing of the room may precede the reply.
		r := c.receive()
		if r.Op != "reply" || !r.OK {
			t.Fatalf("first message %s, want the subscribe reply", r.raw)
		}
		if r.Offset != 2 {
			t.Fatalf("reply offset %d, want 2", r.Offset)
		}
		if withSince && (len(r.Events) != 1 || decode[message](t, r.Events[0]).Offset != 2) {
			t.Fatalf("recovered %d events, want exactly offset 2", len(r.Events))
		}
		publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: "4"})
		for want := uint64(3); want <= 4; want++ {
			m := c.nextOf(isEvent(wire.TypeShoutout))
			if m.Offset != want {
				t.Fatalf("since=%v: live offset %d, want %d", withSince, m.Offset, want)
			}
		}
	}
}
