package hub

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// MemoryConfig configures a MemoryBroker. Zero values mean the defaults.
type MemoryConfig struct {
	// HistorySize is how many recoverable publications a room keeps
	// (default 1000).
	HistorySize int
	// HistoryTTL is how long a publication stays in history (default 30m).
	// A room idle for longer is forgotten, and with it its epoch.
	HistoryTTL time.Duration
}

// MemoryBroker is the Broker of a single node: history lives in memory and
// every publication goes straight to the handler. It is safe for concurrent
// use. It has no goroutines of its own.
type MemoryBroker struct {
	size int
	ttl  time.Duration

	handler PublicationHandler

	mu        sync.Mutex // guards rooms and lastSweep
	rooms     map[string]*memoryRoom
	lastSweep time.Time
	closed    bool
}

var _ Broker = (*MemoryBroker)(nil)

type memoryRoom struct {
	mu     sync.Mutex // held while publishing, so delivery is in offset order
	epoch  string
	offset uint64
	// last and subscribers are guarded by MemoryBroker.mu, not mu.
	last        time.Time     // last use: publish, history, (un)subscribe
	subscribers int           // Subscribe calls not yet undone: never forgotten while > 0
	ring        []Publication // history, oldest first from head
	head        int           // index of the oldest entry in ring
	n           int           // entries in ring
}

// NewMemoryBroker returns a broker for one node.
func NewMemoryBroker(cfg MemoryConfig) *MemoryBroker {
	if cfg.HistorySize <= 0 {
		cfg.HistorySize = 1000
	}
	if cfg.HistoryTTL <= 0 {
		cfg.HistoryTTL = 30 * time.Minute
	}
	return &MemoryBroker{size: cfg.HistorySize, ttl: cfg.HistoryTTL, rooms: make(map[string]*memoryRoom)}
}

// Start registers the publication handler.
func (b *MemoryBroker) Start(h PublicationHandler) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handler = h
	return nil
}

// Subscribe pins the room: every publication already reaches the single
// node, but a subscribed room keeps its epoch however long it is quiet.
func (b *MemoryBroker) Subscribe(_ context.Context, room string) error {
	_, _, err := b.room(room, 1)
	return err
}

// Unsubscribe unpins the room.
func (b *MemoryBroker) Unsubscribe(_ context.Context, room string) error {
	_, _, err := b.room(room, -1)
	return err
}

// Close makes later calls fail with ErrBrokerClosed.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// room returns the room's state, creating it (with a new epoch) if needed,
// marks it used now and adds pin to its subscriber count. All of that
// happens under b.mu, as the sweep does, so a room being used is never
// forgotten between being looked up and being used.
func (b *MemoryBroker) room(name string, pin int) (*memoryRoom, PublicationHandler, error) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nil, ErrBrokerClosed
	}
	if now.Sub(b.lastSweep) > b.ttl/4 {
		b.sweep(now)
	}
	r := b.rooms[name]
	if r == nil {
		r = &memoryRoom{epoch: newEpoch(), ring: make([]Publication, 0, 8)}
		b.rooms[name] = r
	}
	r.last = now
	r.subscribers = max(0, r.subscribers+pin)
	return r, b.handler, nil
}

// sweep forgets unsubscribed rooms idle for longer than the TTL (their
// history has expired anyway). Called with b.mu held.
func (b *MemoryBroker) sweep(now time.Time) {
	b.lastSweep = now
	for name, r := range b.rooms {
		if r.subscribers == 0 && now.Sub(r.last) > b.ttl {
			delete(b.rooms, name)
		}
	}
}

// Publish implements Broker.
func (b *MemoryBroker) Publish(_ context.Context, room string, p Publication) (wire.Position, error) {
	r, h, err := b.room(room, 0)
	if err != nil {
		return wire.Position{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p.Epoch = r.epoch
	p.Offset = 0
	if wire.Recoverable(p.Type) {
		r.offset++
		p.Offset = r.offset
		r.append(p, b.size)
	}
	if h != nil {
		h.HandlePublication(room, p)
	}
	return wire.Position{Epoch: r.epoch, Offset: r.offset}, nil
}

func (r *memoryRoom) append(p Publication, size int) {
	switch {
	case r.n < len(r.ring): // room left (after expiry, or never filled)
		r.ring[(r.head+r.n)%len(r.ring)] = p
		r.n++
	case len(r.ring) < size: // full but may grow: straighten, then append
		if r.head != 0 {
			r.ring = slices.Concat(r.ring[r.head:], r.ring[:r.head])
			r.head = 0
		}
		r.ring = append(r.ring, p)
		r.n++
	default: // at capacity: overwrite the oldest
		r.ring[r.head] = p
		r.head = (r.head + 1) % len(r.ring)
	}
}

// at returns the i-th oldest entry.
func (r *memoryRoom) at(i int) *Publication { return &r.ring[(r.head+i)%len(r.ring)] }

// expire drops entries older than ttl.
func (r *memoryRoom) expire(now time.Time, ttl time.Duration) {
	cutoff := now.Add(-ttl).UnixMilli()
	for r.n > 0 && r.at(0).Time < cutoff {
		*r.at(0) = Publication{}
		r.head = (r.head + 1) % len(r.ring)
		r.n--
	}
}

// History implements Broker.
func (b *MemoryBroker) History(_ context.Context, room string, since *wire.Position) (History, error) {
	r, _, err := b.room(room, 0)
	if err != nil {
		return History{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(time.Now(), b.ttl)
	res := History{Position: wire.Position{Epoch: r.epoch, Offset: r.offset}}
	if since == nil || since.Epoch != r.epoch || since.Offset > r.offset {
		return res, nil
	}
	missing := r.offset - since.Offset
	if missing == 0 {
		res.Recovered = true
		return res, nil
	}
	if missing > uint64(r.n) {
		return res, nil // part of the gap has left the history
	}
	res.Recovered = true
	res.Publications = make([]Publication, 0, missing)
	for i := r.n - int(missing); i < r.n; i++ {
		res.Publications = append(res.Publications, *r.at(i))
	}
	res.Publications = RemoveModerated(res.Publications)
	return res, nil
}

var epochEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newEpoch returns a short random epoch name.
func newEpoch() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(epochEncoding.EncodeToString(b[:]))
}
