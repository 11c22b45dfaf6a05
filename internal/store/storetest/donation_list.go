package storetest

import (
	"slices"
	"testing"

	"github.com/givelive/givelive/internal/store"
)

func testDonationLists(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("ListDonations", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		other := liveFundraiser(t, s, 100_000, nil)
		empty := liveFundraiser(t, s, 100_000, nil)

		// 105 donations of every status, and some to another fundraiser.
		var all []store.Donation
		for i := range 105 {
			in := gift(f, int64(i+1))
			switch i % 4 {
			case 1:
				in.Status = store.DonationPending
			case 2:
				in.Status = store.DonationFailed
			}
			all = append(all, mustCreate(t, s, in))
			if i%10 == 0 {
				mustCreate(t, s, gift(other, 5))
			}
		}
		for _, i := range []int{3, 7, 48} { // succeeded ones
			d, _, err := s.RefundDonation(t.Context(), all[i].ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			all[i] = d
		}
		slices.Reverse(all) // newest first

		got, err := s.ListDonations(t.Context(), store.DonationFilter{FundraiserID: f.ID})
		if err != nil {
			t.Fatalf("ListDonations: %v", err)
		}
		diff(t, "ListDonations with Limit 0 (the newest 100)", all[:100], got)

		for _, status := range []string{"", store.DonationSucceeded, store.DonationPending,
			store.DonationFailed, store.DonationRefunded} {
			var want []store.Donation
			for _, d := range all {
				if status == "" || d.Status == status {
					want = append(want, d)
				}
			}
			for _, limit := range []int{1, 7, 200} {
				var paged []store.Donation
				filter := store.DonationFilter{FundraiserID: f.ID, Status: status, Limit: limit}
				for pages := 0; ; pages++ {
					page, err := s.ListDonations(t.Context(), filter)
					if err != nil {
						t.Fatalf("ListDonations(%+v): %v", filter, err)
					}
					if len(page) > limit {
						t.Fatalf("ListDonations(%+v) returned %d", filter, len(page))
					}
					if len(page) == 0 || pages > len(all) {
						break
					}
					paged = append(paged, page...)
					filter.Before = page[len(page)-1].ID
				}
				diffList(t, "pages of ListDonations, status "+status, want, paged)
			}
		}

		got, err = s.ListDonations(t.Context(), store.DonationFilter{FundraiserID: empty.ID})
		if err != nil || len(got) != 0 {
			t.Errorf("ListDonations of a fundraiser without donations = %d, %v; want none, nil", len(got), err)
		}
		_, err = s.ListDonations(t.Context(), store.DonationFilter{FundraiserID: unknownFundraiser})
		wantErr(t, "ListDonations of an unknown fundraiser", err, store.ErrNotFound)
	})

	t.Run("RecentDonations", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		p := mustCreate(t, s, pending(f, 100))
		a := mustCreate(t, s, gift(f, 200))
		nextMillisecond()
		b := mustCreate(t, s, gift(f, 300))
		refunded := mustCreate(t, s, gift(f, 400))
		if _, _, err := s.RefundDonation(t.Context(), refunded.ID, nil); err != nil {
			t.Fatal(err)
		}
		failed := gift(f, 500)
		failed.Status = store.DonationFailed
		mustCreate(t, s, failed)
		nextMillisecond()
		// Created first, settled last: it is the most recent.
		p, _, err := s.SettleDonation(t.Context(), p.ID, store.DonationSucceeded, "", nil)
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.RecentDonations(t.Context(), f.ID, 10)
		if err != nil {
			t.Fatalf("RecentDonations: %v", err)
		}
		diff(t, "RecentDonations", []store.Donation{p, b, a}, got)
		got, err = s.RecentDonations(t.Context(), f.ID, 2)
		if err != nil {
			t.Fatalf("RecentDonations: %v", err)
		}
		diff(t, "RecentDonations, limit 2", []store.Donation{p, b}, got)

		_, err = s.RecentDonations(t.Context(), unknownFundraiser, 10)
		wantErr(t, "RecentDonations of an unknown fundraiser", err, store.ErrNotFound)
	})

	t.Run("TopDonors", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		other := liveFundraiser(t, s, 100_000, nil)
		mustCreate(t, s, from(f, "u_ada", "Ada", 100))
		nextMillisecond()
		mustCreate(t, s, from(f, "u_ada", "Ada L.", 200))
		guest := gift(f, 250)
		guest.Name = "Cy"
		mustCreate(t, s, guest)
		secret := from(f, "u_bob", "Bob", 50)
		secret.Anonymous = true
		mustCreate(t, s, secret)
		mustCreate(t, s, from(f, "u_bob", "Bob", 400))
		nameless := gift(f, 10)
		nameless.Name = ""
		mustCreate(t, s, nameless)
		declined := from(f, "u_cat", "Cat", 999)
		declined.Status = store.DonationFailed
		mustCreate(t, s, declined)
		mustCreate(t, s, withStatus(from(f, "u_dan", "Dan", 999), store.DonationPending))
		mustCreate(t, s, from(other, "u_ada", "Ada", 5_000))

		want := []store.Donor{
			{Name: "Bob", Amount: 400, Donations: 1},
			{Name: "Ada L.", Amount: 300, Donations: 2},
			{Name: "Cy", Amount: 250, Donations: 1},
			// Bob's anonymous gift is not added to his name.
			{Name: store.AnonymousName, Amount: 50, Donations: 1},
			{Name: store.AnonymousName, Amount: 10, Donations: 1},
		}
		got, err := s.TopDonors(t.Context(), f.ID, 0)
		if err != nil {
			t.Fatalf("TopDonors: %v", err)
		}
		diff(t, "TopDonors", want, got)
		got, err = s.TopDonors(t.Context(), f.ID, 2)
		if err != nil {
			t.Fatalf("TopDonors: %v", err)
		}
		diff(t, "TopDonors, limit 2", want[:2], got)
		checkTotals(t, s, f, totals{Raised: 1_010, Donors: 5, DonationCount: 6})

		named := store.DonorStatus{Donated: true, Named: true}
		for user, want := range map[string]store.DonorStatus{"u_ada": named, "u_bob": named, "u_cat": {}, "u_dan": {}, "": {}, "u_eve": {}} {
			got, err := s.DonorStatus(t.Context(), f.ID, user)
			if err != nil || got != want {
				t.Errorf("DonorStatus(%q) = %+v, %v; want %+v, nil", user, got, err, want)
			}
		}
		// Bob's anonymous gift alone makes him a donor, but not a named one.
		anonOnly := from(other, "u_bob", "Bob", 1)
		anonOnly.Anonymous = true
		mustCreate(t, s, anonOnly)
		if got, err := s.DonorStatus(t.Context(), other.ID, "u_bob"); err != nil || got != (store.DonorStatus{Donated: true}) {
			t.Errorf("DonorStatus after an anonymous gift = %+v, %v; want donated, not named", got, err)
		}

		_, err = s.TopDonors(t.Context(), unknownFundraiser, 10)
		wantErr(t, "TopDonors of an unknown fundraiser", err, store.ErrNotFound)
		_, err = s.DonorStatus(t.Context(), unknownFundraiser, "u_ada")
		wantErr(t, "DonorStatus for an unknown fundraiser", err, store.ErrNotFound)
	})
}
