package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	err = s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO sessions (id, name, created_at, device_id) VALUES (?, ?, ?, ?)`, id, name, created, deviceID)
		return err
	})
	if err != nil {
		return store.Session{}, wrap("create session", err)
	}
	return store.Session{ID: id, Name: name, DeviceID: deviceID, CreatedAt: fromMillis(created)}, nil
}

// GetSession returns the session with the given ID.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var (
		out     store.Session
		created int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, name, device_id, created_at FROM sessions WHERE id = ?`, id).
		Scan(&out.ID, &out.Name, &out.DeviceID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, wrap("get session", err)
	}
	out.CreatedAt = fromMillis(created)
	return out, nil
}

// ChatterSince is when the session's browser first had a session.
func (s *Store) ChatterSince(ctx context.Context, userID string) (time.Time, error) {
	var first sql.NullInt64
	err := s.read.QueryRowContext(ctx, `
		SELECT min(created_at) FROM sessions WHERE id = ?1 OR (device_id <> '' AND device_id =
			(SELECT device_id FROM sessions WHERE id = ?1))`, userID).Scan(&first)
	if err == nil && !first.Valid {
		err = fmt.Errorf("session %s: %w", userID, store.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, wrap("read chatter age", err)
	}
	return fromMillis(first.Int64), nil
}
