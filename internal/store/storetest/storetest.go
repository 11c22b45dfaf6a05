// Package storetest is the contract test suite for ledger backends: every
// implementation of store.Store (SQLite now, PostgreSQL later) runs the same
// subtests, so the backends cannot drift apart.
//
// Entry point: Run, called from a backend's own tests with a function that
// opens a fresh, empty store.
//
// Concurrency: Run calls open once per leaf subtest, one subtest at a time;
// some subtests then call the store from many goroutines at once.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/internal/store"
)

// Run runs the contract suite. open must return a new, empty store and close
// it with t.Cleanup; some subtests close the store themselves first, so that
// cleanup must accept a store that is already closed. The ClaimEvents
// subtests run for stores that implement store.EventClaimer and skip for
// the others.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Nonprofits", func(t *testing.T) { testNonprofits(t, open) })
	t.Run("Broadcasters", func(t *testing.T) { testBroadcasters(t, open) })
	t.Run("Fundraisers", func(t *testing.T) { testFundraisers(t, open) })
	t.Run("Statuses", func(t *testing.T) { testStatuses(t, open) })
	t.Run("ListFundraisers", func(t *testing.T) { testListFundraisers(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open) })
	t.Run("Donations", func(t *testing.T) { testDonations(t, open) })
	t.Run("DonationLists", func(t *testing.T) { testDonationLists(t, open) })
	t.Run("ConcurrentDonations", func(t *testing.T) { testConcurrentDonations(t, open) })
	t.Run("Milestones", func(t *testing.T) { testMilestones(t, open) })
	t.Run("Payouts", func(t *testing.T) { testPayouts(t, open) })
	t.Run("Moderation", func(t *testing.T) { testModeration(t, open) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("ClaimEvents", func(t *testing.T) { testClaimEvents(t, open) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, open) })
}

// testLifecycle covers Ping, Close and cancelled contexts.
func testLifecycle(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("PingThenClose", func(t *testing.T) {
		s := open(t)
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping on an open store: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Ping(t.Context()); err == nil {
			t.Fatal("Ping after Close returned nil, want an error")
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		calls := map[string]func() error{
			"Ping": func() error { return s.Ping(ctx) },
			"GetNonprofit": func() error {
				_, err := s.GetNonprofit(ctx, "np_00000000000000000000000000000000")
				return err
			},
			"CreateSession": func() error { _, err := s.CreateSession(ctx, "viewer", ""); return err },
			"CreateDonation": func() error {
				_, _, err := s.CreateDonation(ctx, store.NewDonation{
					FundraiserID: unknownFundraiser, Amount: 1, Status: store.DonationSucceeded,
				})
				return err
			},
			"PendingEvents": func() error { _, err := s.PendingEvents(ctx, 1); return err },
			"Secret": func() error {
				_, err := s.Secret(ctx, "k", func() ([]byte, error) { return []byte("v"), nil })
				return err
			},
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
			}
		}
	})
}

// checkID fails t unless id is prefix followed by a UUIDv7 in 32 lowercase
// hex digits.
func checkID(t *testing.T, prefix, id string) {
	t.Helper()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$`)
	if !re.MatchString(id) {
		t.Errorf("ID %q is not %q followed by a UUIDv7 in 32 lowercase hex digits", id, prefix)
	}
}

// checkTime fails t unless got is a UTC time between before (truncated to
// the stored millisecond) and now.
func checkTime(t *testing.T, what string, got, before time.Time) {
	t.Helper()
	after := time.Now()
	if got.Before(before.Truncate(time.Millisecond)) || got.After(after) {
		t.Errorf("%s = %v, want between %v and %v", what, got, before, after)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

// nextMillisecond returns once the wall clock has moved to a new millisecond,
// so a time the store records afterwards differs from any recorded before.
func nextMillisecond() {
	start := time.Now().UnixMilli()
	for time.Now().UnixMilli() == start {
		runtime.Gosched()
	}
}

// wantErr fails t unless err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

// diff fails t if got differs from want.
func diff[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// diffList is diff for lists, where a nil and an empty result are the same.
func diffList[T any](t *testing.T, what string, want, got []T) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	diff(t, what, want, got)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// mustNonprofit creates a nonprofit, verified if asked.
func mustNonprofit(t *testing.T, s store.Store, name string, verified bool) store.Nonprofit {
	t.Helper()
	n, err := s.CreateNonprofit(t.Context(), store.NewNonprofit{Name: name, RegistrationID: "REG-" + name, Country: "GB"})
	if err != nil {
		t.Fatalf("CreateNonprofit(%q): %v", name, err)
	}
	if verified {
		if n, err = s.VerifyNonprofit(t.Context(), n.ID); err != nil {
			t.Fatalf("VerifyNonprofit(%q): %v", name, err)
		}
	}
	return n
}

// mustBroadcaster creates a broadcaster with a random token.
func mustBroadcaster(t *testing.T, s store.Store, name string) store.Broadcaster {
	t.Helper()
	b, err := s.CreateBroadcaster(t.Context(), name, tokenHash(rand.Text()))
	if err != nil {
		t.Fatalf("CreateBroadcaster(%q): %v", name, err)
	}
	return b
}

// mustFundraiser creates a scheduled fundraiser with a random stream key.
func mustFundraiser(t *testing.T, s store.Store, b store.Broadcaster, n store.Nonprofit, title string) store.Fundraiser {
	t.Helper()
	f, err := s.CreateFundraiser(t.Context(), store.NewFundraiser{
		BroadcasterID: b.ID,
		NonprofitID:   n.ID,
		Title:         title,
		GoalAmount:    100_000,
		Currency:      "GBP",
		StreamKey:     rand.Text(),
	})
	if err != nil {
		t.Fatalf("CreateFundraiser(%q): %v", title, err)
	}
	return f
}

// mustStatus moves f to status and returns the updated record.
func mustStatus(t *testing.T, s store.Store, f store.Fundraiser, status string) store.Fundraiser {
	t.Helper()
	got, err := s.SetFundraiserStatus(t.Context(), f.ID, status)
	if err != nil {
		t.Fatalf("SetFundraiserStatus(%s, %q): %v", f.ID, status, err)
	}
	return got
}
