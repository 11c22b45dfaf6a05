package storetest

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

func testDonations(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		for _, status := range []string{store.DonationPending, store.DonationSucceeded, store.DonationFailed} {
			t.Run(status, func(t *testing.T) {
				in := store.NewDonation{
					FundraiserID:   f.ID,
					IdempotencyKey: "key-" + status,
					RequestHash:    []byte{0, 1, 2, 0xff},
					UserID:         "u_0190f0f0f0f07000800000000000beef",
					Amount:         1_234,
					Currency:       currency,
					Name:           "Ada 🎮",
					Message:        "for the cats, you <3",
					PublicMessage:  "for the cats",
					Provider:       "sandbox",
					Status:         status,
					ProviderRef:    "sbx_" + status,
					FailureReason:  "card declined",
				}
				before := time.Now()
				got, created, err := s.CreateDonation(t.Context(), in)
				if err != nil || !created {
					t.Fatalf("CreateDonation = created %v, %v; want true, nil", created, err)
				}
				checkID(t, "d_", got.ID)
				checkTime(t, "CreatedAt", got.CreatedAt, before)
				want := store.Donation{
					ID:             got.ID,
					FundraiserID:   f.ID,
					IdempotencyKey: in.IdempotencyKey,
					RequestHash:    in.RequestHash,
					UserID:         in.UserID,
					Amount:         in.Amount,
					Currency:       currency,
					Name:           in.Name,
					Message:        in.Message,
					PublicMessage:  in.PublicMessage,
					Status:         status,
					Provider:       in.Provider,
					ProviderRef:    in.ProviderRef,
					CreatedAt:      got.CreatedAt,
				}
				if status != store.DonationPending {
					// Decided at once: settled as it was recorded.
					want.SettledAt = got.CreatedAt
				}
				if status == store.DonationFailed {
					want.FailureReason = in.FailureReason
				}
				diff(t, "created donation", want, got)

				read, err := s.GetDonation(t.Context(), got.ID)
				if err != nil {
					t.Fatalf("GetDonation: %v", err)
				}
				diff(t, "GetDonation", got, read)
				byRef, err := s.DonationByProviderRef(t.Context(), in.Provider, in.ProviderRef)
				if err != nil {
					t.Fatalf("DonationByProviderRef: %v", err)
				}
				diff(t, "DonationByProviderRef", got, byRef)
			})
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		other := liveFundraiser(t, s, 100_000, nil)
		in := gift(f, 500)
		first := mustCreate(t, s, in)

		// A retry, even with another body, gets the first donation back.
		retry := in
		retry.Amount, retry.RequestHash, retry.Status = 700, []byte("other"), store.DonationFailed
		again, created, err := s.CreateDonation(t.Context(), retry)
		if err != nil || created {
			t.Fatalf("CreateDonation with a used key = created %v, %v; want false, nil", created, err)
		}
		diff(t, "donation returned for a used key", first, again)
		checkTotals(t, s, f, totals{Raised: 500, Donors: 1, DonationCount: 1})
		checkEvents(t, s, donationEvent(f, first, 500, 1))

		// The key is the fundraiser's: another fundraiser's is another donation.
		in.FundraiserID = other.ID
		elsewhere := mustCreate(t, s, in)
		if elsewhere.ID == first.ID {
			t.Errorf("the same key on two fundraisers gave one donation %s", first.ID)
		}
		checkTotals(t, s, f, totals{Raised: 500, Donors: 1, DonationCount: 1})
		checkTotals(t, s, other, totals{Raised: 500, Donors: 1, DonationCount: 1})

		// No key, no deduplication.
		nokey := gift(f, 100)
		nokey.IdempotencyKey = ""
		a, b := mustCreate(t, s, nokey), mustCreate(t, s, nokey)
		if a.ID == b.ID {
			t.Errorf("two donations without a key share the ID %s", a.ID)
		}
		checkTotals(t, s, f, totals{Raised: 700, Donors: 3, DonationCount: 3})
	})

	t.Run("Refused", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		kept := mustCreate(t, s, gift(f, 500))

		_, _, err := s.CreateDonation(t.Context(), gift(store.Fundraiser{ID: unknownFundraiser, Currency: currency}, 500))
		wantErr(t, "CreateDonation for an unknown fundraiser", err, store.ErrNotFound)

		wrong := gift(f, 500)
		wrong.Currency = "EUR"
		_, _, err = s.CreateDonation(t.Context(), wrong)
		wantErr(t, "CreateDonation in another currency", err, store.ErrConflict)

		dup := gift(f, 500)
		dup.Provider, dup.ProviderRef = "sandbox", "sbx_1"
		mustCreate(t, s, dup)
		dup.IdempotencyKey = "another"
		_, _, err = s.CreateDonation(t.Context(), dup)
		wantErr(t, "CreateDonation with a provider ref in use", err, store.ErrConflict)

		for _, bad := range []store.NewDonation{
			func() store.NewDonation { d := gift(f, 0); return d }(),
			func() store.NewDonation { d := gift(f, -5); return d }(),
			func() store.NewDonation { d := gift(f, 5); d.Status = store.DonationRefunded; return d }(),
			func() store.NewDonation { d := gift(f, 5); d.Status = ""; return d }(),
		} {
			if _, _, err := s.CreateDonation(t.Context(), bad); err == nil {
				t.Errorf("CreateDonation(amount %d, status %q) succeeded", bad.Amount, bad.Status)
			}
		}

		// Currency "" is the fundraiser's.
		implicit := gift(f, 100)
		implicit.Currency = ""
		if d := mustCreate(t, s, implicit); d.Currency != currency {
			t.Errorf("Currency of a donation created without one = %q, want %q", d.Currency, currency)
		}

		mustStatus(t, s, f, store.StatusEnded)
		drain(t, s)
		_, _, err = s.CreateDonation(t.Context(), gift(f, 500))
		wantErr(t, "CreateDonation for an ended fundraiser", err, store.ErrEnded)
		wantErr(t, "CreateDonation for an ended fundraiser", err, store.ErrConflict)

		// A retry of a donation made before the end still gets its answer.
		retry := gift(f, 500)
		retry.IdempotencyKey = kept.IdempotencyKey
		got, created, err := s.CreateDonation(t.Context(), retry)
		if err != nil || created {
			t.Fatalf("retry after the end = created %v, %v; want false, nil", created, err)
		}
		diff(t, "retry after the end", kept, got)
		checkTotals(t, s, f, totals{Raised: 1100, Donors: 3, DonationCount: 3})
		checkEvents(t, s)

		for _, id := range []string{unknownDonation, ""} {
			_, err := s.GetDonation(t.Context(), id)
			wantErr(t, "GetDonation("+id+")", err, store.ErrNotFound)
		}
		for _, ref := range [][2]string{{"sandbox", "nope"}, {"stripe", "sbx_1"}, {"sandbox", ""}} {
			_, err := s.DonationByProviderRef(t.Context(), ref[0], ref[1])
			wantErr(t, "DonationByProviderRef("+ref[0]+", "+ref[1]+")", err, store.ErrNotFound)
		}
	})

	t.Run("SucceededAtOnce", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		a := mustCreate(t, s, from(f, "u_1", "Ada", 1_500))
		anon := gift(f, 2_000)
		anon.Anonymous, anon.Name, anon.Message, anon.PublicMessage = true, "Secret Sam", "raw <b>", "clean"
		b := mustCreate(t, s, anon)
		failed := gift(f, 9_902)
		failed.Status, failed.FailureReason = store.DonationFailed, "declined"
		mustCreate(t, s, failed)
		mustCreate(t, s, pending(f, 3_000))

		checkTotals(t, s, f, totals{Raised: 3_500, Donors: 2, DonationCount: 2})
		got := drain(t, s)
		diff(t, "events", []event{donationEvent(f, a, 1_500, 1), donationEvent(f, b, 3_500, 2)}, got)
		if d := got[1].Data.(wire.DonationData); d.Name != store.AnonymousName || d.Message != "clean" {
			t.Errorf("anonymous donation published as %q saying %q, want %q saying the public message",
				d.Name, d.Message, store.AnonymousName)
		}
	})

	t.Run("Settle", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		p := mustCreate(t, s, pending(f, 2_500))
		checkTotals(t, s, f, totals{})
		checkEvents(t, s)

		nextMillisecond()
		before := time.Now()
		got, changed, err := s.SettleDonation(t.Context(), p.ID, store.DonationSucceeded, "ignored", nil)
		if err != nil || !changed {
			t.Fatalf("SettleDonation(succeeded) = changed %v, %v; want true, nil", changed, err)
		}
		checkTime(t, "SettledAt", got.SettledAt, before)
		want := p
		want.Status, want.SettledAt = store.DonationSucceeded, got.SettledAt
		diff(t, "settled donation", want, got)
		read, err := s.GetDonation(t.Context(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "GetDonation after settling", got, read)
		checkTotals(t, s, f, totals{Raised: 2_500, Donors: 1, DonationCount: 1})
		checkEvents(t, s, donationEvent(f, got, 2_500, 1))

		again, changed, err := s.SettleDonation(t.Context(), p.ID, store.DonationSucceeded, "", nil)
		if err != nil || changed {
			t.Errorf("settling twice = changed %v, %v; want false, nil", changed, err)
		}
		diff(t, "donation settled twice", got, again)
		_, _, err = s.SettleDonation(t.Context(), p.ID, store.DonationFailed, "too late", nil)
		wantErr(t, "succeeded → failed", err, store.ErrConflict)

		q := mustCreate(t, s, pending(f, 4_000))
		failed, changed, err := s.SettleDonation(t.Context(), q.ID, store.DonationFailed, "insufficient funds", nil)
		if err != nil || !changed {
			t.Fatalf("SettleDonation(failed) = changed %v, %v; want true, nil", changed, err)
		}
		if failed.Status != store.DonationFailed || failed.FailureReason != "insufficient funds" || failed.SettledAt.IsZero() {
			t.Errorf("failed donation = %s, reason %q, settled %v", failed.Status, failed.FailureReason, failed.SettledAt)
		}
		if _, changed, err := s.SettleDonation(t.Context(), q.ID, store.DonationFailed, "again", nil); err != nil || changed {
			t.Errorf("failing twice = changed %v, %v; want false, nil", changed, err)
		}
		_, _, err = s.SettleDonation(t.Context(), q.ID, store.DonationSucceeded, "", nil)
		wantErr(t, "failed → succeeded", err, store.ErrConflict)
		checkTotals(t, s, f, totals{Raised: 2_500, Donors: 1, DonationCount: 1})
		checkEvents(t, s)

		r := mustCreate(t, s, pending(f, 100))
		for _, to := range []string{store.DonationRefunded, "paid", ""} {
			_, _, err := s.SettleDonation(t.Context(), r.ID, to, "", nil)
			wantErr(t, "pending → "+to, err, store.ErrConflict)
		}
		_, _, err = s.SettleDonation(t.Context(), unknownDonation, store.DonationSucceeded, "", nil)
		wantErr(t, "settling an unknown donation", err, store.ErrNotFound)

		// The money has moved: a donation settles after the fundraiser ends.
		mustStatus(t, s, f, store.StatusEnded)
		drain(t, s)
		late, changed, err := s.SettleDonation(t.Context(), r.ID, store.DonationSucceeded, "", nil)
		if err != nil || !changed {
			t.Fatalf("settling after the end = changed %v, %v; want true, nil", changed, err)
		}
		checkTotals(t, s, f, totals{Raised: 2_600, Donors: 2, DonationCount: 2})
		checkEvents(t, s, donationEvent(f, late, 2_600, 2))
	})

	t.Run("Payment", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		p := mustCreate(t, s, pending(f, 2_500))

		got, err := s.SetDonationPayment(t.Context(), p.ID, "pi_1", "pi_1_secret")
		if err != nil {
			t.Fatalf("SetDonationPayment: %v", err)
		}
		want := p
		want.ProviderRef, want.ClientSecret = "pi_1", "pi_1_secret"
		diff(t, "donation with its payment", want, got)
		byRef, err := s.DonationByProviderRef(t.Context(), "stripe", "pi_1")
		if err != nil {
			t.Fatalf("DonationByProviderRef: %v", err)
		}
		diff(t, "DonationByProviderRef", got, byRef)

		again, err := s.SetDonationPayment(t.Context(), p.ID, "pi_1", "another secret")
		if err != nil {
			t.Fatalf("SetDonationPayment with the same ref: %v", err)
		}
		diff(t, "donation after setting the same ref", got, again)
		_, err = s.SetDonationPayment(t.Context(), p.ID, "pi_2", "s")
		wantErr(t, "SetDonationPayment with another ref", err, store.ErrConflict)

		q := mustCreate(t, s, pending(f, 100))
		_, err = s.SetDonationPayment(t.Context(), q.ID, "pi_1", "s")
		wantErr(t, "SetDonationPayment with another donation's ref", err, store.ErrConflict)
		if _, err := s.SetDonationPayment(t.Context(), q.ID, "", "s"); err == nil {
			t.Error("SetDonationPayment with an empty ref succeeded")
		}
		_, err = s.SetDonationPayment(t.Context(), unknownDonation, "pi_9", "s")
		wantErr(t, "SetDonationPayment of an unknown donation", err, store.ErrNotFound)

		settled, _, err := s.SettleDonation(t.Context(), p.ID, store.DonationSucceeded, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetDonationPayment(t.Context(), p.ID, "pi_1", "s"); err != nil {
			t.Errorf("SetDonationPayment with the same ref after settling: %v", err)
		}
		if _, _, err := s.SettleDonation(t.Context(), q.ID, store.DonationFailed, "no", nil); err != nil {
			t.Fatal(err)
		}
		_, err = s.SetDonationPayment(t.Context(), q.ID, "pi_3", "s")
		wantErr(t, "SetDonationPayment of a failed donation", err, store.ErrConflict)
		read, err := s.GetDonation(t.Context(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "settled donation after SetDonationPayment", settled, read)
	})

	t.Run("ProviderEvents", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		p := mustCreate(t, s, pending(f, 1_000))
		q := mustCreate(t, s, pending(f, 2_000))
		ev := &store.ProviderEvent{Provider: "stripe", ID: "evt_1"}

		settled, changed, err := s.SettleDonation(t.Context(), p.ID, store.DonationSucceeded, "", ev)
		if err != nil || !changed {
			t.Fatalf("SettleDonation with a new event = changed %v, %v; want true, nil", changed, err)
		}
		_, _, err = s.SettleDonation(t.Context(), p.ID, store.DonationSucceeded, "", ev)
		wantErr(t, "the same event again", err, store.ErrDuplicateEvent)
		// An event is applied once, whatever it names.
		_, _, err = s.SettleDonation(t.Context(), q.ID, store.DonationSucceeded, "", ev)
		wantErr(t, "the same event for another donation", err, store.ErrDuplicateEvent)
		if d, _ := s.GetDonation(t.Context(), q.ID); d.Status != store.DonationPending {
			t.Errorf("donation named by a duplicate event is %s, want pending", d.Status)
		}
		checkTotals(t, s, f, totals{Raised: 1_000, Donors: 1, DonationCount: 1})
		checkEvents(t, s, donationEvent(f, settled, 1_000, 1))

		// Event ids are the provider's.
		if _, _, err := s.SettleDonation(t.Context(), q.ID, store.DonationFailed, "x",
			&store.ProviderEvent{Provider: "other", ID: "evt_1"}); err != nil {
			t.Errorf("the same event id from another provider: %v", err)
		}

		// A refused move records no event: it can be applied later.
		r := mustCreate(t, s, pending(f, 50))
		ev2 := &store.ProviderEvent{Provider: "stripe", ID: "evt_2"}
		_, _, err = s.RefundDonation(t.Context(), r.ID, ev2)
		wantErr(t, "refunding a pending donation", err, store.ErrConflict)
		if _, changed, err := s.SettleDonation(t.Context(), r.ID, store.DonationSucceeded, "", ev2); err != nil || !changed {
			t.Errorf("SettleDonation with an event a refused move carried = changed %v, %v; want true, nil", changed, err)
		}

		ev3 := &store.ProviderEvent{Provider: "stripe", ID: "evt_3"}
		if _, changed, err := s.RefundDonation(t.Context(), p.ID, ev3); err != nil || !changed {
			t.Fatalf("RefundDonation with a new event = changed %v, %v; want true, nil", changed, err)
		}
		_, _, err = s.RefundDonation(t.Context(), p.ID, ev3)
		wantErr(t, "the same refund event again", err, store.ErrDuplicateEvent)
		checkTotals(t, s, f, totals{Raised: 50, Refunded: 1_000, Donors: 1, DonationCount: 1})

		// A no-op records its event too.
		ev4 := &store.ProviderEvent{Provider: "stripe", ID: "evt_4"}
		if _, changed, err := s.RefundDonation(t.Context(), p.ID, ev4); err != nil || changed {
			t.Errorf("refunding again with a new event = changed %v, %v; want false, nil", changed, err)
		}
		_, _, err = s.RefundDonation(t.Context(), p.ID, ev4)
		wantErr(t, "a no-op's event again", err, store.ErrDuplicateEvent)
	})

	t.Run("Refund", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		first := mustCreate(t, s, from(f, "u_1", "Ada", 1_000))
		nextMillisecond()
		second := mustCreate(t, s, from(f, "u_1", "Ada L.", 500))
		guest := mustCreate(t, s, gift(f, 300))
		drain(t, s)
		top := func(want ...store.Donor) {
			t.Helper()
			got, err := s.TopDonors(t.Context(), f.ID, 10)
			if err != nil {
				t.Fatalf("TopDonors: %v", err)
			}
			diffList(t, "TopDonors", want, got)
		}
		hasDonated := func(want bool) {
			t.Helper()
			got, err := s.DonorStatus(t.Context(), f.ID, "u_1")
			if err != nil || got != (store.DonorStatus{Donated: want, Named: want}) {
				t.Errorf("DonorStatus = %+v, %v; want donated and named %v, nil", got, err, want)
			}
		}
		top(store.Donor{Name: "Ada L.", Amount: 1_500, Donations: 2}, store.Donor{Name: "Guest", Amount: 300, Donations: 1})

		nextMillisecond()
		before := time.Now()
		got, changed, err := s.RefundDonation(t.Context(), second.ID, nil)
		if err != nil || !changed {
			t.Fatalf("RefundDonation = changed %v, %v; want true, nil", changed, err)
		}
		checkTime(t, "RefundedAt", got.RefundedAt, before)
		want := second
		want.Status, want.RefundedAt = store.DonationRefunded, got.RefundedAt
		diff(t, "refunded donation", want, got)
		checkTotals(t, s, f, totals{Raised: 1_300, Refunded: 500, Donors: 2, DonationCount: 2})
		checkEvents(t, s, refundedEvent(f, second, 1_300, 2))
		// Still a donor, under the name of the donation left standing.
		top(store.Donor{Name: "Ada", Amount: 1_000, Donations: 1}, store.Donor{Name: "Guest", Amount: 300, Donations: 1})
		hasDonated(true)

		if _, changed, err := s.RefundDonation(t.Context(), second.ID, nil); err != nil || changed {
			t.Errorf("refunding twice = changed %v, %v; want false, nil", changed, err)
		}
		checkEvents(t, s)

		if _, _, err := s.RefundDonation(t.Context(), first.ID, nil); err != nil {
			t.Fatal(err)
		}
		hasDonated(false)
		top(store.Donor{Name: "Guest", Amount: 300, Donations: 1})
		checkTotals(t, s, f, totals{Raised: 300, Refunded: 1_500, Donors: 1, DonationCount: 1})
		checkEvents(t, s, refundedEvent(f, first, 300, 1))

		if _, _, err := s.RefundDonation(t.Context(), guest.ID, nil); err != nil {
			t.Fatal(err)
		}
		top()
		checkTotals(t, s, f, totals{Refunded: 1_800})
		checkEvents(t, s, refundedEvent(f, guest, 0, 0))

		p := mustCreate(t, s, pending(f, 10))
		_, _, err = s.RefundDonation(t.Context(), p.ID, nil)
		wantErr(t, "refunding a pending donation", err, store.ErrConflict)
		failed := gift(f, 10)
		failed.Status = store.DonationFailed
		fd := mustCreate(t, s, failed)
		_, _, err = s.RefundDonation(t.Context(), fd.ID, nil)
		wantErr(t, "refunding a failed donation", err, store.ErrConflict)
		_, _, err = s.RefundDonation(t.Context(), unknownDonation, nil)
		wantErr(t, "refunding an unknown donation", err, store.ErrNotFound)

		// A refunded donor may give again.
		again := mustCreate(t, s, from(f, "u_1", "Ada again", 70))
		hasDonated(true)
		checkEvents(t, s, donationEvent(f, again, 70, 1))
	})

	t.Run("HideMessage", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 100_000, nil)
		d := mustCreate(t, s, gift(f, 100))
		drain(t, s)

		got, err := s.HideDonationMessage(t.Context(), d.ID)
		if err != nil {
			t.Fatalf("HideDonationMessage: %v", err)
		}
		want := d
		want.PublicMessage, want.MessageHidden = "", true
		diff(t, "donation with its message hidden", want, got)
		checkEvents(t, s, event{Room: f.ID, Type: wire.TypeDonationHidden, Data: wire.DonationHiddenData{ID: d.ID}})
		recent, err := s.RecentDonations(t.Context(), f.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "RecentDonations after hiding", []store.Donation{got}, recent)

		again, err := s.HideDonationMessage(t.Context(), d.ID)
		if err != nil {
			t.Fatalf("HideDonationMessage again: %v", err)
		}
		diff(t, "donation hidden twice", got, again)
		checkEvents(t, s)

		silent := gift(f, 100)
		silent.PublicMessage = ""
		e := mustCreate(t, s, silent)
		drain(t, s)
		got, err = s.HideDonationMessage(t.Context(), e.ID)
		if err != nil || !got.MessageHidden {
			t.Errorf("HideDonationMessage without a public message = hidden %v, %v; want true, nil", got.MessageHidden, err)
		}
		checkEvents(t, s)

		_, err = s.HideDonationMessage(t.Context(), unknownDonation)
		wantErr(t, "HideDonationMessage of an unknown donation", err, store.ErrNotFound)

		// Shown again: public once more, announced; the donor's own words
		// were kept all along.
		shown, err := s.UnhideDonationMessage(t.Context(), d.ID, d.PublicMessage)
		if err != nil {
			t.Fatalf("UnhideDonationMessage: %v", err)
		}
		diff(t, "donation with its message shown again", d, shown)
		checkEvents(t, s, event{Room: f.ID, Type: wire.TypeDonationUnhidden, Data: wire.DonationUnhiddenData{ID: d.ID, Message: d.PublicMessage}})
		if again, err := s.UnhideDonationMessage(t.Context(), d.ID, "other"); err != nil || again.PublicMessage != d.PublicMessage {
			t.Errorf("unhiding a shown message = %q, %v; want a no-op", again.PublicMessage, err)
		}
		checkEvents(t, s)
		_, err = s.UnhideDonationMessage(t.Context(), unknownDonation, "")
		wantErr(t, "UnhideDonationMessage of an unknown donation", err, store.ErrNotFound)
	})
}
