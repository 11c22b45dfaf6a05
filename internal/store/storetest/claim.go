package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// testClaimEvents covers store.EventClaimer, for the backends that
// implement it; the others skip.
func testClaimEvents(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("SeqOrder", func(t *testing.T) {
		s, c := openClaimer(t, open)
		for i := range 6 {
			enqueueN(t, s, fmt.Sprintf("f_%d", i%3), i)
		}
		want := outboxEvents(t, s)
		var got []store.OutboxEvent
		n, err := c.ClaimEvents(t.Context(), 0, func(evs []store.OutboxEvent) (int, error) {
			got = append(got, evs...)
			return len(evs), nil
		})
		if err != nil || n != len(want) {
			t.Fatalf("ClaimEvents = %d, %v; want %d, nil", n, err, len(want))
		}
		diff(t, "claimed events", want, got)
		if left := outboxEvents(t, s); len(left) != 0 {
			t.Errorf("%d events left after all were published, want none", len(left))
		}

		calls := 0
		n, err = c.ClaimEvents(t.Context(), 0, func([]store.OutboxEvent) (int, error) { calls++; return 0, nil })
		if n != 0 || err != nil || calls != 0 {
			t.Errorf("ClaimEvents on an empty outbox = %d, %v after %d publish calls; want 0, nil after 0", n, err, calls)
		}
	})

	t.Run("Limit", func(t *testing.T) {
		s, c := openClaimer(t, open)
		for i := range 5 {
			enqueueN(t, s, "f_1", i)
		}
		all := outboxEvents(t, s)
		var got []store.OutboxEvent
		n, err := c.ClaimEvents(t.Context(), 2, func(evs []store.OutboxEvent) (int, error) {
			got = evs
			return len(evs), nil
		})
		if err != nil || n != 2 {
			t.Fatalf("ClaimEvents(2) = %d, %v; want 2, nil", n, err)
		}
		diff(t, "ClaimEvents(2) events", all[:2], got)
		diff(t, "events left", all[2:], outboxEvents(t, s))
	})

	t.Run("DoneDeletesExactly", func(t *testing.T) {
		s, c := openClaimer(t, open)
		for i := range 5 {
			enqueueN(t, s, fmt.Sprintf("f_%d", i%2), i)
		}
		all := outboxEvents(t, s)
		for _, done := range []int{2, 0, -1} {
			before := outboxEvents(t, s)
			n, err := c.ClaimEvents(t.Context(), 0, func(evs []store.OutboxEvent) (int, error) { return done, nil })
			if err != nil || n != len(before) {
				t.Fatalf("ClaimEvents reporting %d done = %d, %v; want %d, nil", done, n, err, len(before))
			}
		}
		diff(t, "events left after 2 done, then none", all[2:], outboxEvents(t, s))
		// More done than given counts as all.
		if _, err := c.ClaimEvents(t.Context(), 0, func(evs []store.OutboxEvent) (int, error) { return len(evs) + 5, nil }); err != nil {
			t.Fatal(err)
		}
		if left := outboxEvents(t, s); len(left) != 0 {
			t.Errorf("%d events left after all were reported done, want none", len(left))
		}
	})

	t.Run("PublishErrorKeepsTheRest", func(t *testing.T) {
		s, c := openClaimer(t, open)
		for i := range 4 {
			enqueueN(t, s, "f_1", i)
		}
		all := outboxEvents(t, s)
		boom := errors.New("hub unreachable")
		n, err := c.ClaimEvents(t.Context(), 0, func(evs []store.OutboxEvent) (int, error) { return 1, boom })
		if n != 4 {
			t.Errorf("ClaimEvents = %d claimed, want 4", n)
		}
		wantErr(t, "ClaimEvents with a failing publish", err, boom)
		diff(t, "events left", all[1:], outboxEvents(t, s))
	})

	// A claimer holding room A's first event makes another skip all of
	// room A while still taking room B.
	t.Run("HeldRoomIsSkipped", func(t *testing.T) {
		s, c := openClaimer(t, open)
		enqueueN(t, s, "f_a", 1)
		enqueueN(t, s, "f_b", 1)
		enqueueN(t, s, "f_a", 2)
		enqueueN(t, s, "f_b", 2)
		enqueueN(t, s, "f_a", 3)
		all := outboxEvents(t, s) // a1 b1 a2 b2 a3
		var second []store.OutboxEvent
		n, err := c.ClaimEvents(t.Context(), 1, func(evs []store.OutboxEvent) (int, error) {
			diff(t, "first claimer's events", all[:1], evs)
			// While a1 is held: a second claimer gets b1 and b2 only.
			m, err := c.ClaimEvents(t.Context(), 0, func(evs []store.OutboxEvent) (int, error) {
				second = evs
				return len(evs), nil
			})
			if err != nil || m != 2 {
				t.Errorf("second ClaimEvents = %d, %v; want 2, nil", m, err)
			}
			return len(evs), nil
		})
		if err != nil || n != 1 {
			t.Fatalf("first ClaimEvents = %d, %v; want 1, nil", n, err)
		}
		diff(t, "second claimer's events", []store.OutboxEvent{all[1], all[3]}, second)
		diff(t, "events left", []store.OutboxEvent{all[2], all[4]}, outboxEvents(t, s))
	})

	// Writers and claimers at once, over many rooms, two writers per room:
	// every event is published exactly once, each room's events in seq
	// order (which must be the order they committed in), and each writer's
	// events in the order it wrote them.
	t.Run("ConcurrentClaimers", func(t *testing.T) {
		s, c := openClaimer(t, open)
		const rooms, writers, each, claimers = 12, 2, 20, 4
		type published struct {
			seq  int64
			w, n int
		}
		var (
			writing sync.WaitGroup
			written atomic.Bool
			mu      sync.Mutex
			byRoom  = make(map[string][]published) // in publish order
			seen    = make(map[int64]bool)
			calls   atomic.Int64
		)
		for r := range rooms * writers {
			writing.Go(func() {
				room, w := fmt.Sprintf("f_%02d", r/writers), r%writers
				for i := range each {
					data := fmt.Appendf(nil, `{"n":%d,"w":%d}`, i, w)
					if err := s.Enqueue(t.Context(), room, wire.TypeShoutout, data); err != nil {
						t.Errorf("Enqueue: %v", err)
						return
					}
				}
			})
		}
		var claiming sync.WaitGroup
		for range claimers {
			claiming.Go(func() {
				for {
					finished := written.Load() // read before claiming: an empty outbox after means done
					n, err := c.ClaimEvents(t.Context(), 7, func(evs []store.OutboxEvent) (int, error) {
						// Now and then report fewer done: the rest must come again.
						done := len(evs)
						if calls.Add(1)%5 == 0 {
							done /= 2
						}
						mu.Lock()
						defer mu.Unlock()
						for _, e := range evs[:done] {
							if seen[e.Seq] {
								t.Errorf("event %d published twice", e.Seq)
							}
							seen[e.Seq] = true
							w, n := shout(t, e)
							byRoom[e.Room] = append(byRoom[e.Room], published{e.Seq, w, n})
						}
						return done, nil
					})
					if err != nil {
						t.Errorf("ClaimEvents: %v", err)
						return
					}
					// Nothing claimed may also mean that every event
					// left is held by another claimer.
					if n == 0 && finished && len(outboxEvents(t, s)) == 0 {
						return
					}
				}
			})
		}
		writing.Wait()
		written.Store(true)
		claiming.Wait()

		if len(seen) != rooms*writers*each {
			t.Errorf("%d events published, want %d", len(seen), rooms*writers*each)
		}
		for room, ps := range byRoom {
			next := make([]int, writers)
			for i, p := range ps {
				if i > 0 && p.seq <= ps[i-1].seq {
					t.Errorf("room %s: event %d published after %d", room, p.seq, ps[i-1].seq)
				}
				if p.n != next[p.w] {
					t.Errorf("room %s: writer %d's event %d published when %d was due", room, p.w, p.n, next[p.w])
				}
				next[p.w] = p.n + 1
			}
		}
		if left := outboxEvents(t, s); len(left) != 0 {
			t.Errorf("%d events left, want none", len(left))
		}
	})
}

// openClaimer opens a store, skipping t if it is no store.EventClaimer.
func openClaimer(t *testing.T, open func(t *testing.T) store.Store) (store.Store, store.EventClaimer) {
	t.Helper()
	s := open(t)
	c, ok := s.(store.EventClaimer)
	if !ok {
		t.Skipf("%T does not implement store.EventClaimer", s)
	}
	return s, c
}

// enqueueN enqueues a shout-out {"n": n} in room.
func enqueueN(t *testing.T, s store.Store, room string, n int) {
	t.Helper()
	if err := s.Enqueue(t.Context(), room, wire.TypeShoutout, fmt.Appendf(nil, `{"n":%d}`, n)); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

// outboxEvents returns every event in the outbox, without removing any.
func outboxEvents(t *testing.T, s store.Store) []store.OutboxEvent {
	t.Helper()
	evs, err := s.PendingEvents(t.Context(), 10_000)
	if err != nil {
		t.Fatalf("PendingEvents: %v", err)
	}
	return evs
}

// shout decodes the writer and n of a test shout-out {"n", "w"}.
func shout(t *testing.T, e store.OutboxEvent) (w, n int) {
	var v struct{ N, W int }
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Errorf("event %d: bad data %q: %v", e.Seq, e.Data, err)
	}
	return v.W, v.N
}
