package redisbroker_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/brokertest"
	"github.com/givelive/givelive/hub/redisbroker"
	"github.com/givelive/givelive/internal/testredis"
)

func newRing(t *testing.T, urls []string, cfg redisbroker.Config) *redisbroker.Ring {
	t.Helper()
	r, err := redisbroker.NewRing(urls, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A ring of three servers keeps the broker contract.
func TestRingContract(t *testing.T) {
	urls := []string{startRedis(t).URL(), startRedis(t).URL(), startRedis(t).URL()}
	var n atomic.Int64
	brokertest.Run(t, brokertest.Config{
		HistorySize: 10,
		New: func(t *testing.T) hub.Broker {
			return newRing(t, urls, redisbroker.Config{Prefix: fmt.Sprintf("t%d", n.Add(1)), HistorySize: 10})
		},
	})
}

// Two nodes listing the same three servers in different orders agree on
// every room's server: what one publishes reaches the other, in order, and
// the rooms are spread over all three servers.
func TestRingNodesAgree(t *testing.T) {
	servers := []*testredis.Server{startRedis(t), startRedis(t), startRedis(t)}
	urls := []string{servers[0].URL(), servers[1].URL(), servers[2].URL()}
	recA, recB := brokertest.NewRecorder(), brokertest.NewRecorder()
	a := newRing(t, urls, redisbroker.Config{})
	b := newRing(t, []string{urls[2], urls[0], urls[1]}, redisbroker.Config{})
	for _, x := range []struct {
		r   *redisbroker.Ring
		rec *brokertest.Recorder
	}{{a, recA}, {b, recB}} {
		if err := x.r.Start(x.rec); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.r.Close() })
	}
	ctx := timeout(t, 20*time.Second)
	rooms := make([]string, 30)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("f_ring%02d", i)
		if a.Shard(rooms[i]) != b.Shard(rooms[i]) {
			t.Fatalf("room %s: node A picks %s, node B %s", rooms[i], a.Shard(rooms[i]), b.Shard(rooms[i]))
		}
		if err := b.Subscribe(ctx, rooms[i]); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 3; n++ {
		for _, room := range rooms {
			if _, err := a.Publish(ctx, room, chat(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, room := range rooms {
		got := recB.Wait(t, room, 3)
		for i, p := range got {
			if p.Offset != uint64(i+1) {
				t.Fatalf("room %s: publication %d at offset %d", room, i, p.Offset)
			}
		}
	}
	for i, s := range servers {
		c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Sock})
		keys, err := c.DBSize(ctx).Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		// 30 rooms, 2 keys each: about 20 keys per server.
		if keys < 6 {
			t.Errorf("server %d holds %d keys: the rooms are not spread", i, keys)
		}
	}
}

// Adding a fourth server to a ring of three moves only the rooms the new
// server takes, about a quarter, and no room between the old servers.
func TestRingAddingAServerMovesAQuarter(t *testing.T) {
	three := newRing(t, []string{"redis://r1:6379", "redis://r2:6379", "redis://r3:6379"}, redisbroker.Config{})
	four := newRing(t, []string{"redis://r1:6379", "redis://r2:6379", "redis://r3:6379", "redis://r4:6379/0"}, redisbroker.Config{})
	t.Cleanup(func() { three.Close(); four.Close() })
	const rooms = 10000
	moved := 0
	for i := range rooms {
		room := fmt.Sprintf("f_%032x", i*7919)
		before, after := three.Shard(room), four.Shard(room)
		if before == after {
			continue
		}
		if after != "redis://r4:6379/0" {
			t.Fatalf("room %s moved from %s to %s, not to the new server", room, before, after)
		}
		moved++
	}
	if moved < rooms/5 || moved > rooms*3/10 {
		t.Fatalf("%d of %d rooms moved to the new server, want about a quarter", moved, rooms)
	}
}

// Two spellings of the same servers make the same ring.
func TestRingSpellings(t *testing.T) {
	a := newRing(t, []string{"redis://r1", "redis://:pw@R2:6380/0", "rediss://r3:6379/2"}, redisbroker.Config{})
	b := newRing(t, []string{"rediss://R3/2", "redis://r1:6379/0", "redis://r2:6380"}, redisbroker.Config{})
	t.Cleanup(func() { a.Close(); b.Close() })
	for i := range 200 {
		room := fmt.Sprintf("f_%032x", i)
		if a.Shard(room) != b.Shard(room) {
			t.Fatalf("room %s: %s in one spelling, %s in the other", room, a.Shard(room), b.Shard(room))
		}
	}
}

func TestRingRefusesBadURLs(t *testing.T) {
	for _, urls := range [][]string{
		nil,
		{"redis://a:6379", "redis://user:secret@a:6379/0"}, // the same server twice
		{"http://a:6379"},
	} {
		r, err := redisbroker.NewRing(urls, redisbroker.Config{})
		if err == nil {
			r.Close()
			t.Errorf("NewRing(%q) succeeded", urls)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("NewRing(%q): the error shows the password: %v", urls, err)
		}
	}
}
