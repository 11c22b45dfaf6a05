package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

const donationColumns = `id, fundraiser_id, idempotency_key, request_hash, user_id, amount, currency,
	name, message, public_message, anonymous, message_hidden, status, provider, provider_ref,
	client_secret, failure_reason, destination, created_at, settled_at, refunded_at`

func scanDonation(r pgx.Row) (store.Donation, error) {
	var (
		d                 store.Donation
		key               *string
		settled, refunded *time.Time
	)
	err := r.Scan(&d.ID, &d.FundraiserID, &key, &d.RequestHash, &d.UserID, &d.Amount, &d.Currency,
		&d.Name, &d.Message, &d.PublicMessage, &d.Anonymous, &d.MessageHidden, &d.Status, &d.Provider,
		&d.ProviderRef, &d.ClientSecret, &d.FailureReason, &d.Destination, &d.CreatedAt, &settled, &refunded)
	if err != nil {
		return store.Donation{}, err
	}
	if key != nil {
		d.IdempotencyKey = *key
	}
	d.CreatedAt = d.CreatedAt.UTC()
	d.SettledAt = fromDB(settled)
	d.RefundedAt = fromDB(refunded)
	return d, nil
}

// nullIfEmpty stores "" and empty byte slices as NULL.
func nullIfEmpty[T string | []byte](v T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// CreateDonation records a donation, or returns the fundraiser's donation
// with the same idempotency key unchanged (created false), whatever its
// request hash. An empty IdempotencyKey records a new donation every time.
//
// The fundraiser's row is locked first, so donations to one fundraiser
// queue behind each other: concurrent requests with one key record one
// donation (the later ones find it), and each announced total includes
// every donation committed before it.
//
// Beyond the contract: a retry with a known key gets its donation back even
// once the fundraiser has ended; Currency "" means the fundraiser's, and
// any other currency than the fundraiser's is store.ErrConflict, as is a
// ProviderRef another donation already has. A donation created succeeded
// has the effects of SettleDonation in the same transaction.
func (s *Store) CreateDonation(ctx context.Context, in store.NewDonation) (store.Donation, bool, error) {
	if err := ledgerrules.CheckNewDonation(in); err != nil {
		return store.Donation{}, false, fmt.Errorf("failed to create donation: %w", err)
	}
	id, err := ledgerrules.NewID(ledgerrules.PrefixDonation)
	if err != nil {
		return store.Donation{}, false, wrap("create donation", err)
	}
	done, err := s.queue(ctx, in.FundraiserID)
	if err != nil {
		return store.Donation{}, false, wrap("create donation", err)
	}
	defer done()
	var (
		out     store.Donation
		created bool
	)
	err = s.inTx(ctx, func(tx *wtx) error {
		out, created = store.Donation{}, false
		d, insert, args := newDonation(id, in)
		t, br, err := lockTotals(tx, in.FundraiserID, ledgerrules.DonorKey(d), insert, args...)
		if err != nil {
			return err
		}
		tag, err := br.Exec()
		err = closeBatch(br, err)
		if isUnique(err) {
			return fmt.Errorf("provider %s payment already recorded: %w", in.Provider, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		f := t.f
		if tag.RowsAffected() == 1 {
			d.Currency = f.Currency
			out, created = d, true
			if d.Status == store.DonationSucceeded {
				return applySucceeded(tx, t, d)
			}
			return nil
		}
		// Not recorded: the fundraiser has ended, is in another currency,
		// or already has a donation with this key, which is the answer
		// in every case.
		if in.IdempotencyKey != "" {
			d, err := scanDonation(tx.queryRow(
				`SELECT `+donationColumns+` FROM donations WHERE fundraiser_id = $1 AND idempotency_key = $2`,
				in.FundraiserID, in.IdempotencyKey))
			if err == nil {
				out = d
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if f.Status == store.StatusEnded {
			return fmt.Errorf("fundraiser %s: %w", f.ID, store.ErrEnded)
		}
		return fmt.Errorf("donation in %s to a fundraiser in %s: %w", in.Currency, f.Currency, store.ErrConflict)
	})
	if err != nil {
		return store.Donation{}, false, wrap("create donation", err)
	}
	return out, created, nil
}

// newDonation returns a new donation as it will be stored, but for its
// Currency (the fundraiser's), and the statement and arguments that insert
// it. The statement inserts nothing when the fundraiser has ended, is in
// another currency than a non-empty in.Currency, or already has a
// donation with its idempotency key. The record is built
// (ledgerrules.NewDonationRecord) rather than read back: every column is
// known, and this is the hottest statement of the ledger.
func newDonation(id string, in store.NewDonation) (d store.Donation, insert string, args []any) {
	created := now()
	d = ledgerrules.NewDonationRecord(id, "", in, created)
	var settled *time.Time
	if in.Status != store.DonationPending {
		settled = &created
	}
	insert = `INSERT INTO donations (id, fundraiser_id, idempotency_key, request_hash, user_id, amount,
		 currency, name, message, public_message, anonymous, status, provider, provider_ref,
		 failure_reason, created_at, settled_at, destination)
		 SELECT $1::text, f.id, $3::text, $4::bytea, $5::text, $6::bigint, f.currency, $8::text, $9::text,
		 $10::text, $11::boolean, $12::text, $13::text, $14::text, $15::text, $16::timestamptz, $17::timestamptz,
		 $18::text
		 FROM fundraisers f WHERE f.id = $2 AND f.status <> 'ended' AND ($7::text = '' OR f.currency = $7::text)
		 ON CONFLICT (fundraiser_id, idempotency_key) DO NOTHING`
	args = []any{d.ID, d.FundraiserID, nullIfEmpty(d.IdempotencyKey), nullIfEmpty(d.RequestHash), d.UserID,
		d.Amount, in.Currency, d.Name, d.Message, d.PublicMessage, d.Anonymous, d.Status,
		d.Provider, d.ProviderRef, d.FailureReason, created, settled, d.Destination}
	return d, insert, args
}

// donationTx locks a donation's row and reads it.
func donationTx(tx *wtx, id string) (store.Donation, error) {
	d, err := scanDonation(tx.queryRow(`SELECT `+donationColumns+` FROM donations WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Donation{}, fmt.Errorf("donation %s: %w", id, store.ErrNotFound)
	}
	return d, err
}

// GetDonation returns the donation with the given ID.
func (s *Store) GetDonation(ctx context.Context, id string) (store.Donation, error) {
	d, err := scanDonation(s.pool.QueryRow(ctx, `SELECT `+donationColumns+` FROM donations WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("donation %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Donation{}, wrap("get donation", err)
	}
	return d, nil
}

// DonationByProviderRef finds the donation a provider's payment id belongs
// to.
func (s *Store) DonationByProviderRef(ctx context.Context, provider, ref string) (store.Donation, error) {
	var (
		d   store.Donation
		err = pgx.ErrNoRows
	)
	if ref != "" {
		d, err = scanDonation(s.pool.QueryRow(ctx,
			`SELECT `+donationColumns+` FROM donations WHERE provider = $1 AND provider_ref = $2`, provider, ref))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("donation by %s payment %s: %w", provider, ref, store.ErrNotFound)
	}
	if err != nil {
		return store.Donation{}, wrap("find donation by provider ref", err)
	}
	return d, nil
}

// SetDonationPayment records a pending donation's provider payment id and
// client secret. The same ref again is a no-op (in any status, secret
// unchanged); a different ref, a ref another donation has, or a donation
// no longer pending is store.ErrConflict. An empty ref is an error.
func (s *Store) SetDonationPayment(ctx context.Context, id, ref, clientSecret string) (store.Donation, error) {
	if ref == "" {
		return store.Donation{}, errors.New("failed to set donation payment: empty provider ref")
	}
	var out store.Donation
	err := s.inTx(ctx, func(tx *wtx) error {
		d, err := donationTx(tx, id)
		if err != nil {
			return err
		}
		switch {
		case d.ProviderRef == ref:
			out = d
			return nil
		case d.Status != store.DonationPending:
			return fmt.Errorf("donation %s is %s: %w", id, d.Status, store.ErrConflict)
		case d.ProviderRef != "":
			return fmt.Errorf("donation %s already has another payment: %w", id, store.ErrConflict)
		}
		out, err = scanDonation(tx.queryRow(
			`UPDATE donations SET provider_ref = $1, client_secret = $2 WHERE id = $3 RETURNING `+donationColumns,
			ref, clientSecret, id))
		if isUnique(err) {
			return fmt.Errorf("provider %s payment already recorded: %w", d.Provider, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return store.Donation{}, wrap("set donation payment", err)
	}
	return out, nil
}

// recordProviderEvent records ev as applied, or fails with
// store.ErrDuplicateEvent if it was before. A concurrent transaction
// recording the same event makes this one wait for its outcome. A nil ev
// records nothing.
func recordProviderEvent(tx *wtx, ev *store.ProviderEvent) error {
	if ev == nil {
		return nil
	}
	tag, err := tx.exec(
		`INSERT INTO provider_events (provider, event_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		ev.Provider, ev.ID, now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s event %s: %w", ev.Provider, ev.ID, store.ErrDuplicateEvent)
	}
	return nil
}

// SettleDonation moves a pending donation to succeeded or failed (with
// reason; the reason is kept only for failed). Settling to the status it
// has is a no-op (changed false; the event, if any, is still recorded);
// any other move, including to a status other than succeeded or failed, is
// store.ErrConflict. A donation settles even once its fundraiser has ended:
// the money has moved. With ev, a duplicate event is
// store.ErrDuplicateEvent and changes nothing.
func (s *Store) SettleDonation(ctx context.Context, id, status, reason string, ev *store.ProviderEvent) (store.Donation, bool, error) {
	var (
		out     store.Donation
		changed bool
	)
	err := s.inTx(ctx, func(tx *wtx) error {
		out, changed = store.Donation{}, false
		if err := recordProviderEvent(tx, ev); err != nil {
			return err
		}
		d, err := donationTx(tx, id)
		if err != nil {
			return err
		}
		if d.Status == status {
			out = d
			return nil
		}
		if !ledgerrules.CanSettle(d.Status, status) {
			return fmt.Errorf("donation %s: cannot move from %q to %q: %w", id, d.Status, status, store.ErrConflict)
		}
		why := reason
		if status != store.DonationFailed {
			why = ""
		}
		const update = `UPDATE donations SET status = $1, failure_reason = $2, settled_at = $3
			WHERE id = $4 RETURNING ` + donationColumns
		args := []any{status, why, now(), id}
		if status != store.DonationSucceeded {
			out, err = scanDonation(tx.queryRow(update, args...))
			changed = err == nil
			return err
		}
		// Lock the fundraiser (after the donation) and update in one round trip.
		t, br, err := lockTotals(tx, d.FundraiserID, ledgerrules.DonorKey(d), update, args...)
		if err != nil {
			return err
		}
		d, err = scanDonation(br.QueryRow())
		err = closeBatch(br, err)
		if err != nil {
			return err
		}
		out, changed = d, true
		return applySucceeded(tx, t, d)
	})
	if err != nil {
		return store.Donation{}, false, wrap("settle donation", err)
	}
	return out, changed, nil
}

// RefundDonation moves a succeeded donation to refunded, taking it out of
// the totals and the donor list, and writes "donation.refunded". Refunding
// a refunded donation is a no-op (changed false; the event, if any, is
// still recorded); pending or failed is store.ErrConflict. ev as in
// SettleDonation.
func (s *Store) RefundDonation(ctx context.Context, id string, ev *store.ProviderEvent) (store.Donation, bool, error) {
	var (
		out     store.Donation
		changed bool
	)
	err := s.inTx(ctx, func(tx *wtx) error {
		out, changed = store.Donation{}, false
		if err := recordProviderEvent(tx, ev); err != nil {
			return err
		}
		d, err := donationTx(tx, id)
		if err != nil {
			return err
		}
		switch d.Status {
		case store.DonationRefunded:
			out = d
			return nil
		case store.DonationSucceeded:
		default:
			return fmt.Errorf("donation %s is %s, not succeeded: %w", id, d.Status, store.ErrConflict)
		}
		// Lock the fundraiser (after the donation, before the donor rows)
		// and update in one round trip.
		_, br, err := lockTotals(tx, d.FundraiserID, ledgerrules.DonorKey(d),
			`UPDATE donations SET status = $1, refunded_at = $2 WHERE id = $3 RETURNING `+donationColumns,
			store.DonationRefunded, now(), id)
		if err != nil {
			return err
		}
		d, err = scanDonation(br.QueryRow())
		err = closeBatch(br, err)
		if err != nil {
			return err
		}
		out, changed = d, true
		return applyRefunded(tx, d)
	})
	if err != nil {
		return store.Donation{}, false, wrap("refund donation", err)
	}
	return out, changed, nil
}

// HideDonationMessage clears a donation's public message for good and
// marks it hidden, in any status. It writes a "donation.hidden" event only
// if there was a public message to hide; hiding again is a no-op.
func (s *Store) HideDonationMessage(ctx context.Context, id string) (store.Donation, error) {
	var out store.Donation
	err := s.inTx(ctx, func(tx *wtx) error {
		d, err := donationTx(tx, id)
		if err != nil {
			return err
		}
		if d.MessageHidden && d.PublicMessage == "" {
			out = d
			return nil
		}
		out, err = scanDonation(tx.queryRow(
			`UPDATE donations SET public_message = '', message_hidden = true WHERE id = $1 RETURNING `+donationColumns, id))
		if err != nil || d.PublicMessage == "" {
			return err
		}
		return tx.enqueue(d.FundraiserID, wire.TypeDonationHidden, wire.DonationHiddenData{ID: d.ID})
	})
	if err != nil {
		return store.Donation{}, wrap("hide donation message", err)
	}
	return out, nil
}

// UnhideDonationMessage shows a hidden message again, as public, and
// announces it for a succeeded donation.
func (s *Store) UnhideDonationMessage(ctx context.Context, id, public string) (store.Donation, error) {
	var out store.Donation
	err := s.inTx(ctx, func(tx *wtx) error {
		d, err := donationTx(tx, id)
		if err != nil {
			return err
		}
		if !d.MessageHidden {
			out = d
			return nil
		}
		out, err = scanDonation(tx.queryRow(
			`UPDATE donations SET public_message = $1, message_hidden = false WHERE id = $2 RETURNING `+donationColumns, public, id))
		if err != nil || public == "" || d.Status != store.DonationSucceeded {
			return err
		}
		return tx.enqueue(d.FundraiserID, wire.TypeDonationUnhidden, wire.DonationUnhiddenData{ID: d.ID, Message: public})
	})
	if err != nil {
		return store.Donation{}, wrap("unhide donation message", err)
	}
	return out, nil
}

// ListDonations pages through a fundraiser's donations, newest first (by
// id). An unknown fundraiser is store.ErrNotFound.
func (s *Store) ListDonations(ctx context.Context, f store.DonationFilter) ([]store.Donation, error) {
	where := []string{"fundraiser_id = $1"}
	args := []any{f.FundraiserID}
	if f.Status != "" {
		args = append(args, f.Status)
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	if f.Before != "" {
		args = append(args, f.Before)
		where = append(where, "id < $"+strconv.Itoa(len(args)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	args = append(args, limit)
	out, err := s.queryDonations(ctx, f.FundraiserID,
		`SELECT `+donationColumns+` FROM donations WHERE `+strings.Join(where, " AND ")+
			` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, wrap("list donations", err)
	}
	return out, nil
}

// RecentDonations returns up to limit (100 for 0 or less) succeeded
// donations, the most recently settled first. An unknown fundraiser is
// store.ErrNotFound.
func (s *Store) RecentDonations(ctx context.Context, fundraiserID string, limit int) ([]store.Donation, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	out, err := s.queryDonations(ctx, fundraiserID,
		`SELECT `+donationColumns+` FROM donations WHERE fundraiser_id = $1 AND status = 'succeeded'
		 ORDER BY settled_at DESC, id DESC LIMIT $2`, fundraiserID, limit)
	if err != nil {
		return nil, wrap("read recent donations", err)
	}
	return out, nil
}

// queryDonations runs a query for donations of one fundraiser; an empty
// result for an unknown fundraiser is store.ErrNotFound.
func (s *Store) queryDonations(ctx context.Context, fundraiserID, q string, args ...any) ([]store.Donation, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanDonation)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, s.fundraiserExists(ctx, fundraiserID)
	}
	return out, nil
}

// fundraiserExists returns store.ErrNotFound for an unknown fundraiser.
// Reads that find nothing call it, so that "none" and "no such fundraiser"
// differ without a second query when there are results.
func (s *Store) fundraiserExists(ctx context.Context, id string) error {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM fundraisers WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	return err
}

// fundraiserExistsTx is fundraiserExists inside a write transaction.
func fundraiserExistsTx(tx *wtx, id string) error {
	var one int
	err := tx.queryRow(`SELECT 1 FROM fundraisers WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	return err
}
