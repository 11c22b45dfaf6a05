package ledgerrules

import (
	"fmt"
	"slices"
	"time"

	"github.com/givelive/givelive/internal/store"
)

// CheckNewDonation refuses what no ledger state could make valid: an
// amount that is not positive, or a status other than pending, succeeded
// or failed.
func CheckNewDonation(in store.NewDonation) error {
	if in.Amount <= 0 {
		return fmt.Errorf("amount %d is not positive", in.Amount)
	}
	switch in.Status {
	case store.DonationPending, store.DonationSucceeded, store.DonationFailed:
	default:
		return fmt.Errorf("a new donation cannot be %q", in.Status)
	}
	return nil
}

// NewDonationRecord returns the donation in describes as it is stored with
// the given id, currency and creation time: the request hash copied (nil
// when empty), SettledAt set to created unless pending, and FailureReason
// kept only for failed. Backends build the record rather than read it
// back: every column is known.
func NewDonationRecord(id, currency string, in store.NewDonation, created time.Time) store.Donation {
	d := store.Donation{
		ID:             id,
		FundraiserID:   in.FundraiserID,
		IdempotencyKey: in.IdempotencyKey,
		UserID:         in.UserID,
		Amount:         in.Amount,
		Currency:       currency,
		Name:           in.Name,
		Message:        in.Message,
		PublicMessage:  in.PublicMessage,
		Anonymous:      in.Anonymous,
		Status:         in.Status,
		Provider:       in.Provider,
		ProviderRef:    in.ProviderRef,
		Destination:    in.Destination,
		CreatedAt:      created,
	}
	if len(in.RequestHash) > 0 {
		d.RequestHash = slices.Clone(in.RequestHash)
	}
	if in.Status != store.DonationPending {
		d.SettledAt = created
	}
	if in.Status == store.DonationFailed {
		d.FailureReason = in.FailureReason
	}
	return d
}

// CanSettle reports whether a donation may be settled from status from to
// status to: only pending moves, and only to succeeded or failed. Settling
// to the status a donation already has is a no-op the caller checks first.
func CanSettle(from, to string) bool {
	return from == store.DonationPending && (to == store.DonationSucceeded || to == store.DonationFailed)
}

// DonorKey names the donor-list entry a donation counts in (see the donors
// table): a signed-in viewer's named donations together ("u:" + user), their
// anonymous ones together apart from those ("a:" + user, so the list never
// adds an anonymous gift to a name), and each donation of someone not
// signed in alone ("d:" + donation).
func DonorKey(d store.Donation) string {
	switch {
	case d.UserID == "":
		return "d:" + d.ID
	case d.Anonymous:
		return "a:" + d.UserID
	default:
		return "u:" + d.UserID
	}
}

// DonorKeys returns the keys of the signed-in viewer userID's two entries:
// named and anonymous.
func DonorKeys(userID string) (named, anonymous string) {
	return "u:" + userID, "a:" + userID
}

// DonorName is the name a donation gives its donor-list entry: Anonymous
// for a signed-in viewer's anonymous entry, else the donation's public
// name.
func DonorName(d store.Donation) string {
	if d.UserID != "" && d.Anonymous {
		return store.AnonymousName
	}
	return d.PublicName()
}
