package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// BanUser bans a viewer from a fundraiser's chat and writes a "user.banned"
// event; banning twice is a no-op (changed false, no event). Ended
// fundraisers accept bans too. An empty userID is an error.
func (s *Store) BanUser(ctx context.Context, fundraiserID, userID string) (bool, error) {
	if userID == "" {
		return false, errors.New("failed to ban user: empty user id")
	}
	var changed bool
	err := s.inTx(ctx, func(tx *wtx) error {
		changed = false
		if err := fundraiserExistsTx(tx, fundraiserID); err != nil {
			return err
		}
		tag, err := tx.exec(
			`INSERT INTO bans (fundraiser_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			fundraiserID, userID, now())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		changed = true
		return tx.enqueue(fundraiserID, wire.TypeUserBanned, wire.UserBannedData{UserID: userID})
	})
	if err != nil {
		return false, wrap("ban user", err)
	}
	return changed, nil
}

// UnbanUser lifts a ban; lifting a missing one is a no-op (changed false).
// No event: nothing on the wire announces it.
func (s *Store) UnbanUser(ctx context.Context, fundraiserID, userID string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM bans WHERE fundraiser_id = $1 AND user_id = $2`, fundraiserID, userID)
	if err == nil && tag.RowsAffected() == 0 {
		err = s.fundraiserExists(ctx, fundraiserID)
	}
	if err != nil {
		return false, wrap("unban user", err)
	}
	return tag.RowsAffected() == 1, nil
}

// IsBanned reports whether the viewer is banned from the fundraiser's chat.
// An unknown fundraiser is store.ErrNotFound.
func (s *Store) IsBanned(ctx context.Context, fundraiserID, userID string) (bool, error) {
	var banned bool
	err := s.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM bans WHERE fundraiser_id = $1 AND user_id = $2)`,
		fundraiserID, userID).Scan(&banned)
	if err == nil && !banned {
		err = s.fundraiserExists(ctx, fundraiserID)
	}
	if err != nil {
		return false, wrap("check ban", err)
	}
	return banned, nil
}

// SetSlowMode sets the seconds a viewer must wait between chat messages in
// the fundraiser; 0 turns slow mode off and a negative value is an error.
// Nothing is announced: the hub reads the setting when it needs it.
func (s *Store) SetSlowMode(ctx context.Context, fundraiserID string, seconds int) (store.Fundraiser, error) {
	if seconds < 0 {
		return store.Fundraiser{}, fmt.Errorf("failed to set slow mode: %d seconds is negative", seconds)
	}
	out, err := scanFundraiser(s.pool.QueryRow(ctx,
		`UPDATE fundraisers SET slow_mode_seconds = $1 WHERE id = $2 RETURNING `+fundraiserColumns,
		seconds, fundraiserID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("fundraiser %s: %w", fundraiserID, store.ErrNotFound)
	}
	if err != nil {
		return store.Fundraiser{}, wrap("set slow mode", err)
	}
	return out, nil
}
