package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/internal/store"
)

func testStatuses(t *testing.T, open func(t *testing.T) store.Store) {
	const (
		scheduled = store.StatusScheduled
		live      = store.StatusLive
		ended     = store.StatusEnded
	)
	t.Run("Transitions", func(t *testing.T) {
		s := open(t)
		b := mustBroadcaster(t, s, "b")
		n := mustNonprofit(t, s, "n", true)
		for _, c := range []struct {
			from, to string
			allowed  bool
		}{
			{scheduled, scheduled, true},
			{scheduled, live, true},
			{scheduled, ended, true},
			{live, scheduled, false},
			{live, live, true},
			{live, ended, true},
			{ended, scheduled, false},
			{ended, live, false},
			{ended, ended, true},
			{scheduled, "paused", false},
			{live, "", false},
			{ended, "LIVE", false},
		} {
			t.Run(c.from+"→"+c.to, func(t *testing.T) {
				f := mustFundraiser(t, s, b, n, c.from+"→"+c.to)
				if c.from != scheduled {
					f = mustStatus(t, s, f, c.from)
				}
				nextMillisecond()
				before := time.Now()
				got, err := s.SetFundraiserStatus(t.Context(), f.ID, c.to)
				if !c.allowed {
					wantErr(t, "refused SetFundraiserStatus", err, store.ErrConflict)
					read, err := s.GetFundraiser(t.Context(), f.ID)
					if err != nil {
						t.Fatalf("GetFundraiser: %v", err)
					}
					diff(t, "fundraiser after a refused move", f, read)
					return
				}
				if err != nil {
					t.Fatalf("SetFundraiserStatus: %v", err)
				}
				want := f
				want.Status = c.to
				if c.to != c.from {
					switch c.to {
					case live:
						checkTime(t, "StartedAt", got.StartedAt, before)
						want.StartedAt = got.StartedAt
					case ended:
						checkTime(t, "EndedAt", got.EndedAt, before)
						want.EndedAt = got.EndedAt
					}
				}
				diff(t, "fundraiser after the move", want, got)
				read, err := s.GetFundraiser(t.Context(), f.ID)
				if err != nil {
					t.Fatalf("GetFundraiser: %v", err)
				}
				diff(t, "GetFundraiser after the move", got, read)
			})
		}
	})

	t.Run("LiveThenEnded", func(t *testing.T) {
		s := open(t)
		f := mustFundraiser(t, s, mustBroadcaster(t, s, "b"), mustNonprofit(t, s, "n", true), "f")
		l := mustStatus(t, s, f, live)
		nextMillisecond()
		e := mustStatus(t, s, l, ended)
		if e.StartedAt.IsZero() || !e.StartedAt.Equal(l.StartedAt) {
			t.Errorf("StartedAt after ending = %v, want %v from going live", e.StartedAt, l.StartedAt)
		}
		if !e.EndedAt.After(e.StartedAt) {
			t.Errorf("EndedAt %v is not after StartedAt %v", e.EndedAt, e.StartedAt)
		}
	})

	// Many callers race to move one fundraiser; the result must be as if
	// they had run one after another.
	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		f := mustFundraiser(t, s, mustBroadcaster(t, s, "b"), mustNonprofit(t, s, "n", true), "race")
		const callers = 16
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results [callers]store.Fundraiser
			errs    [callers]error
		)
		for i := range callers {
			to := live
			if i%2 == 1 {
				to = ended
			}
			wg.Go(func() {
				<-start
				results[i], errs[i] = s.SetFundraiserStatus(t.Context(), f.ID, to)
			})
		}
		close(start)
		wg.Wait()

		final, err := s.GetFundraiser(t.Context(), f.ID)
		if err != nil {
			t.Fatalf("GetFundraiser: %v", err)
		}
		if final.Status != ended {
			t.Fatalf("final status = %q, want %q", final.Status, ended)
		}
		wentLive := false
		for i := range callers {
			err, got := errs[i], results[i]
			if i%2 == 1 {
				// Every move to ended succeeds, and all see the one end.
				if err != nil {
					t.Errorf("caller %d: SetFundraiserStatus(ended): %v", i, err)
					continue
				}
				diff(t, "result of a move to ended", final, got)
				continue
			}
			// A move to live succeeds before the end and is refused after.
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				t.Errorf("caller %d: SetFundraiserStatus(live): %v", i, err)
				continue
			}
			wentLive = true
			want := final
			want.Status, want.EndedAt = live, time.Time{}
			diff(t, "result of a move to live", want, got)
		}
		if wentLive == final.StartedAt.IsZero() {
			t.Errorf("a move to live succeeded: %v, but final StartedAt = %v", wentLive, final.StartedAt)
		}
	})
}
