package streams_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/sqlite"
	"github.com/givelive/givelive/internal/streams"
)

// published records the room events, as the hub would receive them.
type published struct {
	mu  sync.Mutex
	evs []string
}

func (p *published) Publish(_ context.Context, room, typ string, data any) (wire.Position, error) {
	raw, _ := json.Marshal(data)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.evs = append(p.evs, room+" "+typ+" "+string(raw))
	return wire.Position{}, nil
}

func (p *published) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.evs
	p.evs = nil
	return e
}

func setup(t *testing.T) (store.Store, store.Fundraiser) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	np, err := st.CreateNonprofit(ctx, store.NewNonprofit{Name: "Water", RegistrationID: "1", Country: "GB"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.VerifyNonprofit(ctx, np.ID); err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateBroadcaster(ctx, "Ana", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.CreateFundraiser(ctx, store.NewFundraiser{BroadcasterID: b.ID, NonprofitID: np.ID, Title: "t",
		GoalAmount: 1000, Currency: "USD", StreamKey: "key-1"})
	if err != nil {
		t.Fatal(err)
	}
	return st, f
}

func TestFirstStreamMakesTheFundraiserLiveAndTellsTheRoom(t *testing.T) {
	ctx := context.Background()
	st, f := setup(t)
	pub := &published{}
	notified := 0
	tr, err := streams.New(streams.Config{Ledger: st, Publisher: pub, Notify: func() { notified++ }})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Live(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetFundraiser(ctx, f.ID)
	if err != nil || got.Status != store.StatusLive || got.StartedAt.IsZero() {
		t.Fatalf("fundraiser after the stream started: %+v, %v", got, err)
	}
	if notified != 1 {
		t.Fatalf("outbox woken %d times, want 1 (the fundraiser event)", notified)
	}
	pending, err := st.PendingEvents(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Type != wire.TypeFundraiser {
		t.Fatalf("outbox holds %+v (%v), want one fundraiser event", pending, err)
	}
	want := []string{f.ID + ` stream {"status":"live","hls":"/hls/` + f.ID + `/index.m3u8"}`}
	if ev := pub.take(); !slices.Equal(ev, want) {
		t.Fatalf("events %q, want %q", ev, want)
	}
	if !tr.IsLive(ctx, f.ID) {
		t.Fatal("not live")
	}

	// A reconnecting publisher reports live again: nothing new. Offline
	// leaves the fundraiser live.
	if err := tr.Live(ctx, f.ID); err != nil || len(pub.take()) != 0 || notified != 1 {
		t.Fatalf("second live: %v", err)
	}
	if err := tr.Offline(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if ev := pub.take(); len(ev) != 1 || tr.IsLive(ctx, f.ID) {
		t.Fatalf("offline events %q", ev)
	}
	if got, _ := st.GetFundraiser(ctx, f.ID); got.Status != store.StatusLive {
		t.Fatalf("fundraiser %s after the stream stopped, want live", got.Status)
	}
}

func TestEndedFundraiserCannotStreamAndIsStopped(t *testing.T) {
	ctx := context.Background()
	st, f := setup(t)
	pub := &published{}
	var stopped []string
	tr, err := streams.New(streams.Config{Ledger: st, Publisher: pub, Stop: func(id string) bool {
		stopped = append(stopped, id)
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Live(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	pub.take()
	if _, err := st.SetFundraiserStatus(ctx, f.ID, store.StatusEnded); err != nil {
		t.Fatal(err)
	}
	if err := tr.Ended(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if ev := pub.take(); len(ev) != 1 || !slices.Contains(stopped, f.ID) {
		t.Fatalf("ended: events %q, stopped %q", ev, stopped)
	}
	// The publisher's disconnect reports offline: the room already heard "ended".
	if err := tr.Offline(ctx, f.ID); err != nil || len(pub.take()) != 0 {
		t.Fatalf("offline after the end published something (%v)", err)
	}
	stopped = nil
	if err := tr.Live(ctx, f.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("live after the end: %v, want ErrConflict", err)
	}
	if len(stopped) != 1 || tr.IsLive(ctx, f.ID) || len(pub.take()) != 0 {
		t.Fatalf("an ended fundraiser's stream was not stopped (stopped %q)", stopped)
	}
}

// fakeDirectory records directory calls in the same log as the room's
// events, to check their order.
type fakeDirectory struct {
	log       *published
	elsewhere map[string]bool // what Elsewhere and Withdraw answer
}

func (d *fakeDirectory) Announce(_ context.Context, id string) error {
	d.log.Publish(context.Background(), id, "announce", nil)
	return nil
}

func (d *fakeDirectory) Withdraw(_ context.Context, id string) (bool, error) {
	d.log.Publish(context.Background(), id, "withdraw", nil)
	return d.elsewhere[id], nil
}

func (d *fakeDirectory) Elsewhere(_ context.Context, id string) (bool, error) {
	return d.elsewhere[id], nil
}

// With a directory, a stream is announced before the room hears "live" and
// withdrawn before "offline"; a stream live on another node is live here
// too; a stream taken over by another node goes offline here silently;
// a vanished stream is told offline unless it is live here or on another
// node.
func TestDirectory(t *testing.T) {
	ctx := context.Background()
	st, f := setup(t)
	pub := &published{}
	dir := &fakeDirectory{log: pub, elsewhere: map[string]bool{}}
	tr, err := streams.New(streams.Config{Ledger: st, Publisher: pub, Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	live := f.ID + ` stream {"status":"live","hls":"/hls/` + f.ID + `/index.m3u8"}`
	offline := f.ID + ` stream {"status":"offline","hls":"/hls/` + f.ID + `/index.m3u8"}`

	if err := tr.Live(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if err := tr.Offline(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{f.ID + " announce null", live, f.ID + " withdraw null", offline}
	if ev := pub.take(); !slices.Equal(ev, want) {
		t.Fatalf("events %q, want %q", ev, want)
	}

	if tr.IsLive(ctx, f.ID) {
		t.Fatal("live with nothing anywhere")
	}
	dir.elsewhere[f.ID] = true
	if !tr.IsLive(ctx, f.ID) || tr.IsLocal(f.ID) {
		t.Fatal("a stream on another node is not live here, or is local")
	}

	// Taken over: this node's publisher drops after another node said live.
	if err := tr.Live(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	pub.take()
	if err := tr.Offline(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if ev := pub.take(); !slices.Equal(ev, []string{f.ID + " withdraw null"}) {
		t.Fatalf("offline after a takeover: events %q, want only the withdraw", ev)
	}

	// Stale news: a newer publish is live on another node.
	tr.Vanished(ctx, f.ID)
	if ev := pub.take(); len(ev) != 0 {
		t.Fatalf("vanished while live on another node: events %q", ev)
	}
	delete(dir.elsewhere, f.ID) // that node died
	tr.Vanished(ctx, f.ID)
	if ev := pub.take(); !slices.Equal(ev, []string{offline}) {
		t.Fatalf("vanished: events %q, want %q", ev, offline)
	}
	if err := tr.Live(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	pub.take()
	tr.Vanished(ctx, f.ID) // stale news: the stream is live here
	if ev := pub.take(); len(ev) != 0 {
		t.Fatalf("vanished while live here: events %q", ev)
	}
}
