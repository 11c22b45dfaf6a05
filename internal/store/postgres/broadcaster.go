package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

const broadcasterColumns = `id, name, created_at`

func scanBroadcaster(r pgx.Row) (store.Broadcaster, error) {
	var b store.Broadcaster
	if err := r.Scan(&b.ID, &b.Name, &b.CreatedAt); err != nil {
		return store.Broadcaster{}, err
	}
	b.CreatedAt = b.CreatedAt.UTC()
	return b, nil
}

// CreateBroadcaster stores a broadcaster with the SHA-256 hash of its API
// token. A tokenHash already in use fails with store.ErrConflict.
func (s *Store) CreateBroadcaster(ctx context.Context, name string, tokenHash []byte) (store.Broadcaster, error) {
	if len(tokenHash) == 0 {
		return store.Broadcaster{}, errors.New("failed to create broadcaster: empty token hash")
	}
	id, err := ledgerrules.NewID(ledgerrules.PrefixBroadcaster)
	if err != nil {
		return store.Broadcaster{}, wrap("create broadcaster", err)
	}
	created := now()
	_, err = s.pool.Exec(ctx,
		`INSERT INTO broadcasters (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)`,
		id, name, tokenHash, created)
	if isUnique(err) {
		err = fmt.Errorf("broadcaster token hash already in use: %w", store.ErrConflict)
	}
	if err != nil {
		return store.Broadcaster{}, wrap("create broadcaster", err)
	}
	return store.Broadcaster{ID: id, Name: name, CreatedAt: created}, nil
}

// GetBroadcaster returns the broadcaster with the given ID.
func (s *Store) GetBroadcaster(ctx context.Context, id string) (store.Broadcaster, error) {
	b, err := scanBroadcaster(s.pool.QueryRow(ctx, `SELECT `+broadcasterColumns+` FROM broadcasters WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("broadcaster %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Broadcaster{}, wrap("get broadcaster", err)
	}
	return b, nil
}

// BroadcasterByTokenHash returns the broadcaster whose token hashes to
// tokenHash.
func (s *Store) BroadcasterByTokenHash(ctx context.Context, tokenHash []byte) (store.Broadcaster, error) {
	b, err := scanBroadcaster(s.pool.QueryRow(ctx,
		`SELECT `+broadcasterColumns+` FROM broadcasters WHERE token_hash = $1`, tokenHash))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("broadcaster by token hash: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Broadcaster{}, wrap("find broadcaster by token hash", err)
	}
	return b, nil
}
