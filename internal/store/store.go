// Package store defines the ledger: the durable records GiveLive keeps about
// nonprofits, broadcasters, fundraisers and viewer sessions, and the Store
// interface every backend (SQLite now, PostgreSQL later) implements.
//
// Entry points: the Store interface, its record types, and the sentinel errors
// callers branch on (ErrNotFound, ErrConflict, ErrNotVerified).
//
// Concurrency: every Store method is safe to call from many goroutines. Each
// state change runs in exactly one transaction.
//
// Records: IDs are a kind prefix (np_, b_, f_, u_, d_) and a UUIDv7 in 32
// lowercase hex digits. Times are UTC at millisecond precision, and a
// record a method returns equals the one a later read returns. The
// backend-independent contract tests are in package storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them, so callers test with errors.Is.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change contradicts the record's current state,
	// such as an invalid status transition.
	ErrConflict = errors.New("conflict")
	// ErrNotVerified means a fundraiser was asked for an unverified nonprofit.
	ErrNotVerified = errors.New("nonprofit not verified")
)

// Nonprofit is a registered charity. Only verified nonprofits may receive
// fundraisers.
type Nonprofit struct {
	ID             string
	Name           string
	RegistrationID string
	Country        string // ISO 3166-1 alpha-2
	Verified       bool
	CreatedAt      time.Time
	VerifiedAt     time.Time // zero until verified
	// PayoutAccount is the nonprofit's own account at the payment provider
	// (a Stripe Connect account, acct_…), which receives its donations
	// directly; "" means the platform collects them and pays them out.
	PayoutAccount string
}

// Broadcaster is a streamer who runs fundraisers. The API token itself is
// never stored, only its SHA-256 hash.
type Broadcaster struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Fundraiser statuses. A fundraiser only moves forward:
// scheduled → live → ended, or scheduled → ended. A live fundraiser whose
// stream stops stays live (the stream status is separate).
const (
	StatusScheduled = "scheduled"
	StatusLive      = "live"
	StatusEnded     = "ended"
)

// Fundraiser is one live-stream fundraiser for one nonprofit.
type Fundraiser struct {
	ID            string
	BroadcasterID string
	NonprofitID   string
	Title         string
	GoalAmount    int64  // minor units
	Currency      string // ISO 4217, upper case
	Status        string
	StreamKey     string // secret: never in public responses or logs
	CreatedAt     time.Time
	StartedAt     time.Time // zero until live
	EndedAt       time.Time // zero until ended

	// Totals, kept by the Money methods in the transactions that change
	// them.
	Raised        int64 // succeeded minus refunded, minor units
	Refunded      int64 // refunded, minor units
	Donors        int64 // donors with a succeeded, unrefunded donation
	DonationCount int64 // succeeded, unrefunded donations

	// Milestones in percent of the goal, ascending; crossing one is
	// announced once.
	Milestones []int
	// SlowModeSeconds is the wait between one viewer's chat messages; 0 is
	// off.
	SlowModeSeconds int
	// ChatDonorsOnly lets only viewers who have given chat.
	ChatDonorsOnly bool
	// ChatWaitSeconds is how old a viewer's first session (in their
	// browser) must be before they may chat; 0 is off.
	ChatWaitSeconds int
	// Thanks is the broadcaster's closing message, shown once it has ended.
	Thanks string
}

// ChatModes are a fundraiser's optional chat rules beside slow mode.
type ChatModes struct {
	DonorsOnly  bool
	WaitSeconds int // new chatters' wait; 0 is off
}

// Session is a viewer identity created by POST /api/v1/sessions.
type Session struct {
	ID   string
	Name string
	// DeviceID names the browser the session was made in (an opaque id
	// kept in a cookie), or "" when unknown. Bans hold against every
	// session of a banned viewer's browser.
	DeviceID  string
	CreatedAt time.Time
}

// NewNonprofit holds the fields a caller supplies to create a nonprofit.
type NewNonprofit struct {
	Name           string
	RegistrationID string
	Country        string
}

// NewFundraiser holds the fields a caller supplies to create a fundraiser.
type NewFundraiser struct {
	BroadcasterID string
	NonprofitID   string
	Title         string
	GoalAmount    int64
	Currency      string
	StreamKey     string
	// Milestones in percent of the goal (each 1 to 1000); nil means
	// DefaultMilestones, empty means none. Stored sorted, without
	// duplicates.
	Milestones []int
}

// FundraiserFilter selects fundraisers for listing. Zero values match all.
type FundraiserFilter struct {
	Status        string // one of the Status constants, or "" for any
	BroadcasterID string // or "" for any
	Limit         int    // 0 means 100
}

// Store is the ledger. Implementations: internal/store/sqlite.
type Store interface {
	CreateNonprofit(ctx context.Context, n NewNonprofit) (Nonprofit, error)
	// VerifyNonprofit marks a nonprofit verified; verifying twice is not an error.
	VerifyNonprofit(ctx context.Context, id string) (Nonprofit, error)
	// SetPayoutAccount links the nonprofit to its payment provider account
	// ("" unlinks it). Donations created afterwards are charged to it;
	// earlier ones keep the destination they were created with.
	SetPayoutAccount(ctx context.Context, id, account string) (Nonprofit, error)
	GetNonprofit(ctx context.Context, id string) (Nonprofit, error)
	// ListNonprofits returns nonprofits ordered by name; verifiedOnly filters.
	ListNonprofits(ctx context.Context, verifiedOnly bool) ([]Nonprofit, error)

	// CreateBroadcaster fails with ErrConflict if tokenHash is already in use.
	CreateBroadcaster(ctx context.Context, name string, tokenHash []byte) (Broadcaster, error)
	GetBroadcaster(ctx context.Context, id string) (Broadcaster, error)
	// BroadcasterByTokenHash finds the broadcaster whose token hashes to tokenHash.
	BroadcasterByTokenHash(ctx context.Context, tokenHash []byte) (Broadcaster, error)

	// CreateFundraiser fails with ErrNotFound for an unknown nonprofit or
	// broadcaster, ErrNotVerified for an unverified nonprofit and
	// ErrConflict for a stream key already in use. New fundraisers are
	// scheduled.
	CreateFundraiser(ctx context.Context, f NewFundraiser) (Fundraiser, error)
	GetFundraiser(ctx context.Context, id string) (Fundraiser, error)
	FundraiserByStreamKey(ctx context.Context, key string) (Fundraiser, error)
	// ListFundraisers returns the newest first; fundraisers created in the
	// same millisecond come in descending ID order.
	ListFundraisers(ctx context.Context, f FundraiserFilter) ([]Fundraiser, error)
	// SetFundraiserStatus moves a fundraiser forward, setting StartedAt on
	// going live and EndedAt on ending, and writes a "fundraiser" event
	// (wire.FundraiserData) in the same transaction. Setting the status it
	// already has is a no-op that returns the record and writes no event; a
	// backwards move, or a move to an unknown status, is ErrConflict.
	SetFundraiserStatus(ctx context.Context, id, status string) (Fundraiser, error)

	// RotateStreamKey replaces a fundraiser's stream key: the old one stops
	// working at once. ErrNotFound for an unknown fundraiser, ErrConflict
	// for an ended one or a key already in use.
	RotateStreamKey(ctx context.Context, id, newKey string) (Fundraiser, error)

	// CreateSession stores a viewer session made in the browser deviceID
	// ("" when unknown).
	CreateSession(ctx context.Context, name, deviceID string) (Session, error)
	GetSession(ctx context.Context, id string) (Session, error)
	// ChatterSince is when the viewer's browser first had a session: the
	// session's own creation, or an earlier session's with the same
	// DeviceID. ErrNotFound for an unknown session.
	ChatterSince(ctx context.Context, userID string) (time.Time, error)

	// Secret returns the named secret, creating it with gen on first use, so
	// every node sharing the ledger signs tokens with the same key.
	// Concurrent first callers may each call gen, but all get the one value
	// stored. An error from gen is returned wrapped and stores nothing.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)

	Money

	// Ping reports whether the ledger is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}
