package storetest

import (
	"crypto/rand"
	"testing"

	"github.com/givelive/givelive/internal/store"
)

func testPayouts(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	if got, err := s.Payouts(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("Payouts of an empty ledger = %v, %v; want none, nil", got, err)
	}
	// Created out of name order, to check the order.
	zoo := mustNonprofit(t, s, "Zoo", true)
	arts := mustNonprofit(t, s, "Arts", true)
	idle := mustNonprofit(t, s, "Idle", true)
	b := mustBroadcaster(t, s, "b")
	fundraiser := func(n store.Nonprofit, cur string) store.Fundraiser {
		t.Helper()
		f, err := s.CreateFundraiser(t.Context(), store.NewFundraiser{
			BroadcasterID: b.ID, NonprofitID: n.ID, Title: "f", GoalAmount: 10_000,
			Currency: cur, StreamKey: rand.Text(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return mustStatus(t, s, f, store.StatusLive)
	}

	zooGBP1, zooGBP2, zooEUR := fundraiser(zoo, "GBP"), fundraiser(zoo, "GBP"), fundraiser(zoo, "EUR")
	artsGBP, artsRefunded := fundraiser(arts, "GBP"), fundraiser(arts, "USD")
	fundraiser(zoo, "GBP") // no donations: not counted
	idleF := fundraiser(idle, "GBP")

	mustCreate(t, s, gift(zooGBP1, 1_000))
	refunded := mustCreate(t, s, gift(zooGBP1, 300))
	// Two gifts charged straight to Zoo's own account (one refunded, which
	// Zoo does not have), and one that failed.
	direct := func(f store.Fundraiser, amount int64) store.NewDonation {
		d := gift(f, amount)
		d.Destination = "acct_zoo"
		return d
	}
	directGift := mustCreate(t, s, direct(zooGBP2, 400))
	if directGift.Destination != "acct_zoo" {
		t.Errorf("created donation has destination %q, want acct_zoo", directGift.Destination)
	}
	if read, err := s.GetDonation(t.Context(), directGift.ID); err != nil || read.Destination != "acct_zoo" {
		t.Errorf("GetDonation: destination %q, %v; want acct_zoo", read.Destination, err)
	}
	directRefunded := mustCreate(t, s, direct(zooGBP2, 250))
	mustCreate(t, s, withStatus(direct(zooGBP2, 999), store.DonationFailed))
	if _, _, err := s.RefundDonation(t.Context(), directRefunded.ID, nil); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, gift(zooGBP2, 700))
	mustCreate(t, s, gift(zooEUR, 50))
	mustCreate(t, s, gift(artsGBP, 20))
	onlyGift := mustCreate(t, s, gift(artsRefunded, 90))
	for _, d := range []store.Donation{refunded, onlyGift} {
		if _, _, err := s.RefundDonation(t.Context(), d.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Neither pending nor failed money is owed.
	mustCreate(t, s, pending(idleF, 5_000))
	mustCreate(t, s, withStatus(gift(idleF, 5_000), store.DonationFailed))
	mustCreate(t, s, pending(artsGBP, 5_000))

	got, err := s.Payouts(t.Context())
	if err != nil {
		t.Fatalf("Payouts: %v", err)
	}
	diff(t, "Payouts", []store.Payout{
		{NonprofitID: arts.ID, NonprofitName: "Arts", Currency: "GBP", Raised: 20, Donations: 1, Fundraisers: 1},
		{NonprofitID: arts.ID, NonprofitName: "Arts", Currency: "USD", Refunded: 90, Fundraisers: 1},
		{NonprofitID: zoo.ID, NonprofitName: "Zoo", Currency: "EUR", Raised: 50, Donations: 1, Fundraisers: 1},
		{NonprofitID: zoo.ID, NonprofitName: "Zoo", Currency: "GBP", Raised: 2_100, Refunded: 550, Donations: 3, Fundraisers: 2, Direct: 400},
	}, got)
}
