package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

const donationColumns = `id, fundraiser_id, idempotency_key, request_hash, user_id, amount, currency,
	name, message, public_message, anonymous, message_hidden, status, provider, provider_ref,
	client_secret, failure_reason, destination, created_at, settled_at, refunded_at`

func scanDonation(r rowScanner) (store.Donation, error) {
	var (
		d                 store.Donation
		key               sql.NullString
		created           int64
		settled, refunded sql.NullInt64
	)
	err := r.Scan(&d.ID, &d.FundraiserID, &key, &d.RequestHash, &d.UserID, &d.Amount, &d.Currency,
		&d.Name, &d.Message, &d.PublicMessage, &d.Anonymous, &d.MessageHidden, &d.Status, &d.Provider,
		&d.ProviderRef, &d.ClientSecret, &d.FailureReason, &d.Destination, &created, &settled, &refunded)
	if err != nil {
		return store.Donation{}, err
	}
	d.IdempotencyKey = key.String
	d.CreatedAt = fromMillis(created)
	d.SettledAt = fromNullMillis(settled)
	d.RefundedAt = fromNullMillis(refunded)
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
// Beyond the contract: a retry with a known key gets its donation back even
// once the fundraiser has ended (the answer to a request does not change);
// Currency "" means the fundraiser's, and any other currency than the
// fundraiser's is store.ErrConflict, as is a ProviderRef another donation
// already has. A donation created succeeded has the effects of
// SettleDonation in the same transaction.
func (s *Store) CreateDonation(ctx context.Context, in store.NewDonation) (store.Donation, bool, error) {
	if err := ledgerrules.CheckNewDonation(in); err != nil {
		return store.Donation{}, false, fmt.Errorf("failed to create donation: %w", err)
	}
	id, err := ledgerrules.NewID(ledgerrules.PrefixDonation)
	if err != nil {
		return store.Donation{}, false, wrap("create donation", err)
	}
	var (
		out     store.Donation
		created bool
	)
	err = s.inTx(ctx, func(tx *wtx) error {
		f, err := fundraiserTotalsTx(tx, in.FundraiserID)
		if err != nil {
			return err
		}
		currency := in.Currency
		if currency == "" {
			currency = f.Currency
		}
		if f.Status != store.StatusEnded && currency == f.Currency {
			d, err := insertDonation(tx, id, currency, in)
			if err == nil {
				out, created = d, true
				if d.Status == store.DonationSucceeded {
					return applySucceeded(tx, f, d)
				}
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			// The key is taken: fall through to return its donation.
		}
		if in.IdempotencyKey != "" {
			d, err := scanDonation(tx.queryRow(
				`SELECT `+donationColumns+` FROM donations WHERE fundraiser_id = ? AND idempotency_key = ?`,
				in.FundraiserID, in.IdempotencyKey))
			if err == nil {
				out = d
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
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

// insertDonation inserts a new donation and returns it as stored, or
// sql.ErrNoRows if the fundraiser already has one with its idempotency key.
// The record is built (ledgerrules.NewDonationRecord) rather than read back:
// every column is known, and this is the hottest statement of the ledger.
func insertDonation(tx *wtx, id, currency string, in store.NewDonation) (store.Donation, error) {
	created := now()
	d := ledgerrules.NewDonationRecord(id, currency, in, fromMillis(created))
	var settled any
	if in.Status != store.DonationPending {
		settled = created
	}
	res, err := tx.exec(
		`INSERT INTO donations (id, fundraiser_id, idempotency_key, request_hash, user_id, amount,
		 currency, name, message, public_message, anonymous, status, provider, provider_ref,
		 failure_reason, destination, created_at, settled_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (fundraiser_id, idempotency_key) DO NOTHING`,
		d.ID, d.FundraiserID, nullIfEmpty(d.IdempotencyKey), nullIfEmpty(d.RequestHash), d.UserID,
		d.Amount, d.Currency, d.Name, d.Message, d.PublicMessage, d.Anonymous, d.Status,
		d.Provider, d.ProviderRef, d.FailureReason, d.Destination, created, settled)
	if isUnique(err) {
		return store.Donation{}, fmt.Errorf("provider %s payment already recorded: %w", in.Provider, store.ErrConflict)
	}
	if err != nil {
		return store.Donation{}, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Donation{}, err
	}
	if n == 0 {
		return store.Donation{}, sql.ErrNoRows
	}
	return d, nil
}

// donationTx reads a donation inside a write transaction.
func donationTx(tx *wtx, id string) (store.Donation, error) {
	d, err := scanDonation(tx.queryRow(`SELECT `+donationColumns+` FROM donations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Donation{}, fmt.Errorf("donation %s: %w", id, store.ErrNotFound)
	}
	return d, err
}

// GetDonation returns the donation with the given ID.
func (s *Store) GetDonation(ctx context.Context, id string) (store.Donation, error) {
	d, err := scanDonation(s.read.QueryRowContext(ctx, `SELECT `+donationColumns+` FROM donations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
		err = sql.ErrNoRows
	)
	if ref != "" {
		d, err = scanDonation(s.read.QueryRowContext(ctx,
			`SELECT `+donationColumns+` FROM donations WHERE provider = ? AND provider_ref = ?`, provider, ref))
	}
	if errors.Is(err, sql.ErrNoRows) {
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
			`UPDATE donations SET provider_ref = ?, client_secret = ? WHERE id = ? RETURNING `+donationColumns,
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
// store.ErrDuplicateEvent if it was before. A nil ev records nothing.
func recordProviderEvent(tx *wtx, ev *store.ProviderEvent) error {
	if ev == nil {
		return nil
	}
	res, err := tx.exec(
		`INSERT INTO provider_events (provider, event_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		ev.Provider, ev.ID, now())
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
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
		if status != store.DonationFailed {
			reason = ""
		}
		d, err = scanDonation(tx.queryRow(
			`UPDATE donations SET status = ?, failure_reason = ?, settled_at = ? WHERE id = ? RETURNING `+donationColumns,
			status, reason, now(), id))
		if err != nil {
			return err
		}
		out, changed = d, true
		if status != store.DonationSucceeded {
			return nil
		}
		f, err := fundraiserTotalsTx(tx, d.FundraiserID)
		if err != nil {
			return err
		}
		return applySucceeded(tx, f, d)
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
		d, err = scanDonation(tx.queryRow(
			`UPDATE donations SET status = ?, refunded_at = ? WHERE id = ? RETURNING `+donationColumns,
			store.DonationRefunded, now(), id))
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
			`UPDATE donations SET public_message = '', message_hidden = 1 WHERE id = ? RETURNING `+donationColumns, id))
		if err != nil || d.PublicMessage == "" {
			return err
		}
		return enqueue(tx, d.FundraiserID, wire.TypeDonationHidden, wire.DonationHiddenData{ID: d.ID})
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
			`UPDATE donations SET public_message = ?, message_hidden = 0 WHERE id = ? RETURNING `+donationColumns, public, id))
		if err != nil || public == "" || d.Status != store.DonationSucceeded {
			return err
		}
		return enqueue(tx, d.FundraiserID, wire.TypeDonationUnhidden, wire.DonationUnhiddenData{ID: d.ID, Message: public})
	})
	if err != nil {
		return store.Donation{}, wrap("unhide donation message", err)
	}
	return out, nil
}

// ListDonations pages through a fundraiser's donations, newest first (by
// id). An unknown fundraiser is store.ErrNotFound.
func (s *Store) ListDonations(ctx context.Context, f store.DonationFilter) ([]store.Donation, error) {
	where := []string{"fundraiser_id = ?"}
	args := []any{f.FundraiserID}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Before != "" {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	args = append(args, limit)
	out, err := s.queryDonations(ctx, f.FundraiserID,
		`SELECT `+donationColumns+` FROM donations WHERE `+strings.Join(where, " AND ")+
			` ORDER BY id DESC LIMIT ?`, args...)
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
		`SELECT `+donationColumns+` FROM donations WHERE fundraiser_id = ? AND status = 'succeeded'
		 ORDER BY settled_at DESC, id DESC LIMIT ?`, fundraiserID, limit)
	if err != nil {
		return nil, wrap("read recent donations", err)
	}
	return out, nil
}

// queryDonations runs a query for donations of one fundraiser; an empty
// result for an unknown fundraiser is store.ErrNotFound.
func (s *Store) queryDonations(ctx context.Context, fundraiserID, q string, args ...any) ([]store.Donation, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Donation
	for rows.Next() {
		d, err := scanDonation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
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
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM fundraisers WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	return err
}

// fundraiserExistsTx is fundraiserExists inside a write transaction.
func fundraiserExistsTx(tx *wtx, id string) error {
	var one int
	err := tx.queryRow(`SELECT 1 FROM fundraisers WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	return err
}
