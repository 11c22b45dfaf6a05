package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/givelive/givelive/hub/wire"
)

// Identity is who a connection's token belongs to. The zero Identity is an
// anonymous viewer, who may watch but not chat.
type Identity struct {
	UserID      string
	Name        string
	Broadcaster bool      // a broadcaster's token rather than a viewer's
	ExpiresAt   time.Time // zero: never
}

// Authenticator turns a token from the ws URL into an Identity. An error
// means the token is invalid or expired (close code 4001).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Identity, error)
}

// RoomInfo is what the hub needs to know about a room's fundraiser.
type RoomInfo struct {
	OwnerID string // the broadcaster who owns the fundraiser
}

// RoomDirectory tells which rooms exist. The hub asks it once per subscribe;
// ErrRoomNotFound (wrapped or not) means the room does not exist.
type RoomDirectory interface {
	Room(ctx context.Context, room string) (RoomInfo, error)
}

// ErrRoomNotFound is returned by a RoomDirectory for an unknown room.
var ErrRoomNotFound = errors.New("room not found")

// DonorChecker tells whether a user has a succeeded donation to a
// fundraiser, which unlocks the i-donated sticker, and whether one of them
// was given under their name, which earns the public donor badge (an
// anonymous gift must not point at its giver).
type DonorChecker interface {
	DonorStatus(ctx context.Context, room, userID string) (donated, named bool, err error)
}

// ChatPolicy decides, beyond rate limits, whether a user may post in a room
// now (bans, slow mode). op is wire.OpChat or wire.OpSticker. It returns
// nil, a *wire.Error (such as code banned or slow_mode) for the user, or
// another error, which the user sees as an internal error.
type ChatPolicy interface {
	Allow(ctx context.Context, room, userID, op string) error
}

// Config configures a Hub. Zero values mean the documented defaults.
type Config struct {
	Broker  Broker                // default: a MemoryBroker with its defaults
	Auth    Authenticator         // default: every token is refused
	Rooms   RoomDirectory         // default: every well-formed room exists
	Donors  DonorChecker          // default: nobody has donated
	Policy  ChatPolicy            // default: no bans, no slow mode
	Logger  *slog.Logger          // default: discard
	Metrics prometheus.Registerer // default: metrics are kept but not registered

	// OriginPatterns lists the browser origins allowed to connect, as host
	// patterns (path.Match syntax, e.g. "*.example.org"). Default: same host.
	OriginPatterns []string

	MaxRoomsPerConn int // default 16
	// MaxConnsPerAddr bounds the WebSockets one client address may hold
	// open at once (an IPv6 address counts by its /64); a handshake beyond
	// it is refused with 429. Default 256; negative: no bound. The address
	// is the one WithClientAddr put in the request's context, else the
	// connection's remote address.
	MaxConnsPerAddr int
	QueueBytes      int // per-connection queue limit, default 512 KiB
	// ReplyBytes is how many reply bytes (subscribe replays) a connection
	// may have unwritten before its reader waits, default 1 MiB.
	ReplyBytes   int
	FrameBytes   int           // a frame packs events up to this size, default 64 KiB
	FrameEvents  int           // and at most this many events, default 256
	WriteTimeout time.Duration // default 10s
	// SendBuffer is each connection's kernel send buffer (SO_SNDBUF; the
	// kernel doubles it for its bookkeeping), default 16 KiB: what a viewer
	// that stopped reading can hold in the kernel before its writes wait
	// and the hub stops writing to it (at 50 events a second, about three
	// seconds). A live event stream needs far less; a long replay goes out
	// at about 320 KB/s over a 100 ms round trip. Negative: the system's,
	// which on Linux grows to megabytes per socket.
	SendBuffer   int
	PingInterval time.Duration // default 25s
	PongTimeout  time.Duration // default 15s

	ChatRate     rate.Limit // per user, default 1/s
	ChatBurst    int        // default 3
	StickerRate  rate.Limit // per user, default 2/s
	StickerBurst int        // default 5
	MaxChatRunes int        // default 300
	Stickers     []string   // allowed stickers; default DefaultStickers

	// CommandRate and CommandBurst bound a connection's commands: a
	// connection that empties a bucket of CommandBurst refilled at
	// CommandRate (defaults 50/s and 150, about three seconds of flooding)
	// is closed with 4029.
	CommandRate  rate.Limit
	CommandBurst int

	// ViewerInterval is how often viewer counts are published, default 1s.
	ViewerInterval time.Duration
	// ParallelFanout is the room size from which fan-out is split over
	// GOMAXPROCS goroutines, default 4096.
	ParallelFanout int
	// ReaderGoroutines gives every connection a goroutine waiting in Read,
	// instead of the node's poller, which starts a connection's reader only
	// when bytes arrive (Linux; elsewhere there is no poller and this is
	// what happens). For comparison and as a fallback.
	ReaderGoroutines bool
}

// DefaultStickers are the stickers viewers may send.
var DefaultStickers = []string{"heart", "clap", "fire", "party", "wow", "laugh", wire.StickerIDonated}

func (c *Config) setDefaults() {
	if c.Broker == nil {
		c.Broker = NewMemoryBroker(MemoryConfig{})
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.MaxRoomsPerConn, 16)
	setDefault(&c.MaxConnsPerAddr, 256)
	setDefault(&c.QueueBytes, 512<<10)
	setDefault(&c.ReplyBytes, 1<<20)
	setDefault(&c.FrameBytes, 64<<10)
	setDefault(&c.FrameEvents, 256)
	setDefault(&c.WriteTimeout, 10*time.Second)
	setDefault(&c.SendBuffer, 16<<10)
	setDefault(&c.PingInterval, 25*time.Second)
	setDefault(&c.PongTimeout, 15*time.Second)
	setDefault(&c.ChatRate, 1)
	setDefault(&c.ChatBurst, 3)
	setDefault(&c.StickerRate, 2)
	setDefault(&c.StickerBurst, 5)
	setDefault(&c.MaxChatRunes, 300)
	setDefault(&c.CommandRate, 50)
	setDefault(&c.CommandBurst, 150)
	setDefault(&c.ViewerInterval, time.Second)
	setDefault(&c.ParallelFanout, 4096)
	if len(c.Stickers) == 0 {
		c.Stickers = DefaultStickers
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

const shardCount = 64

// Hub holds a node's connections and rooms. Create it with New, serve /ws
// with it (it is an http.Handler), publish with Publish, stop it with
// Shutdown. All methods are safe for concurrent use.
type Hub struct {
	cfg      Config
	log      *slog.Logger
	broker   Broker
	metrics  *metrics
	stickers map[string]bool
	limits   *userLimits
	frames   framePool
	addrs    addrCounts // open connections per client address
	poller   *poller    // nil: every connection has a reader goroutine

	shards [shardCount]shard
	nextID atomic.Uint64

	conns       sync.WaitGroup // one per handshake or connection, for Shutdown
	dispatchers sync.WaitGroup // rooms' dispatchers at work
	enterMu     sync.Mutex     // orders conns.Add against closing
	closing     atomic.Bool
	stopOnce    sync.Once
	stop        chan struct{}  // closed once Shutdown's connections are gone: stops the background loops
	loops       sync.WaitGroup // the background loops
	drained     chan struct{}  // closed when Shutdown is done
}

// New returns a started Hub. Call Shutdown to stop it.
func New(cfg Config) (*Hub, error) {
	cfg.setDefaults()
	h := &Hub{
		cfg:      cfg,
		log:      cfg.Logger,
		broker:   cfg.Broker,
		metrics:  newMetrics(),
		stickers: make(map[string]bool, len(cfg.Stickers)),
		stop:     make(chan struct{}),
		drained:  make(chan struct{}),
	}
	h.limits = newUserLimits(cfg)
	for _, s := range cfg.Stickers {
		h.stickers[s] = true
	}
	for i := range h.shards {
		h.shards[i].rooms = make(map[string]*room)
		h.shards[i].conns = make(map[*Conn]struct{})
	}
	if cfg.Metrics != nil {
		if err := h.metrics.register(cfg.Metrics, h); err != nil {
			return nil, fmt.Errorf("failed to register hub metrics: %w", err)
		}
	}
	if pollable && !cfg.ReaderGoroutines {
		p, err := newPoller(func(c *Conn) { go c.readReady() })
		if err != nil {
			return nil, err
		}
		h.poller = p
	}
	if err := h.broker.Start(h); err != nil {
		if h.poller != nil {
			h.poller.close()
		}
		return nil, fmt.Errorf("failed to start broker: %w", err)
	}
	h.loops.Add(3)
	go h.viewerLoop()
	go h.keepaliveLoop()
	go h.watchdogLoop()
	return h, nil
}

// Publish sends an event of type typ to a room on every node. data is
// marshalled to JSON unless it already is ([]byte or json.RawMessage). The
// returned position includes the event (for recoverable types).
func (h *Hub) Publish(ctx context.Context, room, typ string, data any) (wire.Position, error) {
	if !wire.ValidRoom(room) {
		return wire.Position{}, fmt.Errorf("failed to publish %s: invalid room %q", typ, room)
	}
	raw, err := encodeData(data)
	if err != nil {
		return wire.Position{}, fmt.Errorf("failed to publish %s to %s: %w", typ, room, err)
	}
	pos, err := h.broker.Publish(ctx, room, Publication{Type: typ, Data: raw, Time: time.Now().UnixMilli()})
	if err != nil {
		return wire.Position{}, fmt.Errorf("failed to publish %s to %s: %w", typ, room, err)
	}
	h.metrics.published(typ)
	return pos, nil
}

// encodeData returns data as JSON: bytes are checked (bad bytes would reach
// every viewer and stay in the room's history), anything else is marshalled.
func encodeData(data any) ([]byte, error) {
	switch d := data.(type) {
	case []byte:
		if !json.Valid(d) {
			return nil, errors.New("data is not valid JSON")
		}
		return d, nil
	case json.RawMessage:
		if !json.Valid(d) {
			return nil, errors.New("data is not valid JSON")
		}
		return d, nil
	default:
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("failed to encode data: %w", err)
		}
		return b, nil
	}
}

// Position returns a room's current stream position, creating its epoch if
// the room is new. Snapshots carry it so clients can subscribe with since.
func (h *Hub) Position(ctx context.Context, room string) (wire.Position, error) {
	res, err := h.broker.History(ctx, room, nil)
	if err != nil {
		return wire.Position{}, fmt.Errorf("failed to read position of %s: %w", room, err)
	}
	return res.Position, nil
}

// HandlePublication implements PublicationHandler: the broker calls it for
// every publication in a room this node is subscribed to. It frames the
// event once and hands it to the room's dispatcher; it never waits for a
// connection.
func (h *Hub) HandlePublication(roomID string, p Publication) {
	sh := h.shard(roomID)
	sh.mu.RLock()
	r := sh.rooms[roomID]
	if r == nil || len(r.subs) == 0 {
		sh.mu.RUnlock()
		return
	}
	if p.Type == wire.TypeViewers {
		r.noteViewers(p) // for Hub.Viewers (viewers.go)
	}
	fb := newFrameBuilder(96 + len(roomID) + len(p.Data))
	fb.buf = wire.AppendEvent(fb.buf, roomID, p.Type, p.Offset, p.Time, p.Data)
	ev := newEvent(fb)
	ev.room, ev.typ, ev.offset, ev.epoch = roomID, p.Type, p.Offset, p.Epoch
	ev.recoverable = p.Offset > 0
	ev.delivered = h.metrics.deliveredCounter(p.Type)
	r.dmu.Lock()
	r.inbox = append(r.inbox, ev)
	start := !r.dispatching
	r.dispatching = true
	if start {
		h.dispatchers.Add(1)
	}
	r.dmu.Unlock()
	sh.mu.RUnlock()
	if start {
		go h.dispatch(sh, r)
	}
}

// dispatch fans a room's publications out, in order, until its inbox is
// empty: each round takes everything that arrived, as one frame.
func (h *Hub) dispatch(sh *shard, r *room) {
	defer h.dispatchers.Done()
	var subs []*subscription
	for {
		r.dmu.Lock()
		events := r.inbox
		r.inbox = nil
		if len(events) == 0 {
			r.dispatching = false
			r.dmu.Unlock()
			return
		}
		r.dmu.Unlock()
		sh.mu.RLock()
		subs = append(subs[:0], r.subs...)
		sh.mu.RUnlock()
		for len(events) > 0 {
			b := h.newBatch(events)
			events = events[len(b.events):]
			h.fanout(subs, b)
		}
		clear(subs)
	}
}

// batch is a run of one room's events fanned out together: one frame with
// all of them, written as it is to every connection that is up to date
// and not behind on its writes.
type batch struct {
	events []*event
	frame  []byte
	epoch  string
	first  uint64 // offsets of the recoverable events, 0 when none
	last   uint64
}

// newBatch takes the longest run of events from the start of events that
// fits one frame (FrameBytes, FrameEvents).
func (h *Hub) newBatch(events []*event) *batch {
	b := &batch{}
	size := 0
	for i, ev := range events {
		n := len(ev.payload())
		if i > 0 && (i == h.cfg.FrameEvents || size+1+n > h.cfg.FrameBytes) {
			break
		}
		size += n + min(i, 1)
		b.events = events[:i+1]
		if ev.recoverable {
			if b.first == 0 {
				b.first, b.epoch = ev.offset, ev.epoch
			}
			if ev.epoch != b.epoch || ev.offset != b.last+1 && b.last != 0 {
				b.first = 0 // not one run of one epoch: deliver event by event
			}
			b.last = ev.offset
		}
	}
	if len(b.events) == 1 {
		b.frame = b.events[0].wire
	} else {
		b.frame = packFrame(make([]byte, 0, maxHeader+size), b.events)
	}
	return b
}

// follows reports whether the batch can be written whole to s: it carries
// no recoverable event, or exactly the ones after s's position.
func (b *batch) follows(s *subscription) bool {
	if b.last == 0 {
		return true
	}
	return b.first != 0 && b.epoch == s.epoch && b.first == s.offset+1
}

// HandleGap implements GapHandler: every connection in the room is closed
// with 4000, so that its client resumes with since (and, the gap being
// lost, falls back to the snapshot).
func (h *Hub) HandleGap(roomID string) {
	sh := h.shard(roomID)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	r := sh.rooms[roomID]
	if r == nil || len(r.subs) == 0 {
		return
	}
	h.log.Warn("room stream lost on this node, closing its connections so they resume", "room", roomID, "conns", len(r.subs))
	for _, s := range r.subs {
		s.conn.close(wire.CloseSlowConsumer, "gap in event stream: resume with since")
	}
}

// fanout delivers a batch to every subscription; large rooms are split
// over GOMAXPROCS goroutines. It never waits for a connection.
func (h *Hub) fanout(subs []*subscription, b *batch) {
	workers := runtime.GOMAXPROCS(0)
	var written int
	if len(subs) < h.cfg.ParallelFanout || workers == 1 {
		written = h.deliverAll(subs, b)
	} else {
		var wg sync.WaitGroup
		var total atomic.Int64
		chunk := (len(subs) + workers - 1) / workers
		for start := 0; start < len(subs); start += chunk {
			part := subs[start:min(start+chunk, len(subs))]
			wg.Go(func() { total.Add(int64(h.deliverAll(part, b))) })
		}
		wg.Wait()
		written = int(total.Load())
	}
	if written > 0 {
		h.metrics.framesWritten.Add(float64(written))
		for _, ev := range b.events {
			ev.delivered.Add(float64(written))
		}
	}
}

// deliverAll delivers b to each subscription and returns how many took
// the batch's frame straight away.
func (h *Hub) deliverAll(subs []*subscription, b *batch) int {
	written := 0
	for _, s := range subs {
		if s.conn.deliver(s, b) {
			written++
		}
	}
	return written
}

// deliver hands a batch to this connection. When nothing is queued ahead
// and the subscription is up to date, the batch's frame is written at
// once, without waiting; otherwise its events are queued one by one (a
// flusher writes them). It reports whether the frame was written here.
func (c *Conn) deliver(s *subscription, b *batch) bool {
	c.mu.Lock()
	if c.closed || s.left {
		c.mu.Unlock()
		return false
	}
	if !s.joining && !c.writing && c.head == nil && len(c.queue) == 0 && b.follows(s) {
		if b.last != 0 {
			s.offset = b.last
		}
		c.writing = true
		c.mu.Unlock()
		c.writeNow(b.frame, nil)
		return true
	}
	r := delivered
	for _, ev := range b.events {
		switch dr := c.deliverLocked(s, ev); dr {
		case needKick:
			r = needKick
		case delivered:
		default:
			r = dr
		}
		if r == overflowed || r == gapped {
			break
		}
	}
	c.mu.Unlock()
	c.settle(r)
	return false
}

func (h *Hub) shard(room string) *shard {
	return &h.shards[fnv32(room)%shardCount]
}

// fnv32 is FNV-1a, inlined to avoid an allocation per lookup.
func fnv32(s string) uint32 {
	hash := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		hash ^= uint32(s[i])
		hash *= 16777619
	}
	return hash
}

// Shutdown drains the hub: new connections are refused, open ones are
// closed with 1001 (going away), and it waits for them to finish (each
// closing handshake takes at most closeTimeout) or for ctx. Background
// loops stop once the connections are gone. The broker is not closed (its
// owner closes it). Calling Shutdown again waits for the same drain.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.stopOnce.Do(func() {
		h.enterMu.Lock()
		h.closing.Store(true)
		h.enterMu.Unlock()
		for _, c := range h.allConns() {
			c.close(wire.CloseGoingAway, "server shutting down")
		}
		go func() {
			h.conns.Wait()
			close(h.stop)
			h.loops.Wait()
			h.dispatchers.Wait()
			if h.poller != nil {
				h.poller.close()
			}
			close(h.drained)
		}()
	})
	select {
	case <-h.drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("failed to drain connections: %w", ctx.Err())
	}
}

func (h *Hub) allConns() []*Conn {
	var all []*Conn
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for c := range sh.conns {
			all = append(all, c)
		}
		sh.mu.RUnlock()
	}
	return all
}
