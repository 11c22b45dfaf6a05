package hub_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/brokertest"
	"github.com/givelive/givelive/hub/wire"
)

func TestMemoryBrokerContract(t *testing.T) {
	brokertest.Run(t, brokertest.Config{
		HistorySize: 10,
		New: func(t *testing.T) hub.Broker {
			return hub.NewMemoryBroker(hub.MemoryConfig{HistorySize: 10})
		},
	})
}

func TestMemoryBrokerHistoryExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := hub.NewMemoryBroker(hub.MemoryConfig{HistoryTTL: time.Minute})
		ctx := context.Background()
		pub := func() wire.Position {
			pos, err := b.Publish(ctx, "f_ttl", hub.Publication{Type: wire.TypeChat, Data: []byte(`{}`), Time: time.Now().UnixMilli()})
			if err != nil {
				t.Fatal(err)
			}
			return pos
		}
		first := pub()
		time.Sleep(40 * time.Second)
		pub()
		time.Sleep(30 * time.Second) // the first is now 70 s old, the second 30 s
		h, _ := b.History(ctx, "f_ttl", &wire.Position{Epoch: first.Epoch, Offset: 1})
		if !h.Recovered || len(h.Publications) != 1 {
			t.Fatalf("gap of the fresh event: recovered=%v n=%d", h.Recovered, len(h.Publications))
		}
		h, _ = b.History(ctx, "f_ttl", &wire.Position{Epoch: first.Epoch, Offset: 0})
		if h.Recovered {
			t.Fatal("recovered a gap whose first event expired")
		}
		if h.Position.Epoch != first.Epoch {
			t.Fatal("epoch changed while the room was in use")
		}
	})
}

func TestMemoryBrokerKeepsSubscribedRoomsEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := hub.NewMemoryBroker(hub.MemoryConfig{HistoryTTL: time.Minute})
		ctx := context.Background()
		if err := b.Subscribe(ctx, "f_quiet"); err != nil {
			t.Fatal(err)
		}
		h1, _ := b.History(ctx, "f_quiet", nil)
		time.Sleep(10 * time.Minute)   // a quiet stream with viewers
		b.History(ctx, "f_other", nil) // lets the broker sweep idle rooms
		h2, _ := b.History(ctx, "f_quiet", nil)
		if h1.Position != h2.Position {
			t.Fatalf("a subscribed room lost its epoch: %+v → %+v", h1.Position, h2.Position)
		}
		if err := b.Unsubscribe(ctx, "f_quiet"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Minute)
		b.History(ctx, "f_other", nil)
		if h3, _ := b.History(ctx, "f_quiet", nil); h3.Position.Epoch == h1.Position.Epoch {
			t.Fatal("an idle, unsubscribed room was never forgotten")
		}
	})
}
