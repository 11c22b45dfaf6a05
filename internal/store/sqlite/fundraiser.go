package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

const (
	fundraiserColumns = `id, broadcaster_id, nonprofit_id, title, goal_amount, currency, status,
		stream_key, created_at, started_at, ended_at, raised, refunded, donors, donation_count,
		milestones, slow_mode_seconds, chat_donors_only, chat_wait_seconds, thanks`

	// defaultListLimit is the page size of the listings when their limit is
	// 0 (or, for the Money listings, less).
	defaultListLimit = 100
)

func scanFundraiser(r rowScanner) (store.Fundraiser, error) {
	var (
		f              store.Fundraiser
		created        int64
		started, ended sql.NullInt64
		milestones     string
	)
	err := r.Scan(&f.ID, &f.BroadcasterID, &f.NonprofitID, &f.Title, &f.GoalAmount, &f.Currency,
		&f.Status, &f.StreamKey, &created, &started, &ended, &f.Raised, &f.Refunded, &f.Donors,
		&f.DonationCount, &milestones, &f.SlowModeSeconds, &f.ChatDonorsOnly, &f.ChatWaitSeconds, &f.Thanks)
	if err != nil {
		return store.Fundraiser{}, err
	}
	f.CreatedAt = fromMillis(created)
	f.StartedAt = fromNullMillis(started)
	f.EndedAt = fromNullMillis(ended)
	if f.Milestones, err = parseMilestones(milestones); err != nil {
		return store.Fundraiser{}, fmt.Errorf("fundraiser %s: %w", f.ID, err)
	}
	return f, nil
}

// CreateFundraiser stores a scheduled fundraiser. It fails with
// store.ErrNotFound for an unknown nonprofit or broadcaster,
// store.ErrNotVerified for an unverified nonprofit and store.ErrConflict for
// a stream key already in use. The checks and the insert share one
// transaction, so a nonprofit cannot change between them. Milestones nil
// means store.DefaultMilestones; each must be 1 to 1000 percent.
func (s *Store) CreateFundraiser(ctx context.Context, in store.NewFundraiser) (store.Fundraiser, error) {
	milestones, err := ledgerrules.NormalizeMilestones(in.Milestones)
	if err != nil {
		return store.Fundraiser{}, wrap("create fundraiser", err)
	}
	id, err := ledgerrules.NewID(ledgerrules.PrefixFundraiser)
	if err != nil {
		return store.Fundraiser{}, wrap("create fundraiser", err)
	}
	created := now()
	err = s.inTx(ctx, func(tx *wtx) error {
		var verified bool
		err := tx.queryRow(`SELECT verified FROM nonprofits WHERE id = ?`, in.NonprofitID).Scan(&verified)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("nonprofit %s: %w", in.NonprofitID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var one int
		err = tx.queryRow(`SELECT 1 FROM broadcasters WHERE id = ?`, in.BroadcasterID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("broadcaster %s: %w", in.BroadcasterID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !verified {
			return fmt.Errorf("nonprofit %s: %w", in.NonprofitID, store.ErrNotVerified)
		}
		_, err = tx.exec(
			`INSERT INTO fundraisers (id, broadcaster_id, nonprofit_id, title, goal_amount, currency,
			 status, stream_key, created_at, milestones) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, in.BroadcasterID, in.NonprofitID, in.Title, in.GoalAmount, in.Currency,
			store.StatusScheduled, in.StreamKey, created, formatMilestones(milestones))
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
		Milestones:    milestones,
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
// an unknown status, fails with store.ErrConflict. A move writes a
// "fundraiser" event. The read, the update and the event share one
// transaction, so concurrent callers cannot both make a move.
func (s *Store) SetFundraiserStatus(ctx context.Context, id, status string) (store.Fundraiser, error) {
	var out store.Fundraiser
	err := s.inTx(ctx, func(tx *wtx) error {
		cur, err := fundraiserTx(tx, id)
		if err != nil {
			return err
		}
		if cur.Status == status {
			out = cur
			return nil
		}
		column, ok := ledgerrules.StatusTransition(cur.Status, status)
		if !ok {
			return fmt.Errorf("fundraiser %s: cannot move from %q to %q: %w", id, cur.Status, status, store.ErrConflict)
		}
		// column is one of two constants, never caller input.
		row := tx.queryRow(
			`UPDATE fundraisers SET status = ?, `+column+` = ? WHERE id = ? RETURNING `+fundraiserColumns,
			status, now(), id)
		if out, err = scanFundraiser(row); err != nil {
			return err
		}
		return enqueueFundraiser(tx, out)
	})
	if err != nil {
		return store.Fundraiser{}, wrap("set fundraiser status", err)
	}
	return out, nil
}

// RotateStreamKey replaces a fundraiser's stream key.
func (s *Store) RotateStreamKey(ctx context.Context, id, newKey string) (store.Fundraiser, error) {
	var out store.Fundraiser
	err := s.inTx(ctx, func(tx *wtx) error {
		cur, err := fundraiserTx(tx, id)
		if err != nil {
			return err
		}
		if cur.Status == store.StatusEnded {
			return fmt.Errorf("fundraiser %s has ended: %w", id, store.ErrConflict)
		}
		row := tx.queryRow(`UPDATE fundraisers SET stream_key = ? WHERE id = ? RETURNING `+fundraiserColumns, newKey, id)
		out, err = scanFundraiser(row)
		if isUnique(err) {
			return fmt.Errorf("stream key already in use: %w", store.ErrConflict) // never the key itself
		}
		return err
	})
	if err != nil {
		return store.Fundraiser{}, wrap("rotate stream key", err)
	}
	return out, nil
}

// fundraiserTx reads a fundraiser inside a write transaction.
func fundraiserTx(tx *wtx, id string) (store.Fundraiser, error) {
	f, err := scanFundraiser(tx.queryRow(`SELECT `+fundraiserColumns+` FROM fundraisers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Fundraiser{}, fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	return f, err
}

// fundraiserTotalsTx reads, inside a write transaction, the fields of a
// fundraiser that a donation needs: ID, Status, GoalAmount, Currency,
// Raised, Donors, DonationCount and Milestones. The rest stay zero.
func fundraiserTotalsTx(tx *wtx, id string) (store.Fundraiser, error) {
	f := store.Fundraiser{ID: id}
	var milestones string
	err := tx.queryRow(
		`SELECT status, goal_amount, currency, raised, donors, donation_count, milestones
		 FROM fundraisers WHERE id = ?`, id).
		Scan(&f.Status, &f.GoalAmount, &f.Currency, &f.Raised, &f.Donors, &f.DonationCount, &milestones)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Fundraiser{}, fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Fundraiser{}, err
	}
	if f.Milestones, err = parseMilestones(milestones); err != nil {
		return store.Fundraiser{}, fmt.Errorf("fundraiser %s: %w", id, err)
	}
	return f, nil
}

// enqueueFundraiser writes the "fundraiser" event announcing f's status and
// goal.
func enqueueFundraiser(tx *wtx, f store.Fundraiser) error {
	return enqueue(tx, f.ID, wire.TypeFundraiser, ledgerrules.FundraiserData(f))
}

// RaiseGoal sets a higher goal and writes a "fundraiser" event. The same
// goal is a no-op (no event), even once the fundraiser has ended; a lower
// goal is store.ErrConflict and an ended fundraiser store.ErrEnded. The
// milestones the total has already passed under the new goal are marked
// reached without an event: they are not news.
func (s *Store) RaiseGoal(ctx context.Context, fundraiserID string, amount int64) (store.Fundraiser, error) {
	var out store.Fundraiser
	err := s.inTx(ctx, func(tx *wtx) error {
		cur, err := fundraiserTx(tx, fundraiserID)
		if err != nil {
			return err
		}
		switch {
		case amount == cur.GoalAmount:
			out = cur
			return nil
		case cur.Status == store.StatusEnded:
			return fmt.Errorf("fundraiser %s: %w", fundraiserID, store.ErrEnded)
		case amount < cur.GoalAmount:
			return fmt.Errorf("fundraiser %s: goal %d is below the current %d: %w",
				fundraiserID, amount, cur.GoalAmount, store.ErrConflict)
		}
		row := tx.queryRow(`UPDATE fundraisers SET goal_amount = ? WHERE id = ? RETURNING `+fundraiserColumns,
			amount, fundraiserID)
		if out, err = scanFundraiser(row); err != nil {
			return err
		}
		if err := reachMilestones(tx, out, 0, out.Raised, false); err != nil {
			return err
		}
		return enqueueFundraiser(tx, out)
	})
	if err != nil {
		return store.Fundraiser{}, wrap("raise goal", err)
	}
	return out, nil
}
