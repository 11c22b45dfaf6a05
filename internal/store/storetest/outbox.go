package storetest

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

func testOutbox(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("EnqueueAndPublish", func(t *testing.T) {
		s := open(t)
		if got, err := s.PendingEvents(t.Context(), 10); err != nil || len(got) != 0 {
			t.Fatalf("PendingEvents of an empty outbox = %v, %v; want none, nil", got, err)
		}
		before := time.Now()
		for _, e := range []struct{ room, data string }{
			{"f_1", `{"n":1}`}, {"f_2", `{"n":2}`}, {"f_1", `{"n":3}`},
		} {
			data := []byte(e.data)
			if err := s.Enqueue(t.Context(), e.room, wire.TypeShoutout, data); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			data[0] = 'X' // the store must not keep the caller's slice
		}
		got, err := s.PendingEvents(t.Context(), 0)
		if err != nil {
			t.Fatalf("PendingEvents: %v", err)
		}
		if len(got) != 3 {
			t.Fatalf("PendingEvents = %d events, want 3", len(got))
		}
		for i, e := range got {
			checkTime(t, "CreatedAt", e.CreatedAt, before)
			if i > 0 && e.Seq <= got[i-1].Seq {
				t.Errorf("Seq %d after %d", e.Seq, got[i-1].Seq)
			}
		}
		type short struct{ Room, Type, Data string }
		var shorts []short
		for _, e := range got {
			shorts = append(shorts, short{e.Room, e.Type, string(e.Data)})
		}
		diff(t, "pending events", []short{
			{"f_1", wire.TypeShoutout, `{"n":1}`},
			{"f_2", wire.TypeShoutout, `{"n":2}`},
			{"f_1", wire.TypeShoutout, `{"n":3}`},
		}, shorts)

		first2, err := s.PendingEvents(t.Context(), 2)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "PendingEvents(2)", got[:2], first2)

		if err := s.MarkPublished(t.Context(), nil); err != nil {
			t.Errorf("MarkPublished(nil): %v", err)
		}
		if err := s.MarkPublished(t.Context(), []int64{got[0].Seq, got[2].Seq, got[2].Seq + 1_000}); err != nil {
			t.Fatalf("MarkPublished: %v", err)
		}
		left, err := s.PendingEvents(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "events left", got[1:2], left)

		// Seqs keep growing after the newest events are deleted.
		if err := s.MarkPublished(t.Context(), []int64{got[1].Seq}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(t.Context(), "f_1", wire.TypeShoutout, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		next, err := s.PendingEvents(t.Context(), 10)
		if err != nil || len(next) != 1 {
			t.Fatalf("PendingEvents = %v, %v; want one event", next, err)
		}
		if next[0].Seq <= got[2].Seq {
			t.Errorf("Seq %d after deleting %d, want it higher", next[0].Seq, got[2].Seq)
		}

		if err := s.Enqueue(t.Context(), "f_1", wire.TypeShoutout, []byte(`{"broken`)); err == nil {
			t.Error("Enqueue of invalid JSON succeeded")
		}
	})

	t.Run("FundraiserStatusEvents", func(t *testing.T) {
		s := open(t)
		f := mustFundraiser(t, s, mustBroadcaster(t, s, "b"), mustNonprofit(t, s, "n", true), "f")
		checkEvents(t, s) // creating announces nothing
		mustStatus(t, s, f, store.StatusLive)
		checkEvents(t, s, fundraiserEvent(f, store.StatusLive, f.GoalAmount))
		mustStatus(t, s, f, store.StatusLive)
		checkEvents(t, s)
		_, err := s.SetFundraiserStatus(t.Context(), f.ID, store.StatusScheduled)
		wantErr(t, "moving back", err, store.ErrConflict)
		checkEvents(t, s)
		mustStatus(t, s, f, store.StatusEnded)
		checkEvents(t, s, fundraiserEvent(f, store.StatusEnded, f.GoalAmount))
		mustStatus(t, s, f, store.StatusEnded)
		checkEvents(t, s)
	})
}
