package redisbroker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/givelive/givelive/hub/brokertest"
	"github.com/givelive/givelive/hub/redisbroker"
)

// TestViewerCountsAcrossNodes: each node reports its own count of a room;
// every node reads the sum, exactly one node announces it, and a node that
// stops reporting (it died, or its viewers left) drops out of the sum once
// its count is older than the TTL.
func TestViewerCountsAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	// A TTL far beyond the test's length, so no count goes stale while the
	// test runs however slow the machine; staleness is made below by
	// ageing a node's stamp in Redis, as if the time had passed.
	cfg := redisbroker.Config{URL: srv.URL(), ViewerTTL: time.Hour}
	a := startBroker(t, cfg, brokertest.NewRecorder())
	b := startBroker(t, cfg, brokertest.NewRecorder())
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

	// a stops reporting: once its count is older than the TTL only b's
	// remains, and b announces.
	admin := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer admin.Close()
	counts, err := admin.HGetAll(ctx, "gl:{f_v}:v").Result()
	if err != nil || len(counts) != 2 {
		t.Fatalf("viewer counts in Redis: %v, %v", counts, err)
	}
	for node, v := range counts {
		if strings.HasPrefix(v, "3:") { // a's: stamped at the epoch, long stale
			admin.HSet(ctx, "gl:{f_v}:v", node, "3:0")
		}
	}
	total, announce, err = b.CountViewers(ctx, "f_v", 2)
	if err != nil || total != 2 || !announce {
		t.Fatalf("after a left: total %d, announce %v, %v; want 2, true", total, announce, err)
	}
}
