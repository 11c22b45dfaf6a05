package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	_, err = s.pool.Exec(ctx, `INSERT INTO sessions (id, name, created_at) VALUES ($1, $2, $3)`, id, name, created)
	if err != nil {
		return store.Session{}, wrap("create session", err)
	}
	return store.Session{ID: id, Name: name, CreatedAt: created}, nil
}

// GetSession returns the session with the given ID.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var out store.Session
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at FROM sessions WHERE id = $1`, id).
		Scan(&out.ID, &out.Name, &out.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, wrap("get session", err)
	}
	out.CreatedAt = out.CreatedAt.UTC()
	return out, nil
}
