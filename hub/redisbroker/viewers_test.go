package redisbroker_test

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub/brokertest"
	"github.com/givelive/givelive/hub/redisbroker"
)

// TestViewerCountsAcrossNodes: each node reports its own count of a room;
// every node reads the sum, exactly one node announces it, and a node that
// stops reporting (it died, or its viewers left) drops out of the sum.
func TestViewerCountsAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	a := startBroker(t, redisbroker.Config{URL: srv.URL()}, brokertest.NewRecorder())
	b := startBroker(t, redisbroker.Config{URL: srv.URL()}, brokertest.NewRecorder())
	ctx := timeout(t, 10*time.Second)

	total, announce, err := a.CountViewers(ctx, "f_v", 3)
	if err != nil || total != 3 || !announce {
		t.Fatalf("alone: total %d, announce %v, %v; want 3, true", total, announce, err)
	}
	totalB, announceB, err := b.CountViewers(ctx, "f_v", 2)
	if err != nil || totalB != 5 {
		t.Fatalf("node b: total %d, %v; want 5", totalB, err)
	}
	totalA, announceA, err := a.CountViewers(ctx, "f_v", 3)
	if err != nil || totalA != 5 {
		t.Fatalf("node a: total %d, %v; want 5", totalA, err)
	}
	if announceA == announceB {
		t.Fatalf("announce a %v, b %v: want exactly one node to announce", announceA, announceB)
	}
	if other, _, _ := a.CountViewers(ctx, "f_other", 1); other != 1 {
		t.Fatalf("another room's total %d, want 1: rooms are counted apart", other)
	}

	// a stops reporting: after the counts' lifetime only b's remain, and b
	// announces.
	time.Sleep(3500 * time.Millisecond) // waiting out an expiry, not ordering events
	total, announce, err = b.CountViewers(ctx, "f_v", 2)
	if err != nil || total != 2 || !announce {
		t.Fatalf("after a left: total %d, announce %v, %v; want 2, true", total, announce, err)
	}
}
