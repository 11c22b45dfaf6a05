package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/givelive/givelive/internal/store/ledgerrules"
)

// Secret returns the named secret, creating it with gen on first use.
//
// gen runs outside any transaction (it may be slow, and it must not hold the
// write lock). Concurrent first callers, in this process or another, may
// each call gen, but only the first value inserted is kept and every caller
// gets that value back.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.read.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to read secret %s: %w", name, err)
	}

	fresh, err := ledgerrules.GenerateSecret(name, gen)
	if err != nil {
		return nil, err
	}
	var created bool
	err = s.inTx(ctx, func(tx *wtx) error {
		res, err := tx.exec(
			`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, fresh, now())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		created = n == 1
		return tx.queryRow(`SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to store secret %s: %w", name, err)
	}
	if created {
		s.log.InfoContext(ctx, "created ledger secret", "name", name)
	}
	return v, nil
}
