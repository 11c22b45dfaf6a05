package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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

func scanFundraiser(r pgx.Row) (store.Fundraiser, error) {
	var (
		f              store.Fundraiser
		started, ended *time.Time
		milestones     []int32
	)
	err := r.Scan(&f.ID, &f.BroadcasterID, &f.NonprofitID, &f.Title, &f.GoalAmount, &f.Currency,
		&f.Status, &f.StreamKey, &f.CreatedAt, &started, &ended, &f.Raised, &f.Refunded, &f.Donors,
		&f.DonationCount, &milestones, &f.SlowModeSeconds, &f.ChatDonorsOnly, &f.ChatWaitSeconds, &f.Thanks)
	if err != nil {
		return store.Fundraiser{}, err
	}
	f.CreatedAt = f.CreatedAt.UTC()
	f.StartedAt = fromDB(started)
	f.EndedAt = fromDB(ended)
	f.Milestones = fromMilestones(milestones)
	return f, nil
}

// CreateFundraiser stores a scheduled fundraiser. It fails with
// store.ErrNotFound for an unknown nonprofit or broadcaster,
// store.ErrNotVerified for an unverified nonprofit and store.ErrConflict for
// a stream key already in use. The nonprofit is read FOR SHARE, so it
// cannot change between the check and the insert. Milestones nil means
// store.DefaultMilestones; each must be 1 to 1000 percent.
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
		err := tx.queryRow(`SELECT verified FROM nonprofits WHERE id = $1 FOR SHARE`, in.NonprofitID).Scan(&verified)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("nonprofit %s: %w", in.NonprofitID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var one int
		err = tx.queryRow(`SELECT 1 FROM broadcasters WHERE id = $1`, in.BroadcasterID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
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
			 status, stream_key, created_at, milestones) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			id, in.BroadcasterID, in.NonprofitID, in.Title, in.GoalAmount, in.Currency,
			store.StatusScheduled, in.StreamKey, created, toMilestones(milestones))
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
		CreatedAt:     created,
		Milestones:    milestones,
	}, nil
}

// GetFundraiser returns the fundraiser with the given ID.
func (s *Store) GetFundraiser(ctx context.Context, id string) (store.Fundraiser, error) {
	f, err := scanFundraiser(s.pool.QueryRow(ctx, `SELECT `+fundraiserColumns+` FROM fundraisers WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Fundraiser{}, wrap("get fundraiser", err)
	}
	return f, nil
}

// FundraiserByStreamKey returns the fundraiser that owns the stream key.
func (s *Store) FundraiserByStreamKey(ctx context.Context, key string) (store.Fundraiser, error) {
	f, err := scanFundraiser(s.pool.QueryRow(ctx,
		`SELECT `+fundraiserColumns+` FROM fundraisers WHERE stream_key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
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
		args = append(args, f.Status)
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	if f.BroadcasterID != "" {
		args = append(args, f.BroadcasterID)
		where = append(where, "broadcaster_id = $"+strconv.Itoa(len(args)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	q := `SELECT ` + fundraiserColumns + ` FROM fundraisers`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += ` ORDER BY created_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list fundraisers", err)
	}
	out, err := collect(rows, scanFundraiser)
	if err != nil {
		return nil, wrap("list fundraisers", err)
	}
	return out, nil
}

// SetFundraiserStatus moves a fundraiser forward: scheduled to live (setting
// StartedAt), scheduled or live to ended (setting EndedAt). Setting the
// current status returns the record unchanged; any other move, including to
// an unknown status, fails with store.ErrConflict. A move writes a
// "fundraiser" event. The row is locked before it is read, so concurrent
// callers cannot both make a move.
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
		out, err = scanFundraiser(tx.queryRow(
			`UPDATE fundraisers SET status = $1, `+column+` = $2 WHERE id = $3 RETURNING `+fundraiserColumns,
			status, now(), id))
		if err != nil {
			return err
		}
		return enqueueFundraiser(tx, out)
	})
	if err != nil {
		return store.Fundraiser{}, wrap("set fundraiser status", err)
	}
	return out, nil
}

// RotateStreamKey replaces a fundraiser's stream key. ErrConflict for an
// ended fundraiser or a key already in use.
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
		out, err = scanFundraiser(tx.queryRow(
			`UPDATE fundraisers SET stream_key = $1 WHERE id = $2 RETURNING `+fundraiserColumns, newKey, id))
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

// fundraiserTx locks a fundraiser's row (FOR NO KEY UPDATE: foreign-key
// checks of other transactions may still read it) and reads it.
func fundraiserTx(tx *wtx, id string) (store.Fundraiser, error) {
	f, err := scanFundraiser(tx.queryRow(
		`SELECT `+fundraiserColumns+` FROM fundraisers WHERE id = $1 FOR NO KEY UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Fundraiser{}, fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	return f, err
}

// enqueueFundraiser enqueues the "fundraiser" event announcing f's status
// and goal.
func enqueueFundraiser(tx *wtx, f store.Fundraiser) error {
	return tx.enqueue(f.ID, wire.TypeFundraiser, ledgerrules.FundraiserData(f))
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
		out, err = scanFundraiser(tx.queryRow(
			`UPDATE fundraisers SET goal_amount = $1 WHERE id = $2 RETURNING `+fundraiserColumns,
			amount, fundraiserID))
		if err != nil {
			return err
		}
		var reached []int64
		err = tx.queryRow(`SELECT ARRAY(SELECT amount FROM milestones_reached WHERE fundraiser_id = $1)`,
			fundraiserID).Scan(&reached)
		if err != nil {
			return err
		}
		known := make(map[int64]bool, len(reached))
		for _, a := range reached {
			known[a] = true
		}
		if err := reachMilestones(tx, out, known, 0, out.Raised, false); err != nil {
			return err
		}
		return enqueueFundraiser(tx, out)
	})
	if err != nil {
		return store.Fundraiser{}, wrap("raise goal", err)
	}
	return out, nil
}
