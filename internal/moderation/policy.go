package moderation

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// Ledger is what the Policy reads: the fundraiser (owner, slow mode) and
// bans. store.Store implements it.
type Ledger interface {
	GetFundraiser(ctx context.Context, id string) (store.Fundraiser, error)
	IsBanned(ctx context.Context, fundraiserID, userID string) (bool, error)
}

// DefaultRefresh is how long the Policy trusts what it read from the ledger.
// A ban or slow-mode change made through this node's Policy (Banned,
// SlowMode) applies at once; one made on another node within this time.
const DefaultRefresh = 2 * time.Second

// maxRooms and maxUsers bound the Policy's memory: past them, the oldest
// knowledge is dropped and read again from the ledger when needed.
const (
	maxRooms = 10_000
	maxUsers = 100_000 // per room
)

// Policy is the hub's chat policy: banned viewers may neither chat nor send
// stickers, and in slow mode a viewer waits between chat messages. The
// fundraiser's broadcaster is never banned or slowed. It implements
// hub.ChatPolicy.
type Policy struct {
	ledger  Ledger
	refresh time.Duration
	now     func() time.Time

	mu    sync.Mutex
	rooms map[string]*roomPolicy
}

type roomPolicy struct {
	readAt time.Time // when owner and slow were read
	owner  string
	slow   time.Duration
	bans   map[string]banState
	last   map[string]time.Time // each viewer's last chat message
}

type banState struct {
	banned bool
	readAt time.Time
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp.slow <= 0 {
		return nil
	}
	now := p.now()
	if last, ok := rp.last[userID]; ok {
		if wait := last.Add(rp.slow).Sub(now); wait > 0 {
			return wire.Errorf(wire.ErrSlowMode, fmt.Sprintf("slow mode: wait %d s before your next message", int((wait+time.Second-1)/time.Second)))
		}
	}
	if len(rp.last) >= maxUsers {
		pruneBefore(rp.last, now.Add(-rp.slow))
	}
	rp.last[userID] = now
	return nil
}

// Banned records a ban (or its lifting) made on this node, so it applies
// at once.
func (p *Policy) Banned(room, userID string, banned bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp := p.rooms[room]; rp != nil {
		rp.bans[userID] = banState{banned: banned, readAt: p.now()}
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
		rp = &roomPolicy{bans: make(map[string]banState), last: make(map[string]time.Time)}
		p.rooms[room] = rp
	}
	rp.readAt, rp.owner = now, f.BroadcasterID
	rp.slow = time.Duration(f.SlowModeSeconds) * time.Second
	return rp, nil
}

func (p *Policy) banned(ctx context.Context, rp *roomPolicy, room, userID string) (bool, error) {
	p.mu.Lock()
	st, ok := rp.bans[userID]
	p.mu.Unlock()
	if ok && p.now().Sub(st.readAt) < p.refresh {
		return st.banned, nil
	}
	banned, err := p.ledger.IsBanned(ctx, room, userID)
	if err != nil {
		return false, fmt.Errorf("failed to read bans: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(rp.bans) >= maxUsers {
		clear(rp.bans)
	}
	rp.bans[userID] = banState{banned: banned, readAt: p.now()}
	return banned, nil
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
