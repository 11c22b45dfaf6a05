package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/givelive/givelive/internal/store/ledgerrules"

	"github.com/jackc/pgx/v5"
)

// Secret returns the named secret, creating it with gen on first use.
//
// gen runs outside any transaction (it may be slow). Concurrent first
// callers, in this process or another, may each call gen; the first
// insert wins, the others' inserts wait for it to commit (the primary key)
// and then do nothing, and every caller reads back the one stored value.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("failed to read secret %s: %w", name, err)
	}

	fresh, err := ledgerrules.GenerateSecret(name, gen)
	if err != nil {
		return nil, err
	}
	var created bool
	err = s.inTx(ctx, func(tx *wtx) error {
		tag, err := tx.exec(
			`INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			name, fresh, now())
		if err != nil {
			return err
		}
		created = tag.RowsAffected() == 1
		return tx.queryRow(`SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to store secret %s: %w", name, err)
	}
	if created {
		s.log.InfoContext(ctx, "created ledger secret", "name", name)
	}
	return v, nil
}
