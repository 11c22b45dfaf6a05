package redisbroker_test

import (
	"context"
	"fmt"
	"strconv"
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

// The contract holds on a Redis Cluster of three masters (sharded pub/sub).
func TestClusterContract(t *testing.T) {
	cl := testredis.StartCluster(t, 3)
	var n atomic.Int64
	brokertest.Run(t, brokertest.Config{
		HistorySize: 10,
		New: func(t *testing.T) hub.Broker {
			return newBroker(t, redisbroker.Config{URL: cl.URL(), Cluster: true, Prefix: fmt.Sprintf("t%d", n.Add(1)), HistorySize: 10})
		},
	})
}

// Two nodes on one cluster: rooms spread over every master; what one node
// publishes reaches the other in order. A master is killed (its rooms
// cannot publish, the others can) and started again empty: the node tells
// the hub those rooms' gaps are lost (HandleGap), subscribes them again,
// one SSUBSCRIBE per slot, and delivers again.
func TestClusterTwoNodes(t *testing.T) {
	cl := testredis.StartCluster(t, 3)
	recA := brokertest.NewRecorder()
	recB := &gapRecorder{Recorder: brokertest.NewRecorder(), gaps: make(chan string, 100)}
	a := startBroker(t, redisbroker.Config{URL: cl.URL(), Cluster: true}, recA)
	b := startBroker(t, redisbroker.Config{URL: cl.URL(), Cluster: true, PingInterval: time.Second}, recB)
	ctx := timeout(t, 60*time.Second)
	rooms := make([]string, 24)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("f_cl%02d", i)
		if err := b.Subscribe(ctx, rooms[i]); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 2; n++ {
		for _, room := range rooms {
			if _, err := a.Publish(ctx, room, chat(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, room := range rooms {
		got := recB.Wait(t, room, 2)
		if got[0].Offset != 1 || got[1].Offset != 2 {
			t.Fatalf("room %s: offsets %d, %d", room, got[0].Offset, got[1].Offset)
		}
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping with every master up: %v", err)
	}

	// Node 0 dies: its rooms cannot publish; the others can.
	cl.Kill(0)
	if err := b.Ping(timeout(t, 5*time.Second)); err == nil {
		t.Fatal("Ping succeeded with a master down")
	}
	var down, up []string
	for _, room := range rooms {
		if _, err := a.Publish(timeout(t, 5*time.Second), room, chat(3)); err != nil {
			down = append(down, room)
		} else {
			up = append(up, room)
		}
	}
	t.Logf("with a master down: %d rooms fail to publish, %d publish", len(down), len(up))
	if len(down) == 0 || len(up) == 0 {
		t.Fatalf("rooms are not spread over the masters: %d down, %d up", len(down), len(up))
	}
	for _, room := range up {
		recB.Wait(t, room, 3)
	}

	// It comes back empty (no persistence): its rooms start new epochs, and
	// node B tells the hub their gap is lost, then delivers again.
	cl.Restart(0)
	cl.WaitOK()
	lost := map[string]bool{}
	for len(lost) < len(down) {
		select {
		case room := <-recB.gaps:
			lost[room] = true
		case <-ctx.Done():
			t.Fatalf("HandleGap for %d of the %d rooms of the restarted master (%v)", len(lost), len(down), lost)
		}
	}
	for _, room := range down {
		if !lost[room] {
			t.Fatalf("room %s was on the restarted master but no gap was reported", room)
		}
		for i := 0; recB.Count(room) < 3; i++ {
			if ctx.Err() != nil {
				t.Fatalf("room %s: no delivery after its master came back", room)
			}
			_, _ = a.Publish(timeout(t, time.Second), room, chat(100+i))
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestClusterLeaveAndRejoin leaves rooms and joins them again on a
// cluster: the replies to the node's own SUNSUBSCRIBEs are not taken for
// slot moves (which would make it unsubscribe and resubscribe forever),
// and the rejoined rooms receive again.
func TestClusterLeaveAndRejoin(t *testing.T) {
	cl := testredis.StartCluster(t, 3)
	rec := brokertest.NewRecorder()
	b := startBroker(t, redisbroker.Config{URL: cl.URL(), Cluster: true}, rec)
	ctx := timeout(t, 30*time.Second)
	rooms := []string{"f_lr0", "f_lr1", "f_lr2", "f_lr3", "f_lr4", "f_lr5"}
	for _, r := range rooms {
		if err := b.Subscribe(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rooms[:3] {
		if err := b.Unsubscribe(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Subscribe(ctx, rooms[0]); err != nil { // and back at once
		t.Fatal(err)
	}
	// Let the replies come back, then count SUNSUBSCRIBEs over a while.
	for _, r := range []string{rooms[0], rooms[3]} {
		if _, err := b.Publish(ctx, r, chat(1)); err != nil {
			t.Fatal(err)
		}
		rec.Wait(t, r, 1)
	}
	before := sunsubscribes(t, cl)
	time.Sleep(300 * time.Millisecond) // the loop this guards against sends thousands in that time
	if after := sunsubscribes(t, cl); after != before {
		t.Fatalf("SUNSUBSCRIBE calls went from %d to %d with nobody leaving a room", before, after)
	}
	for _, r := range []string{rooms[0], rooms[3], rooms[4]} {
		if _, err := b.Publish(ctx, r, chat(2)); err != nil {
			t.Fatal(err)
		}
	}
	rec.Wait(t, rooms[0], 2)
	rec.Wait(t, rooms[4], 1)
	if n := rec.Count(rooms[1]); n != 0 {
		t.Fatalf("a room left got %d publications", n)
	}
}

// sunsubscribes sums the SUNSUBSCRIBE calls every master has served.
func sunsubscribes(t *testing.T, cl *testredis.Cluster) int64 {
	t.Helper()
	var total int64
	for _, p := range cl.Ports {
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", p)})
		info, err := c.Info(context.Background(), "commandstats").Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_sunsubscribe:calls="); ok {
				n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
				total += n
			}
		}
	}
	return total
}

// TestClusterSlotMoves moves a subscribed room's slot to another master
// while the node listens (as resharding does): Redis unsubscribes the node
// from the room's channel, and the node subscribes it again on the new
// master and keeps delivering, from the same history.
func TestClusterSlotMoves(t *testing.T) {
	cl := testredis.StartCluster(t, 3)
	rec := &gapRecorder{Recorder: brokertest.NewRecorder(), gaps: make(chan string, 10)}
	b := startBroker(t, redisbroker.Config{URL: cl.URL(), Cluster: true}, rec)
	ctx := timeout(t, 30*time.Second)
	const room = "f_moving"
	if err := b.Subscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(ctx, room, chat(1)); err != nil {
		t.Fatal(err)
	}
	rec.Wait(t, room, 1)

	nodes := make([]*redis.Client, len(cl.Ports))
	ids := make([]string, len(cl.Ports))
	for i, p := range cl.Ports {
		nodes[i] = redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", p)})
		defer nodes[i].Close()
		ids[i] = nodes[i].ClusterMyID(ctx).Val()
	}
	slot := nodes[0].ClusterKeySlot(ctx, "gl:{"+room+"}").Val()
	from := -1
	for i, n := range nodes {
		if n.ClusterCountKeysInSlot(ctx, int(slot)).Val() > 0 {
			from = i
		}
	}
	if from < 0 {
		t.Fatalf("no master holds the keys of slot %d", slot)
	}
	to := (from + 1) % len(nodes)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nodes[to].Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[from]).Err())
	must(nodes[from].Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[to]).Err())
	keys := nodes[from].ClusterGetKeysInSlot(ctx, int(slot), 100).Val()
	args := []any{"MIGRATE", "127.0.0.1", cl.Ports[to], "", 0, 5000, "KEYS"}
	for _, k := range keys {
		args = append(args, k)
	}
	must(nodes[from].Do(ctx, args...).Err())
	for _, n := range nodes {
		must(n.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]).Err())
	}

	// Publish until one is delivered from the new master: the first may
	// precede the node's subscription there (it is then recovered).
	for i := 2; rec.Count(room) < 2; i++ {
		if ctx.Err() != nil {
			t.Fatalf("no delivery after the room's slot moved from master %d to %d", from, to)
		}
		_, _ = b.Publish(timeout(t, time.Second), room, chat(i))
		time.Sleep(50 * time.Millisecond)
	}
	got := rec.Wait(t, room, 2)
	for i, p := range got {
		if p.Offset != uint64(i+1) {
			t.Fatalf("publication %d at offset %d after the move: %+v", i, p.Offset, got)
		}
	}
	select {
	case r := <-rec.gaps:
		t.Fatalf("HandleGap(%s): the history moved with the slot", r)
	default:
	}
}
