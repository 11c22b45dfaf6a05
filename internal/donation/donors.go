package donation

import (
	"context"
	"sync"
	"time"
)

// donorCache answers "has this viewer donated to this fundraiser?", which
// the hub asks for every chat message (the donor badge) and i-donated
// sticker. Donations settled through this node update it at once; a "no"
// is trusted for negativeTTL, so a donation settled on another node (or by
// a webhook there) shows within that time; a "yes" for positiveTTL, so a
// refund made elsewhere is seen too.
type donorCache struct {
	ledger interface {
		HasDonated(ctx context.Context, fundraiserID, userID string) (bool, error)
	}
	now func() time.Time

	mu      sync.Mutex
	entries map[donorKey]donorEntry
}

type donorKey struct{ room, user string }

type donorEntry struct {
	donated bool
	at      time.Time
}

const (
	negativeTTL     = 2 * time.Second
	positiveTTL     = time.Minute
	maxDonorEntries = 200_000
)

func newDonorCache(ledger interface {
	HasDonated(ctx context.Context, fundraiserID, userID string) (bool, error)
}) *donorCache {
	return &donorCache{ledger: ledger, now: time.Now, entries: make(map[donorKey]donorEntry)}
}

func (c *donorCache) has(ctx context.Context, room, user string) (bool, error) {
	k := donorKey{room, user}
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		ttl := negativeTTL
		if e.donated {
			ttl = positiveTTL
		}
		if c.now().Sub(e.at) < ttl {
			return e.donated, nil
		}
	}
	donated, err := c.ledger.HasDonated(ctx, room, user)
	if err != nil {
		return false, err
	}
	c.set(k, donated)
	return donated, nil
}

func (c *donorCache) add(room, user string) { c.set(donorKey{room, user}, true) }

// forget drops what is known, so the next question reads the ledger (a
// refund may or may not have left the viewer a donor).
func (c *donorCache) forget(room, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, donorKey{room, user})
}

func (c *donorCache) set(k donorKey, donated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxDonorEntries {
		clear(c.entries)
	}
	c.entries[k] = donorEntry{donated: donated, at: c.now()}
}
