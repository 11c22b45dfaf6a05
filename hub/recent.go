package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/givelive/givelive/hub/wire"
)

// ChatLine is one chat message as the room's history holds it, with the
// time it was published (Unix ms).
type ChatLine struct {
	wire.ChatData
	Time int64 `json:"ts"`
}

// The history spans RecentChat reads: the usual one; a longer one when the
// usual one holds too little chat; a short one when the broker holds less
// history than the usual span (it never returns part of a gap, so a span
// longer than what it holds reads nothing).
const (
	recentSpan      = 250
	recentSpanLong  = 1000
	recentSpanShort = 60
)

// RecentChat returns up to n of the room's latest chat messages at or
// before pos (oldest first), as a new viewer should see them: moderation
// applied (deleted messages and the lines of banned users left out). It
// reads them from the room's history, so it finds only what the history
// still holds (by default the last 1000 events of the last 30 minutes).
// A position of another epoch than the room's finds nothing.
func (h *Hub) RecentChat(ctx context.Context, room string, pos wire.Position, n int) ([]ChatLine, error) {
	if n <= 0 || pos.Offset == 0 {
		return nil, nil
	}
	lines, held, err := h.chatIn(ctx, room, pos, recentSpan, n)
	switch {
	case err != nil:
		return nil, err
	case !held:
		if lines, _, err = h.chatIn(ctx, room, pos, recentSpanShort, n); err != nil {
			return nil, err
		}
	case len(lines) < n && pos.Offset > recentSpan:
		more, held, err := h.chatIn(ctx, room, pos, recentSpanLong, n)
		if err != nil {
			return nil, err
		}
		if held {
			lines = more
		}
	}
	return lines, nil
}

// chatIn reads the span events up to pos and returns their last n chat
// lines; held is false when the history does not hold the whole span.
func (h *Hub) chatIn(ctx context.Context, room string, pos wire.Position, span uint64, n int) (lines []ChatLine, held bool, err error) {
	since := wire.Position{Epoch: pos.Epoch, Offset: pos.Offset - min(span, pos.Offset)}
	hist, err := h.broker.History(ctx, room, &since)
	if err != nil {
		return nil, false, fmt.Errorf("failed to read recent chat of %s: %w", room, err)
	}
	if !hist.Recovered || hist.Position.Epoch != pos.Epoch {
		return nil, false, nil
	}
	return chatOf(hist.Publications, pos.Offset, n), true, nil
}

// chatOf keeps the last n chat messages of pubs up to offset last that a
// viewer would see: a chat.deleted removes its message, a user.banned its
// user's earlier lines. It walks back from the newest, so it decodes only
// the lines it keeps and the moderation events after them.
func chatOf(pubs []Publication, last uint64, n int) []ChatLine {
	var lines []ChatLine
	deleted := map[string]bool{}
	banned := map[string]bool{}
	for i := len(pubs) - 1; i >= 0 && len(lines) < n; i-- {
		p := pubs[i]
		if p.Offset > last {
			continue
		}
		switch p.Type {
		case wire.TypeChat:
			var c wire.ChatData
			if json.Unmarshal(p.Data, &c) == nil && c.ID != "" && !deleted[c.ID] && !banned[c.User.ID] {
				lines = append(lines, ChatLine{ChatData: c, Time: p.Time})
			}
		case wire.TypeChatDeleted:
			var d wire.ChatDeletedData
			if json.Unmarshal(p.Data, &d) == nil {
				deleted[d.ID] = true
			}
		case wire.TypeUserBanned:
			var b wire.UserBannedData
			if json.Unmarshal(p.Data, &b) == nil {
				banned[b.UserID] = true
			}
		}
	}
	slices.Reverse(lines)
	return lines
}
