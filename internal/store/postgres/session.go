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

// CreateSession stores a new viewer session made in the browser deviceID
// ("" when unknown).
func (s *Store) CreateSession(ctx context.Context, name, deviceID string) (store.Session, error) {
	id, err := ledgerrules.NewID(ledgerrules.PrefixSession)
	if err != nil {
		return store.Session{}, wrap("create session", err)
	}
	created := now()
	_, err = s.pool.Exec(ctx, `INSERT INTO sessions (id, name, created_at, device_id) VALUES ($1, $2, $3, $4)`, id, name, created, deviceID)
	if err != nil {
		return store.Session{}, wrap("create session", err)
	}
	return store.Session{ID: id, Name: name, DeviceID: deviceID, CreatedAt: created}, nil
}

// GetSession returns the session with the given ID.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var out store.Session
	err := s.pool.QueryRow(ctx, `SELECT id, name, device_id, created_at FROM sessions WHERE id = $1`, id).
		Scan(&out.ID, &out.Name, &out.DeviceID, &out.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, wrap("get session", err)
	}
	out.CreatedAt = out.CreatedAt.UTC()
	return out, nil
}

// ChatterSince is when the session's browser first had a session.
func (s *Store) ChatterSince(ctx context.Context, userID string) (time.Time, error) {
	var first *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT min(created_at) FROM sessions WHERE id = $1 OR (device_id <> '' AND device_id =
			(SELECT device_id FROM sessions WHERE id = $1))`, userID).Scan(&first)
	if err == nil && first == nil {
		err = fmt.Errorf("session %s: %w", userID, store.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, wrap("read chatter age", err)
	}
	return first.UTC(), nil
}
