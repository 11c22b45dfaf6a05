// Package payment is how GiveLive collects money: a small Provider
// interface, the sandbox provider (the default, which needs no account and
// never moves real money) and Stripe (package payment/stripe).
//
// Entry points: Provider, Instant, Webhook, Sandbox.
//
// A donation is recorded in the ledger before its provider is asked for the
// money, and the provider call is keyed by the donation id, so a retry
// after a crash asks again for the same payment rather than a second one.
package payment

import (
	"context"
	"errors"
	"net/http"
)

// Outcomes of a charge, the same words as the ledger's donation statuses.
const (
	Pending   = "pending"
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Request asks a provider to collect one donation.
type Request struct {
	DonationID   string // idempotency key at the provider
	FundraiserID string
	Amount       int64 // minor units
	Currency     string
	Description  string // shown on the payer's statement or receipt
	// Destination is the nonprofit's own account at the provider (a Stripe
	// Connect account): the money goes straight there, not to the
	// platform. "" means the platform collects it.
	Destination string
}

// Charge is a provider's answer to a Request.
type Charge struct {
	Status        string // Pending, Succeeded or Failed
	Ref           string // the provider's payment id
	ClientSecret  string // for the payer's browser to complete a pending payment
	FailureReason string // for Failed: a short reason a donor may read
}

// Provider collects and refunds donations.
type Provider interface {
	// Name is the provider's name as stored with each donation.
	Name() string
	// Charge starts collecting a donation. Calling it again with the same
	// DonationID must not charge twice. An error means the outcome is
	// unknown and the call may be retried.
	Charge(ctx context.Context, r Request) (Charge, error)
	// Refund returns a succeeded payment's money in full.
	Refund(ctx context.Context, donationID, ref string) error
}

// Instant is implemented by providers that can often decide a charge at
// once without I/O. When Decide answers ok, the donation is recorded with
// that outcome in one transaction; otherwise it is recorded pending and
// Charge is called.
type Instant interface {
	Decide(r Request) (c Charge, ok bool)
}

// AccountChecker is implemented by providers that can tell whether a
// nonprofit's own account can receive its donations directly. CheckAccount
// returns nil when it can, an error wrapping ErrAccountUnusable (with the
// reason, for a person) when it cannot, and any other error when the
// provider could not be asked.
type AccountChecker interface {
	CheckAccount(ctx context.Context, account string) error
}

// ErrAccountUnusable means a payout account does not exist at the
// provider, or cannot receive transfers yet.
var ErrAccountUnusable = errors.New("payout account cannot receive donations")

// Webhook event kinds.
const (
	EventSucceeded = "succeeded"
	EventFailed    = "failed"
	EventRefunded  = "refunded"
	EventIgnored   = "ignored" // a valid event GiveLive does not act on
)

// Event is a provider's webhook event, reduced to what the ledger needs.
type Event struct {
	ID            string // the provider's event id, for deduplication
	Type          string // the provider's own event type, for logs
	Kind          string // one of the Event kinds
	Ref           string // the payment id the event is about
	DonationID    string // from the payment's metadata, when present
	FailureReason string // for EventFailed
}

// ErrBadSignature means a webhook payload was not signed with the
// configured secret (or its timestamp is too old).
var ErrBadSignature = errors.New("webhook signature invalid")

// Webhook verifies and parses a provider's webhook requests.
type Webhook interface {
	// ParseWebhook checks the signature over the raw body and returns the
	// event. ErrBadSignature (wrapped) for a bad or missing signature; any
	// other error means the payload is malformed.
	ParseWebhook(payload []byte, header http.Header) (Event, error)
}
