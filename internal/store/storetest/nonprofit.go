package storetest

import (
	"testing"
	"time"

	"github.com/givelive/givelive/internal/store"
)

const unknownNonprofit = "np_0190f0f0f0f07000800000000000dead"

func testNonprofits(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := open(t)
		in := store.NewNonprofit{Name: "Médecins Sans Frontières", RegistrationID: "CH-660.0.059.996-1", Country: "CH"}
		before := time.Now()
		got, err := s.CreateNonprofit(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateNonprofit: %v", err)
		}
		checkID(t, "np_", got.ID)
		checkTime(t, "CreatedAt", got.CreatedAt, before)
		diff(t, "created nonprofit", store.Nonprofit{
			ID:             got.ID,
			Name:           in.Name,
			RegistrationID: in.RegistrationID,
			Country:        in.Country,
			CreatedAt:      got.CreatedAt,
		}, got)

		read, err := s.GetNonprofit(t.Context(), got.ID)
		if err != nil {
			t.Fatalf("GetNonprofit: %v", err)
		}
		diff(t, "GetNonprofit", got, read)

		other, err := s.CreateNonprofit(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateNonprofit again: %v", err)
		}
		if other.ID == got.ID {
			t.Errorf("two nonprofits share the ID %s", got.ID)
		}
	})

	t.Run("Verify", func(t *testing.T) {
		s := open(t)
		n := mustNonprofit(t, s, "Oxfam", false)
		nextMillisecond()
		before := time.Now()
		v, err := s.VerifyNonprofit(t.Context(), n.ID)
		if err != nil {
			t.Fatalf("VerifyNonprofit: %v", err)
		}
		checkTime(t, "VerifiedAt", v.VerifiedAt, before)
		want := n
		want.Verified = true
		want.VerifiedAt = v.VerifiedAt
		diff(t, "verified nonprofit", want, v)

		read, err := s.GetNonprofit(t.Context(), n.ID)
		if err != nil {
			t.Fatalf("GetNonprofit: %v", err)
		}
		diff(t, "GetNonprofit after verify", v, read)

		// Verifying again is not an error and keeps the first VerifiedAt.
		nextMillisecond()
		again, err := s.VerifyNonprofit(t.Context(), n.ID)
		if err != nil {
			t.Fatalf("VerifyNonprofit again: %v", err)
		}
		diff(t, "nonprofit verified twice", v, again)
	})

	t.Run("PayoutAccount", func(t *testing.T) {
		s := open(t)
		n := mustNonprofit(t, s, "Oxfam", true)
		linked, err := s.SetPayoutAccount(t.Context(), n.ID, "acct_1NkzX2RiverCharity")
		if err != nil {
			t.Fatalf("SetPayoutAccount: %v", err)
		}
		want := n
		want.PayoutAccount = "acct_1NkzX2RiverCharity"
		diff(t, "linked nonprofit", want, linked)
		read, err := s.GetNonprofit(t.Context(), n.ID)
		if err != nil {
			t.Fatalf("GetNonprofit: %v", err)
		}
		diff(t, "GetNonprofit after linking", want, read)
		list, err := s.ListNonprofits(t.Context(), true)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListNonprofits: %v, %v", list, err)
		}
		diff(t, "listed linked nonprofit", want, list[0])

		unlinked, err := s.SetPayoutAccount(t.Context(), n.ID, "")
		if err != nil {
			t.Fatalf("SetPayoutAccount(\"\"): %v", err)
		}
		diff(t, "unlinked nonprofit", n, unlinked)
		_, err = s.SetPayoutAccount(t.Context(), unknownNonprofit, "acct_1")
		wantErr(t, "SetPayoutAccount of an unknown nonprofit", err, store.ErrNotFound)
	})

	t.Run("Unknown", func(t *testing.T) {
		s := open(t)
		mustNonprofit(t, s, "Known", true)
		for _, id := range []string{unknownNonprofit, "", "b_0190f0f0f0f07000800000000000dead"} {
			_, err := s.GetNonprofit(t.Context(), id)
			wantErr(t, "GetNonprofit("+id+")", err, store.ErrNotFound)
			_, err = s.VerifyNonprofit(t.Context(), id)
			wantErr(t, "VerifyNonprofit("+id+")", err, store.ErrNotFound)
		}
		list, err := s.ListNonprofits(t.Context(), true)
		if err != nil {
			t.Fatalf("ListNonprofits: %v", err)
		}
		if len(list) != 1 {
			t.Errorf("verifying unknown IDs changed the list: %d verified nonprofits, want 1", len(list))
		}
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		for _, verifiedOnly := range []bool{false, true} {
			list, err := s.ListNonprofits(t.Context(), verifiedOnly)
			if err != nil {
				t.Fatalf("ListNonprofits(%v) on an empty store: %v", verifiedOnly, err)
			}
			if len(list) != 0 {
				t.Errorf("ListNonprofits(%v) on an empty store = %v, want none", verifiedOnly, list)
			}
		}

		// Created out of name order, so the order must come from the names.
		charlie := mustNonprofit(t, s, "Charlie Trust", true)
		alpha := mustNonprofit(t, s, "Alpha Aid", false)
		delta := mustNonprofit(t, s, "Delta Fund", false)
		bravo := mustNonprofit(t, s, "Bravo Relief", true)

		all, err := s.ListNonprofits(t.Context(), false)
		if err != nil {
			t.Fatalf("ListNonprofits(false): %v", err)
		}
		diff(t, "all nonprofits", []store.Nonprofit{alpha, bravo, charlie, delta}, all)

		verified, err := s.ListNonprofits(t.Context(), true)
		if err != nil {
			t.Fatalf("ListNonprofits(true): %v", err)
		}
		diff(t, "verified nonprofits", []store.Nonprofit{bravo, charlie}, verified)

		// Verifying moves a nonprofit into the verified list, in name order.
		if _, err := s.VerifyNonprofit(t.Context(), alpha.ID); err != nil {
			t.Fatalf("VerifyNonprofit: %v", err)
		}
		alpha, err = s.GetNonprofit(t.Context(), alpha.ID)
		if err != nil {
			t.Fatalf("GetNonprofit: %v", err)
		}
		verified, err = s.ListNonprofits(t.Context(), true)
		if err != nil {
			t.Fatalf("ListNonprofits(true): %v", err)
		}
		diff(t, "verified nonprofits after verifying Alpha", []store.Nonprofit{alpha, bravo, charlie}, verified)
	})
}
