package storetest

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/givelive/givelive/internal/store"
)

const unknownFundraiser = "f_0190f0f0f0f07000800000000000dead"

func testFundraisers(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := open(t)
		n := mustNonprofit(t, s, "Shelter", true)
		b := mustBroadcaster(t, s, "streamer")
		in := store.NewFundraiser{
			BroadcasterID: b.ID,
			NonprofitID:   n.ID,
			Title:         "24 hours of Zelda 🎮",
			GoalAmount:    1_234_567,
			Currency:      "EUR",
			StreamKey:     "live_" + rand.Text(),
		}
		before := time.Now()
		got, err := s.CreateFundraiser(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateFundraiser: %v", err)
		}
		checkID(t, "f_", got.ID)
		checkTime(t, "CreatedAt", got.CreatedAt, before)
		diff(t, "created fundraiser", store.Fundraiser{
			ID:            got.ID,
			BroadcasterID: b.ID,
			NonprofitID:   n.ID,
			Title:         in.Title,
			GoalAmount:    in.GoalAmount,
			Currency:      in.Currency,
			Status:        store.StatusScheduled,
			StreamKey:     in.StreamKey,
			CreatedAt:     got.CreatedAt,
			Milestones:    store.DefaultMilestones,
		}, got)

		read, err := s.GetFundraiser(t.Context(), got.ID)
		if err != nil {
			t.Fatalf("GetFundraiser: %v", err)
		}
		diff(t, "GetFundraiser", got, read)

		byKey, err := s.FundraiserByStreamKey(t.Context(), in.StreamKey)
		if err != nil {
			t.Fatalf("FundraiserByStreamKey: %v", err)
		}
		diff(t, "FundraiserByStreamKey", got, byKey)
	})

	t.Run("RotateStreamKey", func(t *testing.T) {
		s := open(t)
		n := mustNonprofit(t, s, "Shelter", true)
		b := mustBroadcaster(t, s, "streamer")
		f := mustFundraiser(t, s, b, n, "one")
		other := mustFundraiser(t, s, b, n, "two")
		got, err := s.RotateStreamKey(t.Context(), f.ID, "live_"+rand.Text())
		if err != nil {
			t.Fatalf("RotateStreamKey: %v", err)
		}
		if got.StreamKey == f.StreamKey || got.ID != f.ID {
			t.Fatalf("rotated %+v from key %q", got, f.StreamKey)
		}
		_, err = s.FundraiserByStreamKey(t.Context(), f.StreamKey)
		wantErr(t, "the old key", err, store.ErrNotFound)
		byKey, err := s.FundraiserByStreamKey(t.Context(), got.StreamKey)
		if err != nil || byKey.ID != f.ID {
			t.Fatalf("the new key finds %+v, %v", byKey, err)
		}
		_, err = s.RotateStreamKey(t.Context(), f.ID, other.StreamKey)
		wantErr(t, "a key in use", err, store.ErrConflict)
		_, err = s.RotateStreamKey(t.Context(), unknownFundraiser, "live_x")
		wantErr(t, "an unknown fundraiser", err, store.ErrNotFound)
		mustStatus(t, s, f, store.StatusEnded)
		_, err = s.RotateStreamKey(t.Context(), f.ID, "live_"+rand.Text())
		wantErr(t, "an ended fundraiser", err, store.ErrConflict)
	})

	t.Run("CreateRefused", func(t *testing.T) {
		s := open(t)
		verified := mustNonprofit(t, s, "Verified", true)
		unverified := mustNonprofit(t, s, "Unverified", false)
		b := mustBroadcaster(t, s, "streamer")
		existing := mustFundraiser(t, s, b, verified, "existing")

		for _, c := range []struct {
			name        string
			broadcaster string
			nonprofit   string
			streamKey   string
			want        error
		}{
			{"unknown nonprofit", b.ID, unknownNonprofit, rand.Text(), store.ErrNotFound},
			{"unknown broadcaster", "b_0190f0f0f0f07000800000000000dead", verified.ID, rand.Text(), store.ErrNotFound},
			{"unverified nonprofit", b.ID, unverified.ID, rand.Text(), store.ErrNotVerified},
			{"stream key in use", b.ID, verified.ID, existing.StreamKey, store.ErrConflict},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.CreateFundraiser(t.Context(), store.NewFundraiser{
					BroadcasterID: c.broadcaster,
					NonprofitID:   c.nonprofit,
					Title:         c.name,
					GoalAmount:    500,
					Currency:      "USD",
					StreamKey:     c.streamKey,
				})
				wantErr(t, "CreateFundraiser", err, c.want)
				for _, other := range []error{store.ErrNotFound, store.ErrNotVerified, store.ErrConflict} {
					if other != c.want && errors.Is(err, other) {
						t.Errorf("CreateFundraiser: err = %v also matches %v", err, other)
					}
				}
				list, err := s.ListFundraisers(t.Context(), store.FundraiserFilter{})
				if err != nil {
					t.Fatalf("ListFundraisers: %v", err)
				}
				diff(t, "fundraisers after a refused create", []store.Fundraiser{existing}, list)
			})
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		s := open(t)
		f := mustFundraiser(t, s, mustBroadcaster(t, s, "b"), mustNonprofit(t, s, "n", true), "known")
		for _, id := range []string{unknownFundraiser, ""} {
			_, err := s.GetFundraiser(t.Context(), id)
			wantErr(t, "GetFundraiser("+id+")", err, store.ErrNotFound)
			_, err = s.SetFundraiserStatus(t.Context(), id, store.StatusLive)
			wantErr(t, "SetFundraiserStatus("+id+")", err, store.ErrNotFound)
		}
		for _, key := range []string{"no-such-key", "", f.StreamKey[:len(f.StreamKey)-1]} {
			_, err := s.FundraiserByStreamKey(t.Context(), key)
			wantErr(t, "FundraiserByStreamKey("+key+")", err, store.ErrNotFound)
		}
	})

	t.Run("StreamKeyLookup", func(t *testing.T) {
		s := open(t)
		b := mustBroadcaster(t, s, "b")
		n := mustNonprofit(t, s, "n", true)
		f1 := mustFundraiser(t, s, b, n, "one")
		f2 := mustFundraiser(t, s, b, n, "two")
		f1 = mustStatus(t, s, f1, store.StatusLive)
		for _, want := range []store.Fundraiser{f1, f2} {
			got, err := s.FundraiserByStreamKey(t.Context(), want.StreamKey)
			if err != nil {
				t.Fatalf("FundraiserByStreamKey(%s's key): %v", want.Title, err)
			}
			diff(t, "FundraiserByStreamKey", want, got)
		}
	})
}
