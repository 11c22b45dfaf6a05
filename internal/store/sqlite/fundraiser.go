package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/givelive/givelive/internal/store"
)

const (
	fundraiserColumns = `id, broadcaster_id, nonprofit_id, title, goal_amount, currency, status,
		stream_key, created_at, started_at, ended_at`

	// defaultListLimit is the page size when FundraiserFilter.Limit is 0.
	defaultListLimit = 100
)

func scanFundraiser(r rowScanner) (store.Fundraiser, error) {
	var (
		f              store.Fundraiser
		created        int64
		started, ended sql.NullInt64
	)
	err := r.Scan(&f.ID, &f.BroadcasterID, &f.NonprofitID, &f.Title, &f.GoalAmount, &f.Currency,
		&f.Status, &f.StreamKey, &created, &started, &ended)
	if err != nil {
		return store.Fundraiser{}, err
	}
	f.CreatedAt = fromMillis(created)
	f.StartedAt = fromNullMillis(started)
	f.EndedAt = fromNullMillis(ended)
	return f, nil
}

// CreateFundraiser stores a scheduled fundraiser. It fails with
// store.ErrNotFound for an unknown nonprofit or broadcaster,
// store.ErrNotVerified for an unverified nonprofit and store.ErrConflict for
// a stream key already in use. The checks and the insert share one
// transaction, so a nonprofit cannot change between them.
func (s *Store) CreateFundraiser(ctx context.Context, in store.NewFundraiser) (store.Fundraiser, error) {
	id, err := newID(prefixFundraiser)
	if err != nil {
		return store.Fundraiser{}, wrap("create fundraiser", err)
	}
	created := now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var verified bool
		err := tx.QueryRowContext(ctx, `SELECT verified FROM nonprofits WHERE id = ?`, in.NonprofitID).Scan(&verified)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("nonprofit %s: %w", in.NonprofitID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM broadcasters WHERE id = ?`, in.BroadcasterID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("broadcaster %s: %w", in.BroadcasterID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !verified {
			return fmt.Errorf("nonprofit %s: %w", in.NonprofitID, store.ErrNotVerified)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO fundraisers (id, broadcaster_id, nonprofit_id, title, goal_amount, currency,
			 status, stream_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, in.BroadcasterID, in.NonprofitID, in.Title, in.GoalAmount, in.Currency,
			store.StatusScheduled, in.StreamKey, created)
		if isUnique(err) {
			// Never put the key itself in an error: it is a secret.
			return fmt.Errorf("stream key already in use: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return store.Fundraiser{}, wrap("create fundraiser", err)
	}
	return store.Fundraiser{
		ID:            id,
		BroadcasterID: in.BroadcasterID,
		NonprofitID:   in.NonprofitID,
		Title:         in.Title,
		GoalAmount:    in.GoalAmount,
		Currency:      in.Currency,
		Status:        store.StatusScheduled,
		StreamKey:     in.StreamKey,
		CreatedAt:     fromMillis(created),
	}, nil
}

// GetFundraiser returns the fundraiser with the given ID.
func (s *Store) GetFundraiser(ctx context.Context, id string) (store.Fundraiser, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+fundraiserColumns+` FROM fundraisers WHERE id = ?`, id)
	f, err := scanFundraiser(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Fundraiser{}, wrap("get fundraiser", err)
	}
	return f, nil
}

// FundraiserByStreamKey returns the fundraiser that owns the stream key.
func (s *Store) FundraiserByStreamKey(ctx context.Context, key string) (store.Fundraiser, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+fundraiserColumns+` FROM fundraisers WHERE stream_key = ?`, key)
	f, err := scanFundraiser(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("fundraiser by stream key: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Fundraiser{}, wrap("find fundraiser by stream key", err)
	}
	return f, nil
}

// ListFundraisers returns fundraisers matching f, newest first; fundraisers
// created in the same millisecond come in descending ID order, which is
// creation order too, since IDs are UUIDv7.
func (s *Store) ListFundraisers(ctx context.Context, f store.FundraiserFilter) ([]store.Fundraiser, error) {
	var (
		where []string
		args  []any
	)
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.BroadcasterID != "" {
		where = append(where, "broadcaster_id = ?")
		args = append(args, f.BroadcasterID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	q := `SELECT ` + fundraiserColumns + ` FROM fundraisers`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)

	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list fundraisers", err)
	}
	defer rows.Close()
	var out []store.Fundraiser
	for rows.Next() {
		fr, err := scanFundraiser(rows)
		if err != nil {
			return nil, wrap("list fundraisers", err)
		}
		out = append(out, fr)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list fundraisers", err)
	}
	return out, nil
}

// SetFundraiserStatus moves a fundraiser forward: scheduled to live (setting
// StartedAt), scheduled or live to ended (setting EndedAt). Setting the
// current status returns the record unchanged; any other move, including to
// an unknown status, fails with store.ErrConflict. The read and the update
// share one transaction, so concurrent callers cannot both make a move.
func (s *Store) SetFundraiserStatus(ctx context.Context, id, status string) (store.Fundraiser, error) {
	var out store.Fundraiser
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `SELECT `+fundraiserColumns+` FROM fundraisers WHERE id = ?`, id)
		cur, err := scanFundraiser(row)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur.Status == status {
			out = cur
			return nil
		}
		column, ok := transition(cur.Status, status)
		if !ok {
			return fmt.Errorf("fundraiser %s: cannot move from %q to %q: %w", id, cur.Status, status, store.ErrConflict)
		}
		// column is one of two constants, never caller input.
		row = tx.QueryRowContext(ctx,
			`UPDATE fundraisers SET status = ?, `+column+` = ? WHERE id = ? RETURNING `+fundraiserColumns,
			status, now(), id)
		out, err = scanFundraiser(row)
		return err
	})
	if err != nil {
		return store.Fundraiser{}, wrap("set fundraiser status", err)
	}
	return out, nil
}

// transition reports whether a fundraiser may move from one status to
// another, and which time column records the move.
func transition(from, to string) (column string, ok bool) {
	switch {
	case from == store.StatusScheduled && to == store.StatusLive:
		return "started_at", true
	case (from == store.StatusScheduled || from == store.StatusLive) && to == store.StatusEnded:
		return "ended_at", true
	}
	return "", false
}
