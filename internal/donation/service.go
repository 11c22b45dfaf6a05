// Package donation is the money path: it validates a donation, records it
// in the ledger exactly once per idempotency key, asks the payment provider
// for the money, settles it from the provider's answer or webhook, and
// wakes the outbox dispatcher so every viewer hears of it. It also holds
// the other owner and admin actions whose announcements go through the
// outbox: refunds, hidden messages, shout-outs, raised goals, the end of a
// fundraiser, bans and slow mode.
//
// Entry points: New, Service.Donate, Service.ApplyEvent, Service.Refund.
//
// Concurrency: a Service is safe for concurrent use. Exactly-once rests on
// the ledger: the idempotency key is unique per fundraiser in its
// transaction, not in this package.
package donation

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/givelive/givelive/internal/moderation"
	"github.com/givelive/givelive/internal/money"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/store"
)

// Default limits, from the wire contract.
const (
	DefaultMinAmount  = 100
	DefaultMaxAmount  = 1_000_000
	MaxNameRunes      = 64
	MaxMessageRunes   = 500
	MaxShoutoutRunes  = 200
	maxIdempotencyKey = 128
)

// Config configures New. Store and Provider are required.
type Config struct {
	Store    store.Store
	Provider payment.Provider
	// MinAmount and MaxAmount bound one donation in minor units. Zero
	// means the defaults (100 and 1,000,000).
	MinAmount, MaxAmount int64
	// Filter masks words in donation messages. Nil masks nothing.
	Filter *moderation.Filter
	// MessageMinAmount is the smallest donation whose message is shown;
	// smaller gifts are announced without it. Zero shows every message.
	MessageMinAmount int64
	// Policy, when set, learns of bans and slow-mode changes made here at
	// once.
	Policy *moderation.Policy
	// Notify is called after every committed change that wrote outbox
	// events, to wake the dispatcher. Nil means nobody is woken (the
	// dispatcher's polling still finds them).
	Notify func()
	Logger *slog.Logger
}

// Service runs the money path. See the package documentation.
type Service struct {
	cfg    Config
	log    *slog.Logger
	donors *donorCache
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Provider == nil {
		return nil, errors.New("donation: Config.Store and Config.Provider are required")
	}
	if cfg.MinAmount == 0 {
		cfg.MinAmount = DefaultMinAmount
	}
	if cfg.MaxAmount == 0 {
		cfg.MaxAmount = DefaultMaxAmount
	}
	if cfg.MinAmount < 1 || cfg.MaxAmount < cfg.MinAmount {
		return nil, fmt.Errorf("donation: amount limits %d..%d are not a range of positive amounts", cfg.MinAmount, cfg.MaxAmount)
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger, donors: newDonorCache(cfg.Store)}, nil
}

// Limits returns the smallest and largest donation accepted.
func (s *Service) Limits() (lo, hi int64) { return s.cfg.MinAmount, s.cfg.MaxAmount }

// ProviderName is the payment provider's name.
func (s *Service) ProviderName() string { return s.cfg.Provider.Name() }

// CheckPayoutAccount asks the provider whether a nonprofit's own account can
// receive its donations directly (payment.AccountChecker). Providers that
// cannot tell, such as the sandbox, accept any account.
func (s *Service) CheckPayoutAccount(ctx context.Context, account string) error {
	if c, ok := s.cfg.Provider.(payment.AccountChecker); ok {
		return c.CheckAccount(ctx, account)
	}
	return nil
}

// Request is a donation as a donor asks for it.
type Request struct {
	FundraiserID   string
	IdempotencyKey string
	UserID         string // the signed-in viewer, or ""
	Amount         int64
	Currency       string
	Name           string
	Message        string
	Anonymous      bool
}

// Result is the donation a Donate call recorded or found.
type Result struct {
	Donation store.Donation
	// Created is false when the idempotency key had already recorded this
	// donation: a retry.
	Created bool
}

// FieldError says why one field of a request was refused. Unprocessable
// marks a well-formed value that does not fit the record (a currency
// other than the fundraiser's), as opposed to a malformed one. Detail,
// when set, is a whole sentence for the donor ("The minimum gift is
// $1.00.").
type FieldError struct {
	Field, Message string
	Detail         string
	Unprocessable  bool
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ErrKeyReused means the idempotency key already recorded a donation with a
// different request.
var ErrKeyReused = errors.New("idempotency key already used for a different donation")

// ProviderError means the payment provider could not be reached or failed.
// The donation is recorded, pending; retrying with the same idempotency
// key asks the provider again.
type ProviderError struct {
	Donation store.Donation
	Err      error
}

func (e *ProviderError) Error() string { return "payment provider failed: " + e.Err.Error() }
func (e *ProviderError) Unwrap() error { return e.Err }

// Donate records a donation and collects it. Refusals record nothing:
// *FieldError for invalid input, store.ErrNotFound for an unknown
// fundraiser, store.ErrEnded for an ended one, ErrKeyReused for a key
// reused with another request. A *ProviderError leaves the donation
// pending for a retry.
func (s *Service) Donate(ctx context.Context, r Request) (Result, error) {
	f, err := s.cfg.Store.GetFundraiser(ctx, r.FundraiserID)
	if err != nil {
		return Result{}, err
	}
	nd, err := s.validate(f, r)
	if err != nil {
		return Result{}, err
	}
	// Where the money goes is fixed now, for this donation and its
	// retries: the nonprofit's own account if it has one.
	np, err := s.cfg.Store.GetNonprofit(ctx, f.NonprofitID)
	if err != nil {
		return Result{}, err
	}
	nd.Destination = np.PayoutAccount
	// Ask an instant provider first, so the donation is recorded settled
	// in one transaction. Its answer cannot depend on the donation id,
	// which does not exist yet; the ref is set from the id below.
	instant, isInstant := s.cfg.Provider.(payment.Instant)
	decided := false
	if isInstant {
		var c payment.Charge
		c, decided = instant.Decide(payment.Request{FundraiserID: f.ID, Amount: nd.Amount, Currency: nd.Currency})
		if decided {
			nd.Status, nd.FailureReason = c.Status, c.FailureReason
		}
	}
	d, created, err := s.cfg.Store.CreateDonation(ctx, nd)
	if err != nil {
		return Result{}, err
	}
	if !created && string(d.RequestHash) != string(nd.RequestHash) {
		return Result{}, ErrKeyReused
	}
	if created && d.Status != store.DonationPending {
		s.settled(d)
	}
	if d.Status == store.DonationPending && d.ProviderRef == "" && !decided {
		if d, err = s.charge(ctx, f, d); err != nil {
			return Result{Donation: d}, err
		}
	}
	return Result{Donation: d, Created: created}, nil
}

// validate checks r against the fundraiser and limits and builds the
// ledger record, public message included.
func (s *Service) validate(f store.Fundraiser, r Request) (store.NewDonation, error) {
	if n := len(r.IdempotencyKey); n == 0 || n > maxIdempotencyKey {
		return store.NewDonation{}, &FieldError{Field: "Idempotency-Key", Message: fmt.Sprintf("must be 1 to %d characters", maxIdempotencyKey)}
	}
	if r.Amount < s.cfg.MinAmount {
		least := money.Format(s.cfg.MinAmount, f.Currency)
		return store.NewDonation{}, &FieldError{Field: "amount", Message: "must be at least " + least,
			Detail: "The minimum gift is " + least + "."}
	}
	if r.Amount > s.cfg.MaxAmount {
		most := money.Format(s.cfg.MaxAmount, f.Currency)
		return store.NewDonation{}, &FieldError{Field: "amount", Message: "must be at most " + most,
			Detail: "The largest gift we can take at once is " + most + "."}
	}
	if r.Currency != f.Currency {
		return store.NewDonation{}, &FieldError{Field: "currency", Unprocessable: true,
			Message: fmt.Sprintf("must be %s, this fundraiser's currency", f.Currency)}
	}
	name, ok := cleanText(r.Name)
	if !ok {
		return store.NewDonation{}, &FieldError{Field: "name", Message: "must be valid UTF-8"}
	}
	// Names are public too: the word filter masks them as it does
	// messages (the ledger keeps the masked name).
	name, _ = s.cfg.Filter.Mask(name)
	if utf8.RuneCountInString(name) > MaxNameRunes {
		return store.NewDonation{}, &FieldError{Field: "name", Message: fmt.Sprintf("must be at most %d characters long", MaxNameRunes)}
	}
	msg, ok := cleanText(r.Message)
	if !ok {
		return store.NewDonation{}, &FieldError{Field: "message", Message: "must be valid UTF-8"}
	}
	if utf8.RuneCountInString(msg) > MaxMessageRunes {
		return store.NewDonation{}, &FieldError{Field: "message", Message: fmt.Sprintf("must be at most %d characters long", MaxMessageRunes)}
	}
	return store.NewDonation{
		FundraiserID:   f.ID,
		IdempotencyKey: r.IdempotencyKey,
		RequestHash:    requestHash(r, name, msg),
		UserID:         r.UserID,
		Amount:         r.Amount,
		Currency:       r.Currency,
		Name:           name,
		Message:        msg,
		PublicMessage:  s.publicMessage(r.Amount, msg),
		Anonymous:      r.Anonymous,
		Provider:       s.cfg.Provider.Name(),
		Status:         store.DonationPending,
	}, nil
}

// publicMessage is what viewers see of a message: nothing below the
// message minimum, listed words masked.
func (s *Service) publicMessage(amount int64, msg string) string {
	if amount < s.cfg.MessageMinAmount {
		return ""
	}
	out, _ := s.cfg.Filter.Mask(msg)
	return out
}

// requestHash identifies a request for the idempotency check: the same key
// must come with the same donor, amount, currency, name, message and
// anonymity. Each field is length-prefixed so no two requests collide by
// concatenation.
func requestHash(r Request, name, msg string) []byte {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{r.UserID, r.Currency, name, msg} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	binary.BigEndian.PutUint64(n[:], uint64(r.Amount))
	h.Write(n[:])
	if r.Anonymous {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// charge asks the provider for a pending donation's money and records its
// answer.
func (s *Service) charge(ctx context.Context, f store.Fundraiser, d store.Donation) (store.Donation, error) {
	c, err := s.cfg.Provider.Charge(ctx, payment.Request{
		DonationID:   d.ID,
		FundraiserID: f.ID,
		Amount:       d.Amount,
		Currency:     d.Currency,
		Description:  "Donation to " + f.Title,
		Destination:  d.Destination,
	})
	if err != nil {
		s.log.Warn("payment provider failed", "provider", s.cfg.Provider.Name(), "donation", d.ID, "err", err)
		return d, &ProviderError{Donation: d, Err: err}
	}
	if c.Ref != "" {
		if d, err = s.cfg.Store.SetDonationPayment(ctx, d.ID, c.Ref, c.ClientSecret); err != nil {
			return d, err
		}
	}
	if c.Status == payment.Succeeded || c.Status == payment.Failed {
		var changed bool
		d, changed, err = s.cfg.Store.SettleDonation(ctx, d.ID, c.Status, c.FailureReason, nil)
		if err != nil {
			return d, err
		}
		if changed {
			s.settled(d)
		}
	}
	return d, nil
}

// settled runs after a donation's status changed in the ledger.
func (s *Service) settled(d store.Donation) {
	if d.Status == store.DonationSucceeded && d.UserID != "" {
		s.donors.add(d.FundraiserID, d.UserID, d.Anonymous)
		if s.cfg.Policy != nil {
			s.cfg.Policy.Donated(d.FundraiserID, d.UserID)
		}
	}
	if d.Status == store.DonationRefunded && d.UserID != "" {
		s.donors.forget(d.FundraiserID, d.UserID)
	}
	if d.Status != store.DonationPending {
		s.cfg.Notify()
	}
}

// DonorStatus tells whether a viewer has a counted donation to a
// fundraiser (room), and whether one of them is named; it implements
// hub.DonorChecker.
func (s *Service) DonorStatus(ctx context.Context, room, userID string) (donated, named bool, err error) {
	st, err := s.donors.get(ctx, room, userID)
	return st.Donated, st.Named, err
}
