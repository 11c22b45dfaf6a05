package storetest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// Helpers shared by the tests of the Money methods.

const (
	currency        = "GBP"
	unknownDonation = "d_0190f0f0f0f07000800000000000dead"
)

// liveFundraiser creates a live fundraiser with the given goal and
// milestones (nil for the defaults), for a verified nonprofit and a new
// broadcaster, and empties the outbox of the events that took.
func liveFundraiser(t *testing.T, s store.Store, goal int64, milestones []int) store.Fundraiser {
	t.Helper()
	n := mustNonprofit(t, s, "n-"+rand.Text()[:8], true)
	return liveFundraiserFor(t, s, n, goal, milestones)
}

// liveFundraiserFor is liveFundraiser for a given nonprofit.
func liveFundraiserFor(t *testing.T, s store.Store, n store.Nonprofit, goal int64, milestones []int) store.Fundraiser {
	t.Helper()
	f, err := s.CreateFundraiser(t.Context(), store.NewFundraiser{
		BroadcasterID: mustBroadcaster(t, s, "b").ID,
		NonprofitID:   n.ID,
		Title:         "live",
		GoalAmount:    goal,
		Currency:      currency,
		StreamKey:     rand.Text(),
		Milestones:    milestones,
	})
	if err != nil {
		t.Fatalf("CreateFundraiser: %v", err)
	}
	f = mustStatus(t, s, f, store.StatusLive)
	drain(t, s)
	return f
}

// gift is a donation the provider decided at once: succeeded, from
// someone not signed in, under a fresh idempotency key.
func gift(f store.Fundraiser, amount int64) store.NewDonation {
	return store.NewDonation{
		FundraiserID:   f.ID,
		IdempotencyKey: rand.Text(),
		RequestHash:    []byte("hash"),
		Amount:         amount,
		Currency:       f.Currency,
		Name:           "Guest",
		Message:        "go go go",
		PublicMessage:  "go go go",
		Provider:       "sandbox",
		Status:         store.DonationSucceeded,
	}
}

// pending is gift, left pending for a webhook to settle.
func pending(f store.Fundraiser, amount int64) store.NewDonation {
	d := gift(f, amount)
	d.Provider, d.Status = "stripe", store.DonationPending
	return d
}

// from is gift from the signed-in viewer userID under name.
func from(f store.Fundraiser, userID, name string, amount int64) store.NewDonation {
	d := gift(f, amount)
	d.UserID, d.Name = userID, name
	return d
}

// withStatus is d with another status.
func withStatus(d store.NewDonation, status string) store.NewDonation {
	d.Status = status
	return d
}

// mustCreate records in, which must be new.
func mustCreate(t *testing.T, s store.Store, in store.NewDonation) store.Donation {
	t.Helper()
	d, created, err := s.CreateDonation(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateDonation(%d, %s): %v", in.Amount, in.Status, err)
	}
	if !created {
		t.Fatalf("CreateDonation(%d, %s): created false for a new key", in.Amount, in.Status)
	}
	return d
}

// mustGet reads a fundraiser back.
func mustGet(t *testing.T, s store.Store, id string) store.Fundraiser {
	t.Helper()
	f, err := s.GetFundraiser(t.Context(), id)
	if err != nil {
		t.Fatalf("GetFundraiser: %v", err)
	}
	return f
}

// totals are a fundraiser's running totals.
type totals struct {
	Raised, Refunded, Donors, DonationCount int64
}

func totalsOf(f store.Fundraiser) totals {
	return totals{f.Raised, f.Refunded, f.Donors, f.DonationCount}
}

// checkTotals compares a fundraiser's totals as read now.
func checkTotals(t *testing.T, s store.Store, f store.Fundraiser, want totals) {
	t.Helper()
	diff(t, "fundraiser totals", want, totalsOf(mustGet(t, s, f.ID)))
}

// event is an outbox event with its data decoded into its wire type.
type event struct {
	Room string
	Type string
	Data any
}

// drain returns every pending outbox event, decoded, in Seq order, and
// marks them published.
func drain(t *testing.T, s store.Store) []event {
	t.Helper()
	var out []event
	last := int64(0)
	for {
		evs, err := s.PendingEvents(t.Context(), 50)
		if err != nil {
			t.Fatalf("PendingEvents: %v", err)
		}
		if len(evs) == 0 {
			return out
		}
		seqs := make([]int64, 0, len(evs))
		for _, e := range evs {
			if e.Seq <= last {
				t.Fatalf("event seq %d after %d", e.Seq, last)
			}
			last = e.Seq
			seqs = append(seqs, e.Seq)
			out = append(out, event{Room: e.Room, Type: e.Type, Data: decode(t, e)})
		}
		if err := s.MarkPublished(t.Context(), seqs); err != nil {
			t.Fatalf("MarkPublished: %v", err)
		}
	}
}

// decode decodes an event's data into the wire type of its event type.
func decode(t *testing.T, e store.OutboxEvent) any {
	t.Helper()
	var v any
	switch e.Type {
	case wire.TypeDonation:
		v = &wire.DonationData{}
	case wire.TypeDonationRefunded:
		v = &wire.DonationRefundedData{}
	case wire.TypeDonationHidden:
		v = &wire.DonationHiddenData{}
	case wire.TypeMilestone:
		v = &wire.MilestoneData{}
	case wire.TypeFundraiser:
		v = &wire.FundraiserData{}
	case wire.TypeUserBanned:
		v = &wire.UserBannedData{}
	case wire.TypeUserUnbanned:
		v = &wire.UserUnbannedData{}
	case wire.TypeDonationUnhidden:
		v = &wire.DonationUnhiddenData{}
	default:
		return string(e.Data)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		t.Fatalf("%s event data %s: %v", e.Type, e.Data, err)
	}
	// Dereference, so that expected values are plain structs.
	switch v := v.(type) {
	case *wire.DonationData:
		return *v
	case *wire.DonationRefundedData:
		return *v
	case *wire.DonationHiddenData:
		return *v
	case *wire.MilestoneData:
		return *v
	case *wire.FundraiserData:
		return *v
	case *wire.UserBannedData:
		return *v
	case *wire.UserUnbannedData:
		return *v
	case *wire.DonationUnhiddenData:
		return *v
	}
	panic(fmt.Sprintf("unhandled %T", v))
}

// checkEvents compares the events written since the last drain.
func checkEvents(t *testing.T, s store.Store, want ...event) {
	t.Helper()
	diffList(t, "outbox events", want, drain(t, s))
}

// donationEvent is the "donation" event of d, given the total after it.
func donationEvent(f store.Fundraiser, d store.Donation, raised, donors int64) event {
	return event{Room: f.ID, Type: wire.TypeDonation, Data: wire.DonationData{
		ID:       d.ID,
		Name:     d.PublicName(),
		Amount:   d.Amount,
		Currency: d.Currency,
		Message:  d.PublicMessage,
		Total:    wire.Total{Raised: raised, Goal: f.GoalAmount, Donors: donors, Currency: f.Currency},
	}}
}

// refundedEvent is the "donation.refunded" event of d, given the total
// after it.
func refundedEvent(f store.Fundraiser, d store.Donation, raised, donors int64) event {
	return event{Room: f.ID, Type: wire.TypeDonationRefunded, Data: wire.DonationRefundedData{
		ID:    d.ID,
		Total: wire.Total{Raised: raised, Goal: f.GoalAmount, Donors: donors, Currency: f.Currency},
	}}
}

func milestoneEvent(f store.Fundraiser, amount int64) event {
	return event{Room: f.ID, Type: wire.TypeMilestone, Data: wire.MilestoneData{Amount: amount, Currency: f.Currency}}
}

func fundraiserEvent(f store.Fundraiser, status string, goal int64) event {
	return event{Room: f.ID, Type: wire.TypeFundraiser, Data: wire.FundraiserData{
		Status: status,
		Goal:   wire.Money{Amount: goal, Currency: f.Currency},
	}}
}
