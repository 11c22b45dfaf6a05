package mediadir

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/givelive/givelive/internal/testredis"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const waitLimit = 10 * time.Second

// newDir builds a directory with short timings; start runs its loop.
func newDir(t *testing.T, srv *testredis.Server, self string, start bool, gone func(context.Context, string)) *Directory {
	t.Helper()
	d, err := New(Config{
		URL:      srv.URL(),
		Self:     self,
		TTL:      600 * time.Millisecond,
		Refresh:  100 * time.Millisecond,
		CacheTTL: time.Nanosecond, // every Lookup asks Redis
		Gone:     gone,
	})
	if err != nil {
		t.Fatal(err)
	}
	if start {
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// eventually polls cond until it holds (waiting for a state in Redis, not
// ordering events).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, waitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lookup(t *testing.T, d *Directory, id string) (Entry, bool) {
	t.Helper()
	e, found, err := d.Lookup(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e, found
}

// An announced stream is found by other nodes and stays while refreshed,
// well past its TTL; withdrawn, it is gone at once.
func TestAnnounceRefreshWithdraw(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	a := newDir(t, srv, "http://a:8080", true, nil)
	b := newDir(t, srv, "http://b:8080", true, nil)

	if _, found := lookup(t, b, "f1"); found {
		t.Fatal("an unknown stream was found")
	}
	if err := a.Announce(ctx, "f1"); err != nil {
		t.Fatal(err)
	}
	e, found := lookup(t, b, "f1")
	if !found || e.URL != "http://a:8080" || e.Session == "" {
		t.Fatalf("lookup after announce: %+v %v", e, found)
	}
	if elsewhere, _ := b.Elsewhere(ctx, "f1"); !elsewhere {
		t.Fatal("node B does not see the stream elsewhere")
	}
	if elsewhere, _ := a.Elsewhere(ctx, "f1"); elsewhere {
		t.Fatal("node A sees its own stream as elsewhere")
	}
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer rdb.Close()
	ttl := rdb.PTTL(ctx, "gl:{f1}:media").Val()
	if ttl <= 0 || ttl > 600*time.Millisecond {
		t.Fatalf("entry TTL %s, want within (0, 600ms]", ttl)
	}

	// Five TTLs later it is still there: the loop refreshed it.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, found := lookup(t, b, "f1"); !found {
			t.Fatal("the entry expired while its node was refreshing it")
		}
		time.Sleep(100 * time.Millisecond)
	}

	if elsewhere, err := a.Withdraw(ctx, "f1"); err != nil || elsewhere {
		t.Fatalf("withdraw: elsewhere %v, err %v", elsewhere, err)
	}
	if _, found := lookup(t, b, "f1"); found {
		t.Fatal("the entry is still there after withdraw")
	}
	// A late refresh must not bring it back.
	time.Sleep(300 * time.Millisecond)
	if _, found := lookup(t, b, "f1"); found {
		t.Fatal("the withdrawn entry came back")
	}
}

// A node that stops refreshing (it died) loses its entry after the TTL.
func TestEntryExpires(t *testing.T) {
	srv := testredis.Start(t)
	a := newDir(t, srv, "http://a:8080", false, nil) // no loop: no refresh
	b := newDir(t, srv, "http://b:8080", false, nil)
	if err := a.Announce(context.Background(), "f1"); err != nil {
		t.Fatal(err)
	}
	if _, found := lookup(t, b, "f1"); !found {
		t.Fatal("not found after announce")
	}
	eventually(t, "entry expired", func() bool { _, found := lookup(t, b, "f1"); return !found })
}

// A takeover by another node is not undone by the first node's withdraw
// or refresh.
func TestWithdrawOnlyOwn(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	a := newDir(t, srv, "http://a:8080", true, nil)
	b := newDir(t, srv, "http://b:8080", true, nil)
	if err := a.Announce(ctx, "f1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Announce(ctx, "f1"); err != nil { // the encoder moved to B
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // A's loop refreshes meanwhile
	if e, _ := lookup(t, a, "f1"); e.URL != "http://b:8080" {
		t.Fatalf("A's refresh took the entry back: %+v", e)
	}
	elsewhere, err := a.Withdraw(ctx, "f1")
	if err != nil || !elsewhere {
		t.Fatalf("A's withdraw: elsewhere %v, err %v; want elsewhere", elsewhere, err)
	}
	if e, found := lookup(t, a, "f1"); !found || e.URL != "http://b:8080" {
		t.Fatalf("after A's withdraw: %+v %v, want B's entry", e, found)
	}
	// Withdrawing what was never announced does nothing.
	if elsewhere, err := a.Withdraw(ctx, "f2"); err != nil || elsewhere {
		t.Fatalf("withdraw of an unknown stream: %v %v", elsewhere, err)
	}
}

// When a node dies, exactly one of the nodes watching its stream is told;
// when a node withdraws, nobody is.
func TestGoneToldOnce(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	told := make(chan string, 10)
	gone := func(_ context.Context, id string) { told <- id }
	dead := newDir(t, srv, "http://dead:8080", false, nil)
	clean := newDir(t, srv, "http://clean:8080", true, nil)
	watchers := []*Directory{
		newDir(t, srv, "http://w1:8080", true, gone),
		newDir(t, srv, "http://w2:8080", true, gone),
		newDir(t, srv, "http://w3:8080", true, gone),
	}
	for _, id := range []string{"dies", "ends"} {
		d := dead
		if id == "ends" {
			d = clean
		}
		if err := d.Announce(ctx, id); err != nil {
			t.Fatal(err)
		}
		for _, w := range watchers {
			if _, found := lookup(t, w, id); !found {
				t.Fatalf("%s not found", id)
			}
		}
	}
	if _, err := clean.Withdraw(ctx, "ends"); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-told:
		if id != "dies" {
			t.Fatalf("told %q gone, want dies (ends was withdrawn)", id)
		}
	case <-time.After(waitLimit):
		t.Fatal("no watcher noticed the dead node's stream")
	}
	for _, w := range watchers {
		eventually(t, "watch list emptied", func() bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			return len(w.watched) == 0
		})
	}
	select {
	case id := <-told:
		t.Fatalf("told %q a second time", id)
	default:
	}
}

// Redis restarting empty loses entries; the owners' refreshes put them back
// and nobody announces them gone.
func TestRedisRestart(t *testing.T) {
	srv := testredis.Start(t)
	told := make(chan string, 1)
	a := newDir(t, srv, "http://a:8080", true, nil)
	b := newDir(t, srv, "http://b:8080", true, func(_ context.Context, id string) { told <- id })
	if err := a.Announce(context.Background(), "f1"); err != nil {
		t.Fatal(err)
	}
	if _, found := lookup(t, b, "f1"); !found {
		t.Fatal("not found")
	}
	srv.Kill()
	srv.Restart()
	eventually(t, "entry back after the restart", func() bool {
		_, found, err := b.Lookup(context.Background(), "f1")
		return err == nil && found
	})
	select {
	case id := <-told:
		t.Fatalf("%s told gone across a Redis restart", id)
	default:
	}
}

// A watcher that saw one publish of a stream, and missed a second publish
// that began and ended between two of its checks, has nothing to tell:
// both sessions' ends were told by their node (found: the watcher claimed
// the first session's end because the node had since told only the
// second's, and its room heard a stray "offline", which could land after
// a third publish's "live").
func TestGoneNotToldForAnEarlierSession(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	told := make(chan string, 10)
	node := newDir(t, srv, "http://node:8080", false, nil)
	w := newDir(t, srv, "http://w:8080", false, func(_ context.Context, id string) { told <- id })

	if err := node.Announce(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, found := lookup(t, w, "x"); !found {
		t.Fatal("x not found")
	}
	for range 2 { // the first publish ends; a second begins and ends unseen
		if _, err := node.Withdraw(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		if err := node.Announce(ctx, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.Withdraw(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	for range w.missesBeforeGone + 1 {
		w.check(ctx)
	}
	select {
	case id := <-told:
		t.Fatalf("told %q gone: every session of it was withdrawn by its node", id)
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.watched) != 0 {
		t.Fatalf("still watching %v", w.watched)
	}
}
