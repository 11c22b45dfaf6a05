package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

// CreateSession stores a new viewer session.
func (s *Store) CreateSession(ctx context.Context, name string) (store.Session, error) {
	id, err := ledgerrules.NewID(ledgerrules.PrefixSession)
	if err != nil {
		return store.Session{}, wrap("create session", err)
	}
	created := now()
	err = s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO sessions (id, name, created_at) VALUES (?, ?, ?)`, id, name, created)
		return err
	})
	if err != nil {
		return store.Session{}, wrap("create session", err)
	}
	return store.Session{ID: id, Name: name, CreatedAt: fromMillis(created)}, nil
}

// GetSession returns the session with the given ID.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var (
		out     store.Session
		created int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, name, created_at FROM sessions WHERE id = ?`, id).
		Scan(&out.ID, &out.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, wrap("get session", err)
	}
	out.CreatedAt = fromMillis(created)
	return out, nil
}
