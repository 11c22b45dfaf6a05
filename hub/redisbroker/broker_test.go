package redisbroker_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/brokertest"
	"github.com/givelive/givelive/hub/redisbroker"
	"github.com/givelive/givelive/hub/wire"
)

func newBroker(t *testing.T, cfg redisbroker.Config) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContract(t *testing.T) {
	srv := startRedis(t)
	var n atomic.Int64
	brokertest.Run(t, brokertest.Config{
		HistorySize: 10,
		New: func(t *testing.T) hub.Broker {
			// A prefix of its own gives each broker an empty keyspace.
			return newBroker(t, redisbroker.Config{
				URL:         srv.URL(),
				Prefix:      fmt.Sprintf("t%d", n.Add(1)),
				HistorySize: 10,
			})
		},
	})
}

func startBroker(t *testing.T, cfg redisbroker.Config, h hub.PublicationHandler) *redisbroker.Broker {
	t.Helper()
	b := newBroker(t, cfg)
	if err := b.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func chat(n int) hub.Publication {
	return hub.Publication{Type: wire.TypeChat, Data: fmt.Appendf(nil, `{"n":%d}`, n), Time: time.Now().UnixMilli()}
}

// Two nodes on one Redis: what one publishes reaches the other, and both
// read the same history.
func TestTwoNodes(t *testing.T) {
	srv := startRedis(t)
	recA, recB := brokertest.NewRecorder(), brokertest.NewRecorder()
	a := startBroker(t, redisbroker.Config{URL: srv.URL()}, recA)
	b := startBroker(t, redisbroker.Config{URL: srv.URL()}, recB)
	ctx := timeout(t, 10*time.Second)
	if err := b.Subscribe(ctx, "f_two"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := a.Publish(ctx, "f_two", chat(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := recB.Wait(t, "f_two", 3)
	if got[2].Offset != 3 || string(got[2].Data) != `{"n":3}` {
		t.Fatalf("node B received %+v", got[2])
	}
	if n := recA.Count("f_two"); n != 0 {
		t.Fatalf("unsubscribed node A received %d publications", n)
	}
	h, err := b.History(ctx, "f_two", &wire.Position{Epoch: got[0].Epoch, Offset: 1})
	if err != nil || !h.Recovered || len(h.Publications) != 2 {
		t.Fatalf("history on node B: %+v, %v", h, err)
	}
	// After Unsubscribe, the node stops receiving.
	if err := b.Unsubscribe(ctx, "f_two"); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ctx, "f_marker"); err != nil {
		t.Fatal(err)
	}
	a.Publish(ctx, "f_two", chat(4))
	a.Publish(ctx, "f_marker", chat(1)) // sent after f_two's was done: arrives after it
	recB.Wait(t, "f_marker", 1)
	if n := recB.Count("f_two"); n != 3 {
		t.Fatalf("received %d publications after unsubscribing, want 3", n)
	}
}

// blocker holds the only worker until released.
type blocker struct {
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	offsets []uint64
}

func (b *blocker) HandlePublication(_ string, p hub.Publication) {
	<-b.release
	b.mu.Lock()
	b.offsets = append(b.offsets, p.Offset)
	b.mu.Unlock()
}

func (b *blocker) got() []uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.offsets)
}

// A handler that stops reading fills its worker's queue: further
// publications are dropped and counted rather than waited for, and once it
// reads again the dropped ones are delivered from history, in order, even
// though the room publishes nothing more.
func TestFullQueueDropsThenRecovers(t *testing.T) {
	srv := startRedis(t)
	h := &blocker{release: make(chan struct{})}
	b := startBroker(t, redisbroker.Config{URL: srv.URL(), Workers: 1, QueueSize: 2}, h)
	t.Cleanup(func() { h.once.Do(func() { close(h.release) }) })
	ctx := timeout(t, 10*time.Second)
	if err := b.Subscribe(ctx, "f_full"); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := 1; i <= n; i++ {
		if _, err := b.Publish(ctx, "f_full", chat(i)); err != nil {
			t.Fatal(err)
		}
	}
	// One in the handler, two queued: the rest must be dropped, not wait.
	for b.Stats().Dropped < n-3 {
		if ctx.Err() != nil {
			t.Fatalf("dropped %d, want %d", b.Stats().Dropped, n-3)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.once.Do(func() { close(h.release) })
	for len(h.got()) < n {
		if ctx.Err() != nil {
			t.Fatalf("after the handler read again it got offsets %v, want 1 to %d", h.got(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, off := range h.got() {
		if off != uint64(i+1) {
			t.Fatalf("offsets %v, want 1 to %d in order", h.got(), n)
		}
	}
	if s := b.Stats(); s.Recovered < n-3 {
		t.Fatalf("%d publications recovered from history, want at least %d: %+v", s.Recovered, n-3, s)
	}
}

// Redis dies and comes back empty on the same socket: publishing fails
// meanwhile, then the broker reconnects, resubscribes and delivers again,
// under a new epoch.
func TestRedisRestart(t *testing.T) {
	srv := startRedis(t)
	rec := brokertest.NewRecorder()
	b := startBroker(t, redisbroker.Config{URL: srv.URL()}, rec)
	ctx := timeout(t, 20*time.Second)
	if err := b.Subscribe(ctx, "f_r"); err != nil {
		t.Fatal(err)
	}
	before, err := b.Publish(ctx, "f_r", chat(1))
	if err != nil {
		t.Fatal(err)
	}
	rec.Wait(t, "f_r", 1)

	srv.Kill()
	down := time.Now()
	if _, err := b.Publish(timeout(t, 3*time.Second), "f_r", chat(2)); err == nil {
		t.Fatal("publish succeeded with redis down")
	}
	if _, err := b.History(timeout(t, 3*time.Second), "f_r", &before); err == nil {
		t.Fatal("history succeeded with redis down")
	}

	t.Logf("failures took %v", time.Since(down))
	srv.Restart()
	up := time.Now()
	// Publish until one is delivered: the first may precede the resubscribe.
	var after wire.Position
	for i := 0; rec.Count("f_r") < 2; i++ {
		if ctx.Err() != nil {
			t.Fatalf("no delivery after restart (reconnects %d)", b.Stats().Reconnects)
		}
		if pos, err := b.Publish(timeout(t, time.Second), "f_r", chat(100+i)); err == nil {
			after = pos
		}
		select {
		case <-rec.Wake():
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("delivery resumed %v after restart", time.Since(up))
	got := rec.Wait(t, "f_r", 2)
	if after.Epoch == before.Epoch || got[1].Epoch != after.Epoch && got[1].Epoch == before.Epoch {
		t.Fatalf("epoch kept across a restart of an empty redis: %s then %+v", before.Epoch, got[1])
	}
	h, err := b.History(ctx, "f_r", &before)
	if err != nil || h.Recovered {
		t.Fatalf("recovered across the restart: %+v, %v", h, err)
	}
	if b.Stats().Reconnects == 0 {
		t.Fatal("no reconnect counted")
	}
}

func TestPublishAfterClose(t *testing.T) {
	srv := startRedis(t)
	b := newBroker(t, redisbroker.Config{URL: srv.URL()})
	if err := b.Start(brokertest.NewRecorder()); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := b.Publish(context.Background(), "f_c", chat(1)); err != hub.ErrBrokerClosed {
		t.Fatalf("publish after close: %v", err)
	}
	if err := b.Subscribe(context.Background(), "f_c"); err != hub.ErrBrokerClosed {
		t.Fatalf("subscribe after close: %v", err)
	}
}

// History lives HistoryTTL after a room's last publication, and the epoch of
// a room some node subscribes to lives as long as the subscription. The
// test never waits for a clock: it shortens expiries in Redis itself (as
// if the time had passed) and waits for what the broker does about it.
func TestHistoryExpires(t *testing.T) {
	srv := startRedis(t)
	const ttl = time.Hour
	b := startBroker(t, redisbroker.Config{URL: srv.URL(), HistoryTTL: ttl, RenewInterval: 10 * time.Millisecond}, brokertest.NewRecorder())
	ctx := timeout(t, 20*time.Second)
	admin := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer admin.Close()
	meta := func(room string) string { return "gl:{" + room + "}:m" }
	stream := func(room string) string { return "gl:{" + room + "}:s" }
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := admin.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// shorten sets key's expiry to d, as if ttl-d had passed.
	shorten := func(key string, d time.Duration) {
		t.Helper()
		if ok, err := admin.PExpire(ctx, key, d).Result(); err != nil || !ok {
			t.Fatalf("PEXPIRE %s: %v, %v", key, ok, err)
		}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("waited in vain for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	if err := b.Subscribe(ctx, "f_kept"); err != nil {
		t.Fatal(err)
	}
	kept, err := b.Publish(ctx, "f_kept", chat(1))
	if err != nil {
		t.Fatal(err)
	}
	idle, err := b.Publish(ctx, "f_idle", chat(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{meta("f_kept"), stream("f_kept"), meta("f_idle"), stream("f_idle")} {
		if d := pttl(k); d <= ttl-time.Minute || d > ttl {
			t.Fatalf("%s expires in %v after a publication, want about %v", k, d, ttl)
		}
	}
	if h, _ := b.History(ctx, "f_kept", &wire.Position{Epoch: kept.Epoch}); !h.Recovered || len(h.Publications) != 1 {
		t.Fatalf("fresh history: %+v", h)
	}

	// The subscribed room's epoch is renewed, the idle one's is not: two
	// renewals of the kept room mean a whole round ran after both were
	// shortened.
	const late = 30 * time.Minute
	shorten(meta("f_idle"), late)
	for range 2 {
		shorten(meta("f_kept"), late)
		waitFor("the subscribed room's epoch to be renewed", func() bool { return pttl(meta("f_kept")) > late })
	}
	if d := pttl(meta("f_idle")); d > late {
		t.Fatalf("an unsubscribed room's epoch was renewed to %v", d)
	}

	// When Redis expires the idle room, it starts again in a new epoch.
	shorten(meta("f_idle"), time.Millisecond)
	shorten(stream("f_idle"), time.Millisecond)
	waitFor("Redis to expire the idle room", func() bool { return admin.Exists(ctx, meta("f_idle"), stream("f_idle")).Val() == 0 })
	h, err := b.History(ctx, "f_idle", nil)
	if err != nil || h.Position.Epoch == idle.Epoch || h.Position.Offset != 0 {
		t.Fatalf("idle room after its TTL: %+v, %v (was %+v)", h.Position, err, idle)
	}

	// The subscribed room's publications expire; its position stays.
	shorten(stream("f_kept"), time.Millisecond)
	waitFor("Redis to expire the kept room's history", func() bool { return admin.Exists(ctx, stream("f_kept")).Val() == 0 })
	h, err = b.History(ctx, "f_kept", &wire.Position{Epoch: kept.Epoch})
	if err != nil || h.Position != kept {
		t.Fatalf("subscribed room after the TTL: %+v, %v, want %+v", h.Position, err, kept)
	}
	if h.Recovered {
		t.Fatal("recovered an expired publication")
	}
	if h, _ := b.History(ctx, "f_kept", &kept); !h.Recovered {
		t.Fatal("an up-to-date position is not recovered")
	}

	// A publication older than the TTL is not recovered even while Redis
	// still holds it.
	old := chat(2)
	old.Time = time.Now().Add(-ttl - time.Minute).UnixMilli()
	if _, err := b.Publish(ctx, "f_kept", old); err != nil {
		t.Fatal(err)
	}
	if h, _ := b.History(ctx, "f_kept", &kept); h.Recovered {
		t.Fatalf("recovered a publication older than the TTL: %+v", h.Publications)
	}
}

// A pub/sub connection that stops answering (here: Redis paused) is
// replaced after a ping goes unanswered, and its rooms subscribed again.
func TestSilentConnectionIsReplaced(t *testing.T) {
	srv := startRedis(t)
	rec := brokertest.NewRecorder()
	b := startBroker(t, redisbroker.Config{URL: srv.URL(), PingInterval: 100 * time.Millisecond}, rec)
	ctx := timeout(t, 10*time.Second)
	if err := b.Subscribe(ctx, "f_s"); err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer admin.Close()
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "1000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	for b.Stats().Stale == 0 {
		if ctx.Err() != nil {
			t.Fatal("silent connection never replaced")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Publish until one is delivered: the new connection subscribes once
	// the pause is over.
	for rec.Count("f_s") == 0 {
		if ctx.Err() != nil {
			t.Fatalf("no delivery after replacing the connection (stats %+v)", b.Stats())
		}
		if _, err := b.Publish(timeout(t, 3*time.Second), "f_s", chat(1)); err != nil {
			t.Log(err)
		}
		select {
		case <-rec.Wake():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// gapRecorder is a Recorder that also records HandleGap calls.
type gapRecorder struct {
	*brokertest.Recorder
	gaps chan string
}

func (g *gapRecorder) HandleGap(room string) { g.gaps <- room }

// TestReconnectRecoversWhatWasMissed cuts the node's pub/sub connection
// (Redis keeps its data) and publishes from another node before this one
// is back: when it resubscribes, it delivers the missed publications from
// history, in order, without the hub having to wait for the room's next
// publication or its viewers having to resume.
func TestReconnectRecoversWhatWasMissed(t *testing.T) {
	srv := startRedis(t)
	rec := &gapRecorder{Recorder: brokertest.NewRecorder(), gaps: make(chan string, 10)}
	b := startBroker(t, redisbroker.Config{URL: srv.URL()}, rec)
	other := startBroker(t, redisbroker.Config{URL: srv.URL()}, brokertest.NewRecorder())
	admin := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer admin.Close()
	ctx := timeout(t, 20*time.Second)
	if err := b.Subscribe(ctx, "f_gap"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Publish(ctx, "f_gap", chat(1)); err != nil {
		t.Fatal(err)
	}
	rec.Wait(t, "f_gap", 1)

	// The reader waits at least 50 ms before reconnecting; five publishes
	// take a few. Should a slow machine let it reconnect first, the
	// publications arrive live instead: try again.
	want := 1
	for attempt := 0; b.Stats().Recovered == 0; attempt++ {
		if attempt == 5 {
			t.Fatalf("never published inside the reconnection window (reconnects %d)", b.Stats().Reconnects)
		}
		reconnects := b.Stats().Reconnects
		if err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := other.Publish(ctx, "f_gap", chat(want+1+i)); err != nil {
				t.Fatal(err)
			}
		}
		want += 5
		rec.Wait(t, "f_gap", want)
		for b.Stats().Reconnects == reconnects {
			if ctx.Err() != nil {
				t.Fatal("no reconnect counted")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	got := rec.Wait(t, "f_gap", want)
	for i, p := range got {
		if p.Offset != uint64(i+1) {
			t.Fatalf("publication %d has offset %d, want %d: %+v", i, p.Offset, i+1, got)
		}
	}
	select {
	case room := <-rec.gaps:
		t.Fatalf("HandleGap(%s) although history held the gap", room)
	default:
	}
}

// TestReconnectReportsALostGap restarts an empty Redis: what the room held
// is gone, so once the node is back it tells the hub (HandleGap) at once.
func TestReconnectReportsALostGap(t *testing.T) {
	srv := startRedis(t)
	rec := &gapRecorder{Recorder: brokertest.NewRecorder(), gaps: make(chan string, 10)}
	b := startBroker(t, redisbroker.Config{URL: srv.URL()}, rec)
	ctx := timeout(t, 20*time.Second)
	if err := b.Subscribe(ctx, "f_lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(ctx, "f_lost", chat(1)); err != nil {
		t.Fatal(err)
	}
	rec.Wait(t, "f_lost", 1)
	srv.Kill()
	srv.Restart()
	select {
	case room := <-rec.gaps:
		if room != "f_lost" {
			t.Fatalf("HandleGap(%q), want f_lost", room)
		}
	case <-ctx.Done():
		t.Fatalf("no HandleGap after Redis came back empty (reconnects %d)", b.Stats().Reconnects)
	}
	if b.Stats().Lost == 0 {
		t.Fatal("the lost gap is not counted")
	}
}

// TestSubscriptionsAreBatched joins 300 rooms at once, as a node does when
// its viewers come back after a restart: the rooms share SUBSCRIBE
// commands, and each is subscribed (a publication reaches it).
func TestSubscriptionsAreBatched(t *testing.T) {
	srv := startRedis(t)
	rec := brokertest.NewRecorder()
	b := startBroker(t, redisbroker.Config{URL: srv.URL()}, rec)
	ctx := timeout(t, 20*time.Second)
	const rooms = 300
	var wg sync.WaitGroup
	for i := range rooms {
		wg.Go(func() {
			if err := b.Subscribe(ctx, fmt.Sprintf("f_batch%03d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cmds := b.Stats().SubscribeCommands
	t.Logf("%d rooms subscribed with %d commands", rooms, cmds)
	if cmds >= rooms {
		t.Fatalf("%d SUBSCRIBE commands for %d rooms: none were batched", cmds, rooms)
	}
	for i := range rooms {
		if _, err := b.Publish(ctx, fmt.Sprintf("f_batch%03d", i), chat(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range rooms {
		rec.Wait(t, fmt.Sprintf("f_batch%03d", i), 1)
	}
	for i := range rooms {
		wg.Go(func() {
			if err := b.Unsubscribe(ctx, fmt.Sprintf("f_batch%03d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	t.Logf("and unsubscribed with %d more", b.Stats().SubscribeCommands-cmds)
}

// TestReconnectRecoversAQuietRoom: a room subscribed but not yet published
// to loses its pub/sub connection and gets publications meanwhile; they
// are delivered from history, from the position read when subscribing.
func TestReconnectRecoversAQuietRoom(t *testing.T) {
	srv := startRedis(t)
	rec := &gapRecorder{Recorder: brokertest.NewRecorder(), gaps: make(chan string, 10)}
	b := startBroker(t, redisbroker.Config{URL: srv.URL()}, rec)
	other := startBroker(t, redisbroker.Config{URL: srv.URL()}, brokertest.NewRecorder())
	admin := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer admin.Close()
	ctx := timeout(t, 30*time.Second)
	// As in TestReconnectRecoversWhatWasMissed, a slow machine may let the
	// reader reconnect before the publications: then try a new room.
	for attempt := 0; b.Stats().Recovered == 0; attempt++ {
		if attempt == 5 {
			t.Fatal("never published inside the reconnection window")
		}
		room := fmt.Sprintf("f_quiet%d", attempt)
		if err := b.Subscribe(ctx, room); err != nil {
			t.Fatal(err)
		}
		if err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 3; i++ {
			if _, err := other.Publish(ctx, room, chat(i)); err != nil {
				t.Fatal(err)
			}
		}
		got := rec.Wait(t, room, 3)
		for i, p := range got {
			if p.Offset != uint64(i+1) {
				t.Fatalf("room %s: publication %d at offset %d: %+v", room, i, p.Offset, got)
			}
		}
	}
	select {
	case room := <-rec.gaps:
		t.Fatalf("HandleGap(%s) although history held the gap", room)
	default:
	}
}

// TestCloseWhilePublishing closes the broker under many publishers: every
// Publish that succeeded is in the room's history, and none that failed
// is (a failed publish must be safe to retry).
func TestCloseWhilePublishing(t *testing.T) {
	srv := startRedis(t)
	b := startBroker(t, redisbroker.Config{URL: srv.URL(), HistorySize: 100000}, brokertest.NewRecorder())
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if _, err := b.Publish(context.Background(), "f_close", chat(i)); err != nil {
					return
				}
				ok.Add(1)
			}
		})
	}
	for ok.Load() < 500 {
		time.Sleep(time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	admin := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer admin.Close()
	n, err := admin.XLen(context.Background(), "gl:{f_close}:s").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != ok.Load() {
		t.Fatalf("%d publications in history, %d Publish calls succeeded", n, ok.Load())
	}
}
