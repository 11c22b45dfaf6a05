package store

import (
	"context"
	"errors"
	"time"
)

// ErrEnded means a change was asked of a fundraiser that has ended, such as
// a new donation. It wraps ErrConflict, so errors.Is(err, ErrConflict) also
// holds.
var ErrEnded = endedError{}

type endedError struct{}

func (endedError) Error() string        { return "fundraiser has ended" }
func (endedError) Is(target error) bool { return target == ErrConflict }

// ErrDuplicateEvent means a payment provider's event was already applied;
// nothing changed.
var ErrDuplicateEvent = errors.New("provider event already applied")

// Donation statuses. A donation moves pending → succeeded | failed, and
// succeeded → refunded. Only succeeded donations count in the totals.
const (
	DonationPending   = "pending"
	DonationSucceeded = "succeeded"
	DonationFailed    = "failed"
	DonationRefunded  = "refunded"
)

// AnonymousName is the public name of anonymous (or nameless) donations.
const AnonymousName = "Anonymous"

// DefaultMilestones are the milestones, in percent of the goal, of a
// fundraiser created without its own.
var DefaultMilestones = []int{25, 50, 75, 100}

// Donation is one gift to one fundraiser. Amounts are minor units of the
// fundraiser's currency.
type Donation struct {
	ID             string // d_ + UUIDv7 hex
	FundraiserID   string
	IdempotencyKey string // scoped to the fundraiser
	RequestHash    []byte // hash of the request that created it (idempotency check)
	UserID         string // the viewer session that gave, "" if not signed in
	Amount         int64
	Currency       string
	Name           string // as given; never published when Anonymous
	Message        string // as given (cleaned of control characters)
	PublicMessage  string // what viewers see after moderation; "" shows none
	Anonymous      bool
	MessageHidden  bool // the owner hid the message after the fact
	Status         string
	Provider       string // "sandbox", "stripe"
	ProviderRef    string // the provider's payment id, "" until known
	ClientSecret   string // lets the payer complete a pending payment; only ever shown to the payer
	FailureReason  string // set when failed
	// Destination is the nonprofit's payout account the payment was
	// charged to (the money goes straight there), fixed at creation; ""
	// means the platform collected it.
	Destination string
	CreatedAt   time.Time
	SettledAt   time.Time // when it succeeded or failed; zero while pending
	RefundedAt  time.Time // zero unless refunded
}

// PublicName is the name viewers see.
func (d Donation) PublicName() string {
	if d.Anonymous || d.Name == "" {
		return AnonymousName
	}
	return d.Name
}

// NewDonation holds what a caller supplies to record a donation.
//
// Status is pending for providers that settle later (a webhook calls
// SettleDonation), or succeeded/failed when the provider decided at once;
// then the donation is recorded and settled in one transaction.
type NewDonation struct {
	FundraiserID   string
	IdempotencyKey string
	RequestHash    []byte
	UserID         string
	Amount         int64
	Currency       string
	Name           string
	Message        string
	PublicMessage  string
	Anonymous      bool
	Provider       string
	Status         string
	ProviderRef    string
	FailureReason  string
	Destination    string // see Donation.Destination
}

// Donor is one entry of a fundraiser's donor list: a signed-in viewer's
// named donations taken together, the same viewer's anonymous donations
// taken together (apart, so that the list never adds an anonymous gift to a
// name), or a single donation of someone not signed in. An entry exists
// while it has a succeeded, unrefunded donation; Fundraiser.Donors counts
// the entries.
type Donor struct {
	Name      string // the public name of their latest succeeded, unrefunded donation
	Amount    int64  // sum of their succeeded, unrefunded donations
	Donations int64
}

// DonorStatus is what a signed-in viewer has given to one fundraiser.
type DonorStatus struct {
	// Donated: a succeeded, unrefunded donation counts, named or
	// anonymous. It unlocks the i-donated sticker, which only its donor
	// can choose to send.
	Donated bool
	// Named: one of those donations was given under the viewer's name.
	// Only this earns the public donor badge: an anonymous gift must not
	// point at its giver.
	Named bool
}

// DonationFilter selects a fundraiser's donations, newest first.
type DonationFilter struct {
	FundraiserID string
	Status       string // one of the Donation statuses, or "" for any
	// Before is a cursor: only donations older than the one with this id.
	// "" starts at the newest.
	Before string
	Limit  int // 0 or less means 100
}

// OutboxEvent is an event a transaction left for the dispatcher to publish
// to the hub: the event's room (the fundraiser's id for every event the
// ledger writes itself), type and data (JSON, the wire format).
type OutboxEvent struct {
	Seq       int64 // increases with every event; publish in this order
	Room      string
	Type      string
	Data      []byte
	CreatedAt time.Time
}

// ProviderEvent identifies a payment provider's webhook event, so that an
// event delivered twice is applied once.
type ProviderEvent struct {
	Provider string
	ID       string
}

// Payout sums what a nonprofit is owed in one currency, over all its
// fundraisers in that currency that have had a succeeded donation
// (refunded ones included).
type Payout struct {
	NonprofitID   string
	NonprofitName string
	Currency      string
	Raised        int64 // succeeded minus refunded
	Refunded      int64
	Donations     int64 // succeeded, not refunded
	Fundraisers   int64 // those summed
	// Direct is the part of Raised that was charged straight to the
	// nonprofit's payout account (Donation.Destination); the platform owes
	// the nonprofit Raised - Direct.
	Direct int64
}

// Money is the part of the Store that moves money and the events that
// announce it. Every method that changes state runs one transaction that
// also writes, when the change is announced, its outbox events; the events'
// data carry the totals as of that transaction.
//
// Effects of a donation succeeding: the fundraiser's Raised, DonationCount
// and (for a new donor) Donors grow; outbox gets a "donation" event
// (wire.DonationData with the new total) and a "milestone" event for each
// milestone amount the total reached for the first time. A refund reverses
// the totals and writes "donation.refunded"; milestones are not taken back.
//
// Milestones: the amount of a milestone of p percent is ceil(goal × p /
// 100); a goal of 0 has none. Each amount is announced once ever, in
// ascending order after the donation event, even if refunds take the total
// below it and a later donation crosses it again.
//
// Methods that take a fundraiser id return ErrNotFound for an unknown one
// (reads included); methods that take a donation id likewise.
type Money interface {
	// CreateDonation records a donation, or, when the fundraiser already
	// has one with this idempotency key, returns that one unchanged with
	// created false (whatever its request hash: the caller compares).
	// Errors: ErrNotFound for an unknown fundraiser, ErrEnded for an ended
	// one (checked in the transaction).
	//
	// Details: an empty IdempotencyKey records a new donation every time. A
	// known key returns its donation even once the fundraiser has ended (a
	// retry gets the answer the first request got). Currency "" means the
	// fundraiser's currency; another currency than the fundraiser's, or a
	// ProviderRef another donation of that provider has, is ErrConflict.
	// Amount must be positive and Status pending, succeeded or failed (else
	// an error that is no sentinel). FailureReason is kept only for failed.
	CreateDonation(ctx context.Context, d NewDonation) (don Donation, created bool, err error)
	GetDonation(ctx context.Context, id string) (Donation, error)
	// DonationByProviderRef finds the donation a provider's payment id
	// belongs to; ErrNotFound if none.
	DonationByProviderRef(ctx context.Context, provider, ref string) (Donation, error)
	// SetDonationPayment records a pending donation's provider payment id
	// and client secret. Setting the same ref again is a no-op; a different
	// ref, or a donation no longer pending, is ErrConflict, as is a ref
	// another donation of the provider has. An empty ref is an error.
	SetDonationPayment(ctx context.Context, id, ref, clientSecret string) (Donation, error)
	// SettleDonation moves a pending donation to succeeded or failed (with
	// reason). Settling it to the status it has is a no-op (changed false);
	// any other move is ErrConflict. With ev, the event is recorded in the
	// same transaction, and an event seen before is ErrDuplicateEvent.
	// A refused move (an error) records no event; a no-op does. A donation
	// settles even when its fundraiser has ended: the money has moved. The
	// reason is kept only for failed.
	SettleDonation(ctx context.Context, id, status, reason string, ev *ProviderEvent) (don Donation, changed bool, err error)
	// RefundDonation moves a succeeded donation to refunded. A refunded one
	// is a no-op (changed false); pending or failed is ErrConflict. ev as
	// in SettleDonation. A signed-in donor's entry keeps the name of their
	// latest donation still standing.
	RefundDonation(ctx context.Context, id string, ev *ProviderEvent) (don Donation, changed bool, err error)
	// HideDonationMessage clears a donation's public message for good,
	// sets MessageHidden (in any status, even with no message), and writes
	// a "donation.hidden" event ({"id"}) if it had a public message to hide.
	HideDonationMessage(ctx context.Context, id string) (Donation, error)
	// UnhideDonationMessage undoes HideDonationMessage: the message shows
	// again as public (what moderation makes of the donor's message; the
	// caller passes it), MessageHidden is cleared, and a succeeded
	// donation with a public message writes a "donation.unhidden" event
	// ({"id", "message"}). A message that is not hidden is a no-op.
	UnhideDonationMessage(ctx context.Context, id, public string) (Donation, error)

	// ListDonations pages through a fundraiser's donations, newest first
	// (by id, which grows with time).
	ListDonations(ctx context.Context, f DonationFilter) ([]Donation, error)
	// RecentDonations returns up to limit (0 or less means 100) succeeded
	// donations, the most recently settled first.
	RecentDonations(ctx context.Context, fundraiserID string, limit int) ([]Donation, error)
	// TopDonors returns up to limit (0 or less means 100) donors with a
	// positive amount, largest first; ties in an unspecified order.
	TopDonors(ctx context.Context, fundraiserID string, limit int) ([]Donor, error)
	// DonorStatus tells what the signed-in viewer userID has given to the
	// fundraiser: whether a succeeded, unrefunded donation counts, and
	// whether one of them is named. An empty userID has given nothing.
	DonorStatus(ctx context.Context, fundraiserID, userID string) (DonorStatus, error)
	// Payouts sums, per nonprofit and currency, what is owed; nonprofits
	// with no donations are left out. Ordered by nonprofit name, id,
	// currency.
	Payouts(ctx context.Context) ([]Payout, error)

	// RaiseGoal sets a higher goal and writes a "fundraiser" event. The
	// same goal is a no-op; a lower one, or an ended fundraiser, is
	// ErrConflict (ErrEnded for an ended one; the same goal stays a
	// no-op). Milestones the total has already passed under the new goal
	// are marked reached without an event.
	RaiseGoal(ctx context.Context, fundraiserID string, amount int64) (Fundraiser, error)

	// BanUser bans a viewer from a fundraiser's chat until the given time
	// (zero: for good; a timeout otherwise) and writes a "user.banned"
	// event (wire.UserBannedData, with Until for a timeout). The ban also
	// holds against every other session of the viewer's browser (see
	// Session.DeviceID). Banning again with the same end is a no-op
	// (changed false, no event); another end replaces the first. An empty
	// userID is an error.
	BanUser(ctx context.Context, fundraiserID, userID string, until time.Time) (changed bool, err error)
	// UnbanUser lifts the bans that stop userID from chatting: its own and
	// any on its browser. It writes a "user.unbanned" event for each banned
	// user it frees and for userID. Lifting nothing is a no-op (changed
	// false, no event).
	UnbanUser(ctx context.Context, fundraiserID, userID string) (changed bool, err error)
	// IsBanned reports whether a ban or a running timeout stops userID, or
	// its browser, from chatting in the fundraiser.
	IsBanned(ctx context.Context, fundraiserID, userID string) (bool, error)
	// ListBans returns the fundraiser's bans and running timeouts, newest
	// first (at most 500).
	ListBans(ctx context.Context, fundraiserID string) ([]Ban, error)
	// SetSlowMode sets the seconds a viewer must wait between chat
	// messages in the fundraiser; 0 turns slow mode off, and a negative
	// value is an error. No event is written.
	SetSlowMode(ctx context.Context, fundraiserID string, seconds int) (Fundraiser, error)
	// SetChatModes sets the fundraiser's chat modes; a negative wait is an
	// error. No event is written.
	SetChatModes(ctx context.Context, fundraiserID string, m ChatModes) (Fundraiser, error)
	// SetThanks sets the broadcaster's closing message. No event is
	// written.
	SetThanks(ctx context.Context, fundraiserID, text string) (Fundraiser, error)

	// Enqueue writes one event to the outbox in its own transaction, for
	// announcements that change nothing else in the ledger (shout-outs).
	// data must be valid JSON.
	Enqueue(ctx context.Context, room, typ string, data []byte) error
	// PendingEvents returns up to limit (0 or less means 100) unpublished
	// outbox events, lowest Seq first.
	PendingEvents(ctx context.Context, limit int) ([]OutboxEvent, error)
	// MarkPublished removes published events from the outbox. Unknown
	// seqs are ignored.
	MarkPublished(ctx context.Context, seqs []int64) error
}

// EventClaimer is implemented by ledgers that several processes share
// (PostgreSQL), so that any of them may drain the outbox and no event is
// published twice or out of its room's order.
type EventClaimer interface {
	// ClaimEvents, in one transaction, locks up to limit (0 or less means
	// 100) outbox events that no other caller holds, lowest Seq first,
	// leaving out every event of a room whose earlier event another caller
	// holds; calls publish with them (not at all when there are none);
	// deletes the first done events publish reports as published; and
	// commits. It returns how many events publish was given, and publish's
	// error (wrapped) after committing what was done. The claimed events
	// are held until the transaction ends, so publish should be quick.
	ClaimEvents(ctx context.Context, limit int, publish func([]OutboxEvent) (done int, err error)) (claimed int, err error)
}

// Ban is a viewer banned from a fundraiser's chat.
type Ban struct {
	UserID    string
	Name      string // the banned session's name, "" when unknown
	CreatedAt time.Time
	ExpiresAt time.Time // zero: for good
}
