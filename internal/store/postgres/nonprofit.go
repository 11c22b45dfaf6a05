package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

const nonprofitColumns = `id, name, registration_id, country, verified, created_at, verified_at, payout_account`

func scanNonprofit(r pgx.Row) (store.Nonprofit, error) {
	var (
		n          store.Nonprofit
		verifiedAt *time.Time
	)
	if err := r.Scan(&n.ID, &n.Name, &n.RegistrationID, &n.Country, &n.Verified, &n.CreatedAt, &verifiedAt, &n.PayoutAccount); err != nil {
		return store.Nonprofit{}, err
	}
	n.CreatedAt = n.CreatedAt.UTC()
	n.VerifiedAt = fromDB(verifiedAt)
	return n, nil
}

// CreateNonprofit stores a new, unverified nonprofit.
func (s *Store) CreateNonprofit(ctx context.Context, in store.NewNonprofit) (store.Nonprofit, error) {
	id, err := ledgerrules.NewID(ledgerrules.PrefixNonprofit)
	if err != nil {
		return store.Nonprofit{}, wrap("create nonprofit", err)
	}
	created := now()
	_, err = s.pool.Exec(ctx,
		`INSERT INTO nonprofits (id, name, registration_id, country, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id, in.Name, in.RegistrationID, in.Country, created)
	if err != nil {
		return store.Nonprofit{}, wrap("create nonprofit", err)
	}
	return store.Nonprofit{
		ID:             id,
		Name:           in.Name,
		RegistrationID: in.RegistrationID,
		Country:        in.Country,
		CreatedAt:      created,
	}, nil
}

// VerifyNonprofit marks a nonprofit verified. Verifying it again keeps the
// first VerifiedAt.
func (s *Store) VerifyNonprofit(ctx context.Context, id string) (store.Nonprofit, error) {
	n, err := scanNonprofit(s.pool.QueryRow(ctx,
		`UPDATE nonprofits SET verified = true, verified_at = coalesce(verified_at, $1)
		 WHERE id = $2 RETURNING `+nonprofitColumns,
		now(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("nonprofit %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Nonprofit{}, wrap("verify nonprofit", err)
	}
	return n, nil
}

// SetPayoutAccount links the nonprofit to its payout account ("" unlinks).
func (s *Store) SetPayoutAccount(ctx context.Context, id, account string) (store.Nonprofit, error) {
	n, err := scanNonprofit(s.pool.QueryRow(ctx,
		`UPDATE nonprofits SET payout_account = $1 WHERE id = $2 RETURNING `+nonprofitColumns, account, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("nonprofit %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Nonprofit{}, wrap("set payout account", err)
	}
	return n, nil
}

// GetNonprofit returns the nonprofit with the given ID.
func (s *Store) GetNonprofit(ctx context.Context, id string) (store.Nonprofit, error) {
	n, err := scanNonprofit(s.pool.QueryRow(ctx, `SELECT `+nonprofitColumns+` FROM nonprofits WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
		q += ` WHERE verified`
	}
	q += ` ORDER BY name, id`
	rows, err := s.pool.Query(ctx, q)
	if err != nil {
		return nil, wrap("list nonprofits", err)
	}
	out, err := collect(rows, scanNonprofit)
	if err != nil {
		return nil, wrap("list nonprofits", err)
	}
	return out, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
