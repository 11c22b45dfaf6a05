package donation

import (
	"context"
	"sync"
	"time"

	"github.com/givelive/givelive/internal/store"
)

// donorCache answers "what has this viewer given to this fundraiser?",
// which the hub asks for every chat message (the donor badge) and i-donated
// sticker. Donations settled through this node update it at once; a "not
// donated" is trusted for negativeTTL, so a donation settled on another
// node (or by a webhook there) shows within that time; a "donated" for
// positiveTTL, so a refund made elsewhere is seen too.
type donorCache struct {
	ledger donorLedger
	now    func() time.Time

	mu      sync.Mutex
	entries map[donorKey]donorEntry
}

type donorLedger interface {
	DonorStatus(ctx context.Context, fundraiserID, userID string) (store.DonorStatus, error)
}

type donorKey struct{ room, user string }

type donorEntry struct {
	status store.DonorStatus
	at     time.Time
}

const (
	negativeTTL     = 2 * time.Second
	positiveTTL     = time.Minute
	maxDonorEntries = 200_000
)

func newDonorCache(ledger donorLedger) *donorCache {
	return &donorCache{ledger: ledger, now: time.Now, entries: make(map[donorKey]donorEntry)}
}

func (c *donorCache) get(ctx context.Context, room, user string) (store.DonorStatus, error) {
	if e, ok := c.fresh(donorKey{room, user}); ok {
		return e, nil
	}
	st, err := c.ledger.DonorStatus(ctx, room, user)
	if err != nil {
		return st, err
	}
	c.set(donorKey{room, user}, st)
	return st, nil
}

// fresh returns the cached status of k while it may be trusted.
func (c *donorCache) fresh(k donorKey) (store.DonorStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return store.DonorStatus{}, false
	}
	ttl := negativeTTL
	if e.status.Donated {
		ttl = positiveTTL
	}
	return e.status, c.now().Sub(e.at) < ttl
}

// add records a succeeded donation: named unless it was anonymous. A named
// gift known before stays known.
func (c *donorCache) add(room, user string, anonymous bool) {
	k := donorKey{room, user}
	st, _ := c.fresh(k)
	st.Donated = true
	st.Named = st.Named || !anonymous
	c.set(k, st)
}

// forget drops what is known, so the next question reads the ledger (a
// refund may or may not have left the viewer a donor).
func (c *donorCache) forget(room, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, donorKey{room, user})
}

func (c *donorCache) set(k donorKey, st store.DonorStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxDonorEntries {
		clear(c.entries)
	}
	c.entries[k] = donorEntry{status: st, at: c.now()}
}
