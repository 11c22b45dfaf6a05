package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

const nonprofitColumns = `id, name, registration_id, country, verified, created_at, verified_at, payout_account`

func scanNonprofit(r rowScanner) (store.Nonprofit, error) {
	var (
		n          store.Nonprofit
		created    int64
		verifiedAt sql.NullInt64
	)
	if err := r.Scan(&n.ID, &n.Name, &n.RegistrationID, &n.Country, &n.Verified, &created, &verifiedAt, &n.PayoutAccount); err != nil {
		return store.Nonprofit{}, err
	}
	n.CreatedAt = fromMillis(created)
	n.VerifiedAt = fromNullMillis(verifiedAt)
	return n, nil
}

// CreateNonprofit stores a new, unverified nonprofit.
func (s *Store) CreateNonprofit(ctx context.Context, in store.NewNonprofit) (store.Nonprofit, error) {
	id, err := ledgerrules.NewID(ledgerrules.PrefixNonprofit)
	if err != nil {
		return store.Nonprofit{}, wrap("create nonprofit", err)
	}
	created := now()
	err = s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.exec(
			`INSERT INTO nonprofits (id, name, registration_id, country, created_at) VALUES (?, ?, ?, ?, ?)`,
			id, in.Name, in.RegistrationID, in.Country, created)
		return err
	})
	if err != nil {
		return store.Nonprofit{}, wrap("create nonprofit", err)
	}
	return store.Nonprofit{
		ID:             id,
		Name:           in.Name,
		RegistrationID: in.RegistrationID,
		Country:        in.Country,
		CreatedAt:      fromMillis(created),
	}, nil
}

// VerifyNonprofit marks a nonprofit verified. Verifying it again keeps the
// first VerifiedAt.
func (s *Store) VerifyNonprofit(ctx context.Context, id string) (store.Nonprofit, error) {
	var n store.Nonprofit
	err := s.inTx(ctx, func(tx *wtx) error {
		row := tx.queryRow(
			`UPDATE nonprofits SET verified = 1, verified_at = coalesce(verified_at, ?)
			 WHERE id = ? RETURNING `+nonprofitColumns,
			now(), id)
		var err error
		n, err = scanNonprofit(row)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("nonprofit %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Nonprofit{}, wrap("verify nonprofit", err)
	}
	return n, nil
}

// SetPayoutAccount links the nonprofit to its payout account ("" unlinks).
func (s *Store) SetPayoutAccount(ctx context.Context, id, account string) (store.Nonprofit, error) {
	var n store.Nonprofit
	err := s.inTx(ctx, func(tx *wtx) error {
		var err error
		n, err = scanNonprofit(tx.queryRow(
			`UPDATE nonprofits SET payout_account = ? WHERE id = ? RETURNING `+nonprofitColumns, account, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("nonprofit %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Nonprofit{}, wrap("set payout account", err)
	}
	return n, nil
}

// GetNonprofit returns the nonprofit with the given ID.
func (s *Store) GetNonprofit(ctx context.Context, id string) (store.Nonprofit, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+nonprofitColumns+` FROM nonprofits WHERE id = ?`, id)
	n, err := scanNonprofit(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("nonprofit %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Nonprofit{}, wrap("get nonprofit", err)
	}
	return n, nil
}

// ListNonprofits returns nonprofits ordered by name (byte order), then ID.
func (s *Store) ListNonprofits(ctx context.Context, verifiedOnly bool) ([]store.Nonprofit, error) {
	q := `SELECT ` + nonprofitColumns + ` FROM nonprofits`
	if verifiedOnly {
		q += ` WHERE verified = 1`
	}
	q += ` ORDER BY name, id`
	rows, err := s.read.QueryContext(ctx, q)
	if err != nil {
		return nil, wrap("list nonprofits", err)
	}
	defer rows.Close()
	var out []store.Nonprofit
	for rows.Next() {
		n, err := scanNonprofit(rows)
		if err != nil {
			return nil, wrap("list nonprofits", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list nonprofits", err)
	}
	return out, nil
}
