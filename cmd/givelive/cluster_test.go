package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/givelive/givelive/client"
	"github.com/givelive/givelive/client/apiclient"
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/testpg"
	"github.com/givelive/givelive/internal/testredis"
)

// TestClusterOfThree runs three nodes of the real binary on one Redis and
// one PostgreSQL, with six viewers using the Go SDK, two per node, each
// reaching the cluster through a dialer that, like a load balancer, tries
// its own node first and the next ones when that is down:
//
//   - a donation posted to one node reaches every viewer on all three
//     nodes, at the same offset;
//   - a node is killed with SIGKILL and a donation made at once; its
//     viewers reconnect to the other nodes and resume from history,
//     without a snapshot, and get that donation;
//   - Redis is killed, a donation made while it is down (the ledger takes
//     it), and Redis started again, empty: the donation is published when
//     it returns, and every viewer has it, live or through its resume or
//     snapshot.
func TestClusterOfThree(t *testing.T) {
	rds := testredis.Start(t)
	pg := testpg.Start(t)
	bin := buildBinary(t)
	dbURL := pg.NewDatabase(t)
	env := []string{
		"GIVELIVE_REDIS_URL=" + rds.URL(),
		"GIVELIVE_DATABASE_URL=" + dbURL,
		"GIVELIVE_API_RATE=-1",
	}
	nodes := make([]*demoServer, 3)
	for i := range nodes {
		nodes[i] = startDemoIn(t, bin, t.TempDir(), freeAddr(t), env...)
		if nodes[i].fundraiser != nodes[0].fundraiser {
			t.Fatalf("node %d seeded fundraiser %s, node 0 %s: the nodes do not share the ledger", i, nodes[i].fundraiser, nodes[0].fundraiser)
		}
	}
	room := nodes[0].fundraiser
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	viewers := make([]*clusterViewer, 6)
	for i := range viewers {
		viewers[i] = newClusterViewer(ctx, t, nodes, i%3, room)
	}
	for i, v := range viewers {
		if on := v.node(); on != i%3 {
			t.Fatalf("viewer %d connected to node %d, want %d", i, on, i%3)
		}
	}

	// 1. A donation posted to node 0 reaches all six at one offset.
	d1 := mustDonate(t, nodes[0], room, "cluster-1", 1000)
	var offset uint64
	for i, v := range viewers {
		ev := v.waitDonation(t, d1)
		if ev.Type != wire.TypeDonation {
			t.Fatalf("viewer %d (node %d) got donation %s in a %s, want it live", i, v.node(), d1, ev.Type)
		}
		if i == 0 {
			offset = ev.Offset
		} else if ev.Offset != offset {
			t.Fatalf("viewer %d on node %d got the donation at offset %d, viewer 0 at %d", i, v.node(), ev.Offset, offset)
		}
	}

	// 2. Node 1 dies; a donation is made before its viewers are back.
	nodes[1].kill(t)
	d2 := mustDonate(t, nodes[0], room, "cluster-2", 2000)
	for i, v := range viewers {
		ev := v.waitDonation(t, d2)
		if i%3 != 1 {
			continue
		}
		if ev.Type != wire.TypeDonation {
			t.Fatalf("viewer %d, moved from the killed node, got donation %s in a %s, want it resumed from history", i, d2, ev.Type)
		}
		if on := v.node(); on == 1 {
			t.Fatalf("viewer %d is still on the killed node", i)
		}
		if s := v.sub.Stats(); s.Resumes == 0 || s.Snapshots != 1 {
			t.Fatalf("viewer %d from the killed node: %d resumes and %d snapshots, want a resume and no snapshot but the first", i, s.Resumes, s.Snapshots)
		}
	}

	// 3. Redis dies and comes back empty; a donation made meanwhile.
	rds.Kill()
	d3 := mustDonate(t, nodes[2], room, "cluster-3", 3000)
	rds.Restart()
	for _, v := range viewers {
		v.waitDonation(t, d3)
	}
	// It was published (not only read from the ledger by snapshots), once:
	// once the outbox is empty nothing can publish it again, and the new
	// epoch's stream holds it exactly once.
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	for {
		var pending int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&pending); err != nil {
			t.Fatalf("reading the outbox: %v", err)
		}
		if pending == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d events still in the outbox after Redis came back", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc := redis.NewClient(&redis.Options{Network: "unix", Addr: rds.Sock})
	defer rc.Close()
	entries, err := rc.XRange(ctx, "gl:{"+room+"}:s", "-", "+").Result()
	if err != nil {
		t.Fatalf("reading the room's stream: %v", err)
	}
	published := 0
	for _, e := range entries {
		if d, _ := e.Values["d"].(string); e.Values["t"] == wire.TypeDonation && strings.Contains(d, d3) {
			published++
		}
	}
	if published != 1 {
		t.Fatalf("donation %s, made while Redis was down, is in the room's stream %d times, want once", d3, published)
	}
	for i, v := range viewers {
		ev, _ := v.find(d3)
		t.Logf("viewer %d: now on node %d, got the Redis-outage donation in a %s; %+v", i, v.node(), ev.Type, v.sub.Stats())
		if n := v.count(d1) + v.count(d2) + v.count(d3); n != 3 {
			t.Errorf("viewer %d saw %d donation deliveries, want 3 (one each)", i, n)
		}
	}
}

// clusterViewer is an SDK viewer of the cluster that records its events.
type clusterViewer struct {
	conn *client.Conn
	sub  *client.Subscription

	mu     sync.Mutex
	on     int            // the node it last connected to
	events []client.Event // in order
	wake   chan struct{}
}

func newClusterViewer(ctx context.Context, t *testing.T, nodes []*demoServer, prefer int, room string) *clusterViewer {
	t.Helper()
	v := &clusterViewer{on: -1, wake: make(chan struct{}, 1)}
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var errs []error
			for k := range len(nodes) {
				i := (prefer + k) % len(nodes)
				c, err := d.DialContext(ctx, network, strings.TrimPrefix(nodes[i].base, "http://"))
				if err == nil {
					v.mu.Lock()
					v.on = i
					v.mu.Unlock()
					return c, nil
				}
				errs = append(errs, err)
			}
			return nil, fmt.Errorf("every node is down: %v", errs)
		},
		DisableKeepAlives: true, // each request picks its node afresh
	}
	t.Cleanup(tr.CloseIdleConnections)
	conn, err := client.Dial(ctx, "http://cluster.invalid", &client.Options{
		HTTPClient: &http.Client{Transport: tr, Timeout: 20 * time.Second},
		BackoffMin: 100 * time.Millisecond,
		BackoffMax: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	v.conn = conn
	if v.sub, err = conn.Subscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			ev, err := v.sub.Next(ctx)
			if err != nil {
				return
			}
			v.mu.Lock()
			v.events = append(v.events, ev)
			v.mu.Unlock()
			select {
			case v.wake <- struct{}{}:
			default:
			}
		}
	}()
	return v
}

func (v *clusterViewer) node() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.on
}

// find returns the first event carrying donation id, live or in a
// snapshot's recent donations.
func (v *clusterViewer) find(id string) (client.Event, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ev := range v.events {
		if hasDonation(ev, id) {
			return ev, true
		}
	}
	return client.Event{}, false
}

// count is how many events carried donation id.
func (v *clusterViewer) count(id string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, ev := range v.events {
		if ev.Type == wire.TypeDonation && hasDonation(ev, id) {
			n++
		}
	}
	if n == 0 && slices.ContainsFunc(v.events, func(ev client.Event) bool { return hasDonation(ev, id) }) {
		n = 1 // from a snapshot
	}
	return n
}

func hasDonation(ev client.Event, id string) bool {
	switch d := ev.Data.(type) {
	case wire.DonationData:
		return d.ID == id
	case *client.Snapshot:
		return slices.ContainsFunc(d.RecentDonations, func(r apiclient.Donation) bool { return r.Id == id })
	}
	return false
}

func (v *clusterViewer) waitDonation(t *testing.T, id string) client.Event {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		if ev, ok := v.find(id); ok {
			return ev
		}
		select {
		case <-v.wake:
		case <-deadline:
			v.mu.Lock()
			types := make([]string, len(v.events))
			for i, ev := range v.events {
				types[i] = fmt.Sprintf("%s@%d", ev.Type, ev.Offset)
			}
			v.mu.Unlock()
			t.Fatalf("donation %s never reached the viewer on node %d (events: %v, stats %+v)", id, v.node(), types, v.sub.Stats())
		}
	}
}

// mustDonate posts a donation to one node and returns its id.
func mustDonate(t *testing.T, n *demoServer, room, key string, amount int64) string {
	t.Helper()
	code, id, err := donate(n.base, room, key, "", amount, "Cluster donor")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate %s on %s: %d %v", key, n.base, code, err)
	}
	return id
}
