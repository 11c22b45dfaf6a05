package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/internal/outbox"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/sqlite"
)

// hub records what the dispatcher publishes; failAt makes the n-th call
// (1-based) fail once.
type hub struct {
	mu     sync.Mutex
	got    []string
	calls  int
	failAt map[int]bool
	notify chan struct{}
}

func newHub() *hub { return &hub{failAt: map[int]bool{}, notify: make(chan struct{}, 1000)} }

func (h *hub) PublishRaw(_ context.Context, room, typ string, data json.RawMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.failAt[h.calls] {
		return errors.New("hub unavailable")
	}
	h.got = append(h.got, room+" "+typ+" "+string(data))
	h.notify <- struct{}{}
	return nil
}

func (h *hub) published() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func openLedger(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func enqueue(t *testing.T, s *sqlite.Store, n, from int) []string {
	t.Helper()
	var want []string
	for i := from; i < from+n; i++ {
		data := fmt.Sprintf(`{"n":%d}`, i)
		if err := s.Enqueue(t.Context(), "f_room", "shoutout", []byte(data)); err != nil {
			t.Fatal(err)
		}
		want = append(want, "f_room shoutout "+data)
	}
	return want
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDrainPublishesInOrderAndEmptiesTheOutbox(t *testing.T) {
	s := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	want := enqueue(t, s, 600, 0) // more than one batch
	h := newHub()
	d, err := outbox.New(outbox.Config{Ledger: s, Publisher: h, Batch: 256})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.published(); !equal(got, want) {
		t.Fatalf("published %d events, want the 600 in order", len(got))
	}
	if left, _ := s.PendingEvents(t.Context(), 10); len(left) != 0 {
		t.Fatalf("%d events left in the outbox", len(left))
	}
}

func TestAFailedPublishIsRetriedWithoutLossOrReordering(t *testing.T) {
	s := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	want := enqueue(t, s, 10, 0)
	h := newHub()
	h.failAt[4] = true // the 4th event fails once
	d, _ := outbox.New(outbox.Config{Ledger: s, Publisher: h})
	if err := d.Drain(t.Context()); err == nil {
		t.Fatal("Drain with a failing hub returned nil")
	}
	if got := h.published(); !equal(got, want[:3]) {
		t.Fatalf("after the failure: published %v, want the first 3", got)
	}
	if err := d.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.published(); !equal(got, want) {
		t.Fatalf("after the retry: published %v, want all 10 in order, once each", got)
	}
}

func TestRunReplaysWhatARestartFoundAndFollowsNotifications(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	s := openLedger(t, path)
	left := enqueue(t, s, 5, 0) // a previous process committed these and died
	h := newHub()
	d, _ := outbox.New(outbox.Config{Ledger: s, Publisher: h, Poll: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, h, 5)
	if got := h.published(); !equal(got, left) {
		t.Fatalf("replay at start: %v", got)
	}
	more := enqueue(t, s, 3, 5)
	d.Notify() // as the donation service does after a commit
	waitFor(t, h, 8)
	if got := h.published(); !equal(got, append(left, more...)) {
		t.Fatalf("after a notification: %v", got)
	}
}

func waitFor(t *testing.T, h *hub, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for len(h.published()) < n {
		select {
		case <-h.notify:
		case <-timeout:
			t.Fatalf("published %d events, want %d", len(h.published()), n)
		}
	}
}

// claimLedger is a shared outbox as store.EventClaimer describes it,
// without the locking: it records what each claim deleted.
type claimLedger struct {
	mu     sync.Mutex
	events []store.OutboxEvent
	claims int
}

func (l *claimLedger) PendingEvents(context.Context, int) ([]store.OutboxEvent, error) {
	panic("a claiming ledger must be drained through ClaimEvents")
}

func (l *claimLedger) MarkPublished(context.Context, []int64) error {
	panic("a claiming ledger must be drained through ClaimEvents")
}

func (l *claimLedger) ClaimEvents(_ context.Context, limit int, publish func([]store.OutboxEvent) (int, error)) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claims++
	batch := l.events[:min(limit, len(l.events))]
	if len(batch) == 0 {
		return 0, nil
	}
	done, err := publish(slices.Clone(batch))
	l.events = l.events[done:]
	if err != nil {
		return len(batch), fmt.Errorf("claim: %w", err)
	}
	return len(batch), nil
}

func TestDrainClaimsFromASharedLedger(t *testing.T) {
	l := &claimLedger{}
	var want []string
	for i := range 10 {
		data := fmt.Sprintf(`{"n":%d}`, i)
		l.events = append(l.events, store.OutboxEvent{Seq: int64(i + 1), Room: "f_room", Type: "shoutout", Data: []byte(data), CreatedAt: time.Now()})
		want = append(want, "f_room shoutout "+data)
	}
	h := newHub()
	h.failAt[6] = true // the sixth publish fails once
	d, err := outbox.New(outbox.Config{Ledger: l, Publisher: h, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Drain(t.Context()); err == nil {
		t.Fatal("Drain with a failing hub returned nil")
	}
	if got := len(l.events); got != 5 {
		t.Fatalf("after a failure at the sixth event %d events are left, want 5 (the published ones are deleted, the rest kept)", got)
	}
	if err := d.Drain(t.Context()); err != nil {
		t.Fatalf("second Drain: %v", err)
	}
	if got := h.published(); !equal(got, want) {
		t.Fatalf("published %q, want %q once each, in order", got, want)
	}
	if len(l.events) != 0 {
		t.Fatalf("%d events left after draining", len(l.events))
	}
}
