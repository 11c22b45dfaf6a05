package storetest

import (
	"crypto/rand"
	"testing"

	"github.com/givelive/givelive/internal/store"
)

func testMilestones(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CrossedOnce", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000, nil) // 250, 500, 750, 1000
		diff(t, "default milestones", store.DefaultMilestones, f.Milestones)

		d := mustCreate(t, s, gift(f, 100))
		checkEvents(t, s, donationEvent(f, d, 100, 1))
		d = mustCreate(t, s, gift(f, 200))
		checkEvents(t, s, donationEvent(f, d, 300, 2), milestoneEvent(f, 250))
		// One jump over two milestones announces each, in order, after
		// the donation.
		big := mustCreate(t, s, gift(f, 600))
		checkEvents(t, s, donationEvent(f, big, 900, 3), milestoneEvent(f, 500), milestoneEvent(f, 750))

		// A refund takes none back, and crossing again announces nothing.
		if _, _, err := s.RefundDonation(t.Context(), big.ID, nil); err != nil {
			t.Fatal(err)
		}
		checkEvents(t, s, refundedEvent(f, big, 300, 2))
		d = mustCreate(t, s, gift(f, 600))
		checkEvents(t, s, donationEvent(f, d, 900, 3))

		// Exactly the goal reaches 100 %.
		d = mustCreate(t, s, gift(f, 100))
		checkEvents(t, s, donationEvent(f, d, 1_000, 4), milestoneEvent(f, 1_000))
		d = mustCreate(t, s, gift(f, 5_000))
		checkEvents(t, s, donationEvent(f, d, 6_000, 5))
	})

	t.Run("Custom", func(t *testing.T) {
		s := open(t)
		// Sorted and without duplicates; amounts round up.
		f := liveFundraiser(t, s, 999, []int{150, 10, 50, 10})
		diff(t, "milestones as stored", []int{10, 50, 150}, f.Milestones)
		diff(t, "milestones read back", []int{10, 50, 150}, mustGet(t, s, f.ID).Milestones)
		d := mustCreate(t, s, gift(f, 99))
		checkEvents(t, s, donationEvent(f, d, 99, 1))
		d = mustCreate(t, s, gift(f, 1_400))
		checkEvents(t, s, donationEvent(f, d, 1_499, 2),
			milestoneEvent(f, 100), milestoneEvent(f, 500), milestoneEvent(f, 1_499))

		none := liveFundraiser(t, s, 1_000, []int{})
		if len(none.Milestones) != 0 || len(mustGet(t, s, none.ID).Milestones) != 0 {
			t.Errorf("fundraiser created with no milestones has %v", none.Milestones)
		}
		d = mustCreate(t, s, gift(none, 5_000))
		checkEvents(t, s, donationEvent(none, d, 5_000, 1))

		noGoal := liveFundraiser(t, s, 0, nil)
		d = mustCreate(t, s, gift(noGoal, 5_000))
		checkEvents(t, s, donationEvent(noGoal, d, 5_000, 1))

		// Tiny goals round several milestones to one amount, announced once.
		tiny := liveFundraiser(t, s, 1, nil)
		d = mustCreate(t, s, gift(tiny, 1))
		checkEvents(t, s, donationEvent(tiny, d, 1, 1), milestoneEvent(tiny, 1))

		n := mustNonprofit(t, s, "n", true)
		b := mustBroadcaster(t, s, "b")
		for _, bad := range [][]int{{0}, {-25}, {1001}, {25, 2000}} {
			_, err := s.CreateFundraiser(t.Context(), store.NewFundraiser{
				BroadcasterID: b.ID, NonprofitID: n.ID, Title: "bad", GoalAmount: 100,
				Currency: currency, StreamKey: rand.Text(), Milestones: bad,
			})
			if err == nil {
				t.Errorf("CreateFundraiser with milestones %v succeeded", bad)
			}
		}
	})

	t.Run("RaiseGoal", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000, nil)
		mustCreate(t, s, gift(f, 600)) // reaches 250 and 500
		drain(t, s)

		// Under 1,200 the milestones are 300, 600, 900, 1,200: the total
		// has passed 300 and 600 already, which are not news.
		got, err := s.RaiseGoal(t.Context(), f.ID, 1_200)
		if err != nil {
			t.Fatalf("RaiseGoal: %v", err)
		}
		want := mustGet(t, s, f.ID)
		if got.GoalAmount != 1_200 {
			t.Errorf("GoalAmount after RaiseGoal = %d, want 1200", got.GoalAmount)
		}
		diff(t, "RaiseGoal result and GetFundraiser", want, got)
		checkEvents(t, s, fundraiserEvent(f, store.StatusLive, 1_200))
		f.GoalAmount = 1_200
		d := mustCreate(t, s, gift(f, 300))
		checkEvents(t, s, donationEvent(f, d, 900, 2), milestoneEvent(f, 900))

		same, err := s.RaiseGoal(t.Context(), f.ID, 1_200)
		if err != nil {
			t.Fatalf("RaiseGoal to the same goal: %v", err)
		}
		diff(t, "RaiseGoal to the same goal", mustGet(t, s, f.ID), same)
		checkEvents(t, s)

		_, err = s.RaiseGoal(t.Context(), f.ID, 1_199)
		wantErr(t, "lowering the goal", err, store.ErrConflict)
		_, err = s.RaiseGoal(t.Context(), f.ID, -1)
		wantErr(t, "a negative goal", err, store.ErrConflict)
		_, err = s.RaiseGoal(t.Context(), unknownFundraiser, 5_000)
		wantErr(t, "RaiseGoal of an unknown fundraiser", err, store.ErrNotFound)
		checkEvents(t, s)

		mustStatus(t, s, f, store.StatusEnded)
		drain(t, s)
		_, err = s.RaiseGoal(t.Context(), f.ID, 5_000)
		wantErr(t, "RaiseGoal of an ended fundraiser", err, store.ErrConflict)
		if g := mustGet(t, s, f.ID).GoalAmount; g != 1_200 {
			t.Errorf("goal after refused raises = %d, want 1200", g)
		}
		checkEvents(t, s)
	})
}
