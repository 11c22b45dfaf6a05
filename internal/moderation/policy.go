package moderation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// Ledger is what the Policy reads: the fundraiser (owner, status, chat
// rules), bans, donors and how long a viewer has been around. store.Store
// implements it.
type Ledger interface {
	GetFundraiser(ctx context.Context, id string) (store.Fundraiser, error)
	IsBanned(ctx context.Context, fundraiserID, userID string) (bool, error)
	DonorStatus(ctx context.Context, fundraiserID, userID string) (store.DonorStatus, error)
	ChatterSince(ctx context.Context, userID string) (time.Time, error)
}

// DefaultRefresh is how long the Policy trusts what it read from the ledger.
// A ban, chat-mode or donation change made through this node's Policy
// (Banned, SlowMode, Modes, Donated) applies at once; one made on another
// node within this time.
const DefaultRefresh = 2 * time.Second

// maxRooms and maxUsers bound the Policy's memory: past them, the oldest
// knowledge is dropped and read again from the ledger when needed.
const (
	maxRooms = 10_000
	maxUsers = 100_000 // per room
)

// Policy is the hub's chat policy: banned (or timed-out) viewers may
// neither chat nor send stickers, nobody may once the fundraiser has ended,
// and the fundraiser's chat modes apply to chat messages: slow mode (a wait
// between one viewer's messages), donors only, and a wait before a new
// viewer's first message (counted from their browser's first session).
// The fundraiser's broadcaster is never held back. It implements
// hub.ChatPolicy. Its methods are safe for concurrent use.
type Policy struct {
	ledger  Ledger
	refresh time.Duration
	now     func() time.Time

	mu    sync.Mutex
	rooms map[string]*roomPolicy
}

type roomPolicy struct {
	readAt     time.Time // when the fundraiser was read
	owner      string
	slow       time.Duration
	donorsOnly bool
	wait       time.Duration
	closed     bool
	members    map[string]*member
	last       map[string]time.Time // each viewer's last chat message
}

// member is what the Policy knows of one viewer in one room.
type member struct {
	banned    bool
	bannedAt  time.Time // when banned was read; zero: unknown
	donated   bool
	donatedAt time.Time // when donated was read; zero: unknown
	since     time.Time // their browser's first session; zero: unknown
}

// NewPolicy returns a Policy reading ledger; refresh 0 means
// DefaultRefresh.
func NewPolicy(ledger Ledger, refresh time.Duration) *Policy {
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	return &Policy{ledger: ledger, refresh: refresh, now: time.Now, rooms: make(map[string]*roomPolicy)}
}

// Allow answers whether userID may post op (wire.OpChat or wire.OpSticker)
// in room now, and if it may chat, starts its slow-mode wait.
func (p *Policy) Allow(ctx context.Context, room, userID, op string) error {
	rp, err := p.room(ctx, room)
	if err != nil {
		return err
	}
	if userID == rp.owner {
		return nil
	}
	if p.closed(rp) {
		return wire.Errorf(wire.ErrChatClosed, "chat is closed: this fundraiser has ended")
	}
	banned, err := p.banned(ctx, rp, room, userID)
	if err != nil {
		return err
	}
	if banned {
		return wire.Errorf(wire.ErrBanned, "you are banned from this fundraiser's chat")
	}
	if op != wire.OpChat {
		return nil
	}
	if err := p.modes(ctx, rp, room, userID); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp.slow <= 0 {
		return nil
	}
	now := p.now()
	if last, ok := rp.last[userID]; ok {
		if wait := last.Add(rp.slow).Sub(now); wait > 0 {
			return wire.Errorf(wire.ErrSlowMode, fmt.Sprintf("slow mode: wait %d s before your next message", ceilSeconds(wait)))
		}
	}
	if len(rp.last) >= maxUsers {
		pruneBefore(rp.last, now.Add(-rp.slow))
	}
	rp.last[userID] = now
	return nil
}

func (p *Policy) closed(rp *roomPolicy) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return rp.closed
}

// modes checks donors only and the new chatters' wait.
func (p *Policy) modes(ctx context.Context, rp *roomPolicy, room, userID string) error {
	p.mu.Lock()
	donorsOnly, wait := rp.donorsOnly, rp.wait
	p.mu.Unlock()
	if donorsOnly {
		donated, err := p.donated(ctx, rp, room, userID)
		if err != nil {
			return err
		}
		if !donated {
			return wire.Errorf(wire.ErrDonorsOnly, "only donors can chat right now: give any amount to join in")
		}
	}
	if wait > 0 {
		since, err := p.since(ctx, rp, userID)
		if err != nil {
			return err
		}
		if left := since.Add(wait).Sub(p.now()); left > 0 {
			return wire.Errorf(wire.ErrTooNew, fmt.Sprintf("new here? you can chat in %s", humanWait(left)))
		}
	}
	return nil
}

// Banned records a ban (or its lifting) made on this node, so it applies
// at once.
func (p *Policy) Banned(room, userID string, banned bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp := p.rooms[room]; rp != nil {
		m := p.memberLocked(rp, userID)
		m.banned, m.bannedAt = banned, p.now()
	}
}

// Unbanned records that the bans holding userID, and with it its browser,
// were lifted on this node: the user may chat at once, and every other
// viewer's ban is read again from the ledger.
func (p *Policy) Unbanned(room, userID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rp := p.rooms[room]
	if rp == nil {
		return
	}
	for _, m := range rp.members {
		m.bannedAt = time.Time{}
	}
	m := p.memberLocked(rp, userID)
	m.banned, m.bannedAt = false, p.now()
}

// Donated records a donation settled on this node, so donors-only chat
// lets its giver in at once.
func (p *Policy) Donated(room, userID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp := p.rooms[room]; rp != nil {
		m := p.memberLocked(rp, userID)
		m.donated, m.donatedAt = true, p.now()
	}
}

// SlowMode records a slow-mode change made on this node.
func (p *Policy) SlowMode(room string, seconds int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp := p.rooms[room]; rp != nil {
		rp.slow = time.Duration(seconds) * time.Second
	}
}

// Modes records a chat-mode change made on this node.
func (p *Policy) Modes(room string, m store.ChatModes) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp := p.rooms[room]; rp != nil {
		rp.donorsOnly, rp.wait = m.DonorsOnly, time.Duration(m.WaitSeconds)*time.Second
	}
}

// room returns the room's policy, reading the fundraiser again when what
// the Policy knows is older than the refresh time.
func (p *Policy) room(ctx context.Context, room string) (*roomPolicy, error) {
	p.mu.Lock()
	rp := p.rooms[room]
	fresh := rp != nil && p.now().Sub(rp.readAt) < p.refresh
	p.mu.Unlock()
	if fresh {
		return rp, nil
	}
	f, err := p.ledger.GetFundraiser(ctx, room)
	if err != nil {
		return nil, fmt.Errorf("failed to read fundraiser %s: %w", room, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if rp = p.rooms[room]; rp == nil {
		if len(p.rooms) >= maxRooms {
			clear(p.rooms)
		}
		rp = &roomPolicy{members: make(map[string]*member), last: make(map[string]time.Time)}
		p.rooms[room] = rp
	}
	rp.readAt, rp.owner = now, f.BroadcasterID
	rp.slow = time.Duration(f.SlowModeSeconds) * time.Second
	rp.donorsOnly = f.ChatDonorsOnly
	rp.wait = time.Duration(f.ChatWaitSeconds) * time.Second
	rp.closed = f.Status == store.StatusEnded
	return rp, nil
}

// memberLocked returns userID's record in rp, making one; p.mu is held.
func (p *Policy) memberLocked(rp *roomPolicy, userID string) *member {
	m := rp.members[userID]
	if m == nil {
		if len(rp.members) >= maxUsers {
			clear(rp.members)
		}
		m = &member{}
		rp.members[userID] = m
	}
	return m
}

func (p *Policy) banned(ctx context.Context, rp *roomPolicy, room, userID string) (bool, error) {
	p.mu.Lock()
	m := p.memberLocked(rp, userID)
	banned, fresh := m.banned, !m.bannedAt.IsZero() && p.now().Sub(m.bannedAt) < p.refresh
	p.mu.Unlock()
	if fresh {
		return banned, nil
	}
	banned, err := p.ledger.IsBanned(ctx, room, userID)
	if err != nil {
		return false, fmt.Errorf("failed to read bans: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m = p.memberLocked(rp, userID)
	m.banned, m.bannedAt = banned, p.now()
	return banned, nil
}

// donated reads whether userID has given to the room's fundraiser; a yes
// is trusted for the refresh time, a no is read again each time it is
// needed.
func (p *Policy) donated(ctx context.Context, rp *roomPolicy, room, userID string) (bool, error) {
	p.mu.Lock()
	m := p.memberLocked(rp, userID)
	fresh := m.donated && p.now().Sub(m.donatedAt) < p.refresh
	p.mu.Unlock()
	if fresh {
		return true, nil
	}
	st, err := p.ledger.DonorStatus(ctx, room, userID)
	if err != nil {
		return false, fmt.Errorf("failed to read donors: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m = p.memberLocked(rp, userID)
	m.donated, m.donatedAt = st.Donated, p.now()
	return st.Donated, nil
}

// since reads when userID's browser first had a session; it never changes.
func (p *Policy) since(ctx context.Context, rp *roomPolicy, userID string) (time.Time, error) {
	p.mu.Lock()
	since := p.memberLocked(rp, userID).since
	p.mu.Unlock()
	if !since.IsZero() {
		return since, nil
	}
	since, err := p.ledger.ChatterSince(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// No viewer session: a broadcaster's account, which an admin
		// made; it has nothing to wait for.
		since = time.Unix(0, 0)
	case err != nil:
		return time.Time{}, fmt.Errorf("failed to read the viewer's first session: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.memberLocked(rp, userID).since = since
	return since, nil
}

func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// humanWait says a wait in plain words: "45 s", "3 min".
func humanWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", ceilSeconds(d))
	}
	return fmt.Sprintf("%d min", int((d+time.Minute-1)/time.Minute))
}

func pruneBefore(m map[string]time.Time, cutoff time.Time) {
	for k, t := range m {
		if t.Before(cutoff) {
			delete(m, k)
		}
	}
	if len(m) >= maxUsers {
		clear(m)
	}
}
