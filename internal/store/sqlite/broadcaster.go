package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

const broadcasterColumns = `id, name, created_at`

func scanBroadcaster(r rowScanner) (store.Broadcaster, error) {
	var (
		b       store.Broadcaster
		created int64
	)
	if err := r.Scan(&b.ID, &b.Name, &created); err != nil {
		return store.Broadcaster{}, err
	}
	b.CreatedAt = fromMillis(created)
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
	err = s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.exec(
			`INSERT INTO broadcasters (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`,
			id, name, tokenHash, created)
		return err
	})
	if isUnique(err) {
		err = fmt.Errorf("broadcaster token hash already in use: %w", store.ErrConflict)
	}
	if err != nil {
		return store.Broadcaster{}, wrap("create broadcaster", err)
	}
	return store.Broadcaster{ID: id, Name: name, CreatedAt: fromMillis(created)}, nil
}

// GetBroadcaster returns the broadcaster with the given ID.
func (s *Store) GetBroadcaster(ctx context.Context, id string) (store.Broadcaster, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+broadcasterColumns+` FROM broadcasters WHERE id = ?`, id)
	b, err := scanBroadcaster(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("broadcaster %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Broadcaster{}, wrap("get broadcaster", err)
	}
	return b, nil
}

// BroadcasterByTokenHash returns the broadcaster whose token hashes to
// tokenHash. The hash, not the token, is the lookup key, so the index lookup
// leaks nothing useful about the token through timing.
func (s *Store) BroadcasterByTokenHash(ctx context.Context, tokenHash []byte) (store.Broadcaster, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+broadcasterColumns+` FROM broadcasters WHERE token_hash = ?`, tokenHash)
	b, err := scanBroadcaster(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("broadcaster by token hash: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Broadcaster{}, wrap("find broadcaster by token hash", err)
	}
	return b, nil
}
