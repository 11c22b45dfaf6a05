package ledgerrules

import (
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// Total is a fundraiser's running total as events carry it.
func Total(f store.Fundraiser) wire.Total {
	return wire.Total{Raised: f.Raised, Goal: f.GoalAmount, Donors: f.Donors, Currency: f.Currency}
}

// DonationData is the data of the "donation" event for d, which has just
// succeeded; f carries the fundraiser's totals including d.
func DonationData(f store.Fundraiser, d store.Donation) wire.DonationData {
	return wire.DonationData{
		ID:       d.ID,
		Name:     d.PublicName(),
		Amount:   d.Amount,
		Currency: d.Currency,
		Message:  d.PublicMessage,
		Total:    Total(f),
	}
}

// RefundedData is the data of the "donation.refunded" event for d, which
// has just been refunded; f carries the fundraiser's totals without d.
func RefundedData(f store.Fundraiser, d store.Donation) wire.DonationRefundedData {
	return wire.DonationRefundedData{ID: d.ID, Total: Total(f)}
}

// MilestoneData is the data of the "milestone" event for f reaching amount
// (in f's currency).
func MilestoneData(f store.Fundraiser, amount int64) wire.MilestoneData {
	return wire.MilestoneData{Amount: amount, Currency: f.Currency}
}

// FundraiserData is the data of the "fundraiser" event announcing f's
// status and goal.
func FundraiserData(f store.Fundraiser) wire.FundraiserData {
	return wire.FundraiserData{
		Status: f.Status,
		Goal:   wire.Money{Amount: f.GoalAmount, Currency: f.Currency},
	}
}
