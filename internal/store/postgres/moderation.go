package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// maxBans bounds ListBans.
const maxBans = 500

// BanUser bans a viewer, and the browser their session was made in, from a
// fundraiser's chat until until (zero: for good), and writes a
// "user.banned" event. Banning again with the same end is a no-op
// (changed false, no event); another end replaces the first. Ended
// fundraisers accept bans too. An empty userID is an error.
func (s *Store) BanUser(ctx context.Context, fundraiserID, userID string, until time.Time) (bool, error) {
	if userID == "" {
		return false, errors.New("failed to ban user: empty user id")
	}
	var expires *time.Time
	var untilMs int64
	if !until.IsZero() {
		e := time.UnixMilli(max(until.UnixMilli(), 1)).UTC()
		expires, untilMs = &e, e.UnixMilli()
	}
	var changed bool
	err := s.inTx(ctx, func(tx *wtx) error {
		changed = false
		if err := fundraiserExistsTx(tx, fundraiserID); err != nil {
			return err
		}
		tag, err := tx.exec(`
			INSERT INTO bans (fundraiser_id, user_id, created_at, device_id, name, expires_at)
			SELECT $1, $2, $3, coalesce(max(device_id), ''), coalesce(max(name), ''), $4
			FROM (SELECT device_id, name FROM sessions WHERE id = $2) AS s
			ON CONFLICT (fundraiser_id, user_id) DO UPDATE
				SET expires_at = excluded.expires_at, created_at = excluded.created_at
				WHERE bans.expires_at IS DISTINCT FROM excluded.expires_at`,
			fundraiserID, userID, now(), expires)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		changed = true
		return tx.enqueue(fundraiserID, wire.TypeUserBanned, wire.UserBannedData{UserID: userID, Until: untilMs})
	})
	if err != nil {
		return false, wrap("ban user", err)
	}
	return changed, nil
}

// UnbanUser lifts the bans that stop userID from chatting: its own and any
// on its browser, each announced with a "user.unbanned" event, and one for
// userID. Lifting nothing is a no-op (changed false).
func (s *Store) UnbanUser(ctx context.Context, fundraiserID, userID string) (bool, error) {
	var changed bool
	err := s.inTx(ctx, func(tx *wtx) error {
		changed = false
		rows, err := tx.query(`
			DELETE FROM bans WHERE fundraiser_id = $1 AND (user_id = $2 OR (device_id <> '' AND device_id =
				(SELECT device_id FROM sessions WHERE id = $2)))
			RETURNING user_id`, fundraiserID, userID)
		if err != nil {
			return err
		}
		freed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(freed) == 0 {
			return fundraiserExistsTx(tx, fundraiserID)
		}
		changed = true
		self := false
		for _, u := range freed {
			self = self || u == userID
			if err := tx.enqueue(fundraiserID, wire.TypeUserUnbanned, wire.UserUnbannedData{UserID: u}); err != nil {
				return err
			}
		}
		if self {
			return nil
		}
		return tx.enqueue(fundraiserID, wire.TypeUserUnbanned, wire.UserUnbannedData{UserID: userID})
	})
	if err != nil {
		return false, wrap("unban user", err)
	}
	return changed, nil
}

// IsBanned reports whether a ban or a running timeout stops the viewer, or
// their browser, from chatting in the fundraiser. An unknown fundraiser is
// store.ErrNotFound.
func (s *Store) IsBanned(ctx context.Context, fundraiserID, userID string) (bool, error) {
	var banned bool
	err := s.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM bans WHERE fundraiser_id = $1 AND (expires_at IS NULL OR expires_at > $3)
			AND (user_id = $2 OR (device_id <> '' AND device_id = (SELECT device_id FROM sessions WHERE id = $2))))`,
		fundraiserID, userID, now()).Scan(&banned)
	if err == nil && !banned {
		err = s.fundraiserExists(ctx, fundraiserID)
	}
	if err != nil {
		return false, wrap("check ban", err)
	}
	return banned, nil
}

// ListBans returns the fundraiser's bans and running timeouts, newest
// first.
func (s *Store) ListBans(ctx context.Context, fundraiserID string) ([]store.Ban, error) {
	if err := s.fundraiserExists(ctx, fundraiserID); err != nil {
		return nil, wrap("list bans", err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT user_id, name, created_at, expires_at FROM bans
		WHERE fundraiser_id = $1 AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY created_at DESC, user_id LIMIT $3`, fundraiserID, now(), maxBans)
	if err != nil {
		return nil, wrap("list bans", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Ban, error) {
		var (
			b       store.Ban
			expires *time.Time
		)
		err := r.Scan(&b.UserID, &b.Name, &b.CreatedAt, &expires)
		b.CreatedAt = b.CreatedAt.UTC()
		b.ExpiresAt = fromDB(expires)
		return b, err
	})
	if err != nil {
		return nil, wrap("list bans", err)
	}
	if out == nil {
		out = []store.Ban{}
	}
	return out, nil
}

// SetSlowMode sets the seconds a viewer must wait between chat messages in
// the fundraiser; 0 turns slow mode off and a negative value is an error.
// Nothing is announced here.
func (s *Store) SetSlowMode(ctx context.Context, fundraiserID string, seconds int) (store.Fundraiser, error) {
	if seconds < 0 {
		return store.Fundraiser{}, fmt.Errorf("failed to set slow mode: %d seconds is negative", seconds)
	}
	out, err := s.updateFundraiser(ctx, fundraiserID, `slow_mode_seconds = $1`, seconds)
	if err != nil {
		return store.Fundraiser{}, wrap("set slow mode", err)
	}
	return out, nil
}

// SetChatModes sets the fundraiser's chat modes; a negative wait is an
// error. Nothing is announced here.
func (s *Store) SetChatModes(ctx context.Context, fundraiserID string, m store.ChatModes) (store.Fundraiser, error) {
	if m.WaitSeconds < 0 {
		return store.Fundraiser{}, fmt.Errorf("failed to set chat modes: a wait of %d seconds is negative", m.WaitSeconds)
	}
	out, err := s.updateFundraiser(ctx, fundraiserID, `chat_donors_only = $1, chat_wait_seconds = $2`, m.DonorsOnly, m.WaitSeconds)
	if err != nil {
		return store.Fundraiser{}, wrap("set chat modes", err)
	}
	return out, nil
}

// SetThanks sets the broadcaster's closing message.
func (s *Store) SetThanks(ctx context.Context, fundraiserID, text string) (store.Fundraiser, error) {
	out, err := s.updateFundraiser(ctx, fundraiserID, `thanks = $1`, text)
	if err != nil {
		return store.Fundraiser{}, wrap("set thanks", err)
	}
	return out, nil
}

// updateFundraiser sets columns of one fundraiser (set is an SQL SET list
// whose placeholders $1… take args; the id goes after them) and returns it.
func (s *Store) updateFundraiser(ctx context.Context, id, set string, args ...any) (store.Fundraiser, error) {
	out, err := scanFundraiser(s.pool.QueryRow(ctx,
		fmt.Sprintf(`UPDATE fundraisers SET %s WHERE id = $%d RETURNING `+fundraiserColumns, set, len(args)+1),
		append(args, id)...))
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	return out, err
}
