package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	var expires int64
	if !until.IsZero() {
		expires = max(until.UnixMilli(), 1)
	}
	var changed bool
	err := s.inTx(ctx, func(tx *wtx) error {
		changed = false
		if err := fundraiserExistsTx(tx, fundraiserID); err != nil {
			return err
		}
		// The session's browser and name, when userID is a viewer's.
		res, err := tx.exec(`
			INSERT INTO bans (fundraiser_id, user_id, created_at, device_id, name, expires_at)
			SELECT ?, ?, ?, coalesce(max(device_id), ''), coalesce(max(name), ''), ?
			FROM (SELECT device_id, name FROM sessions WHERE id = ?)
			WHERE true
			ON CONFLICT (fundraiser_id, user_id) DO UPDATE
				SET expires_at = excluded.expires_at, created_at = excluded.created_at
				WHERE bans.expires_at <> excluded.expires_at`,
			fundraiserID, userID, now(), expires, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		changed = true
		return enqueue(tx, fundraiserID, wire.TypeUserBanned, wire.UserBannedData{UserID: userID, Until: expires})
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
		rows, err := tx.tx.QueryContext(tx.ctx, `
			DELETE FROM bans WHERE fundraiser_id = ? AND (user_id = ? OR (device_id <> '' AND device_id =
				(SELECT device_id FROM sessions WHERE id = ?)))
			RETURNING user_id`, fundraiserID, userID, userID)
		if err != nil {
			return err
		}
		var freed []string
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			freed = append(freed, u)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(freed) == 0 {
			return fundraiserExistsTx(tx, fundraiserID)
		}
		changed = true
		return enqueueUnbans(tx, fundraiserID, userID, freed)
	})
	if err != nil {
		return false, wrap("unban user", err)
	}
	return changed, nil
}

func enqueueUnbans(tx *wtx, fundraiserID, userID string, freed []string) error {
	self := false
	for _, u := range freed {
		self = self || u == userID
		if err := enqueue(tx, fundraiserID, wire.TypeUserUnbanned, wire.UserUnbannedData{UserID: u}); err != nil {
			return err
		}
	}
	if self {
		return nil
	}
	return enqueue(tx, fundraiserID, wire.TypeUserUnbanned, wire.UserUnbannedData{UserID: userID})
}

// IsBanned reports whether a ban or a running timeout stops the viewer, or
// their browser, from chatting in the fundraiser. An unknown fundraiser is
// store.ErrNotFound.
func (s *Store) IsBanned(ctx context.Context, fundraiserID, userID string) (bool, error) {
	var banned bool
	err := s.read.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM bans WHERE fundraiser_id = ? AND (expires_at = 0 OR expires_at > ?)
			AND (user_id = ? OR (device_id <> '' AND device_id = (SELECT device_id FROM sessions WHERE id = ?))))`,
		fundraiserID, now(), userID, userID).Scan(&banned)
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
	rows, err := s.read.QueryContext(ctx, `
		SELECT user_id, name, created_at, expires_at FROM bans
		WHERE fundraiser_id = ? AND (expires_at = 0 OR expires_at > ?)
		ORDER BY created_at DESC, user_id LIMIT ?`, fundraiserID, now(), maxBans)
	if err != nil {
		return nil, wrap("list bans", err)
	}
	defer rows.Close()
	out := []store.Ban{}
	for rows.Next() {
		var (
			b                store.Ban
			created, expires int64
		)
		if err := rows.Scan(&b.UserID, &b.Name, &created, &expires); err != nil {
			return nil, wrap("list bans", err)
		}
		b.CreatedAt = fromMillis(created)
		if expires != 0 {
			b.ExpiresAt = fromMillis(expires)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list bans", err)
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
	out, err := s.updateFundraiser(ctx, fundraiserID, `slow_mode_seconds = ?`, seconds)
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
	out, err := s.updateFundraiser(ctx, fundraiserID, `chat_donors_only = ?, chat_wait_seconds = ?`, m.DonorsOnly, m.WaitSeconds)
	if err != nil {
		return store.Fundraiser{}, wrap("set chat modes", err)
	}
	return out, nil
}

// SetThanks sets the broadcaster's closing message.
func (s *Store) SetThanks(ctx context.Context, fundraiserID, text string) (store.Fundraiser, error) {
	out, err := s.updateFundraiser(ctx, fundraiserID, `thanks = ?`, text)
	if err != nil {
		return store.Fundraiser{}, wrap("set thanks", err)
	}
	return out, nil
}

// updateFundraiser sets columns (an SQL SET list with placeholders for
// args) of one fundraiser and returns it.
func (s *Store) updateFundraiser(ctx context.Context, id, set string, args ...any) (store.Fundraiser, error) {
	var out store.Fundraiser
	err := s.inTx(ctx, func(tx *wtx) error {
		if err := fundraiserExistsTx(tx, id); err != nil {
			return err
		}
		var err error
		out, err = scanFundraiser(tx.queryRow(
			`UPDATE fundraisers SET `+set+` WHERE id = ? RETURNING `+fundraiserColumns, append(args, id)...))
		return err
	})
	return out, err
}
