// Package redisbroker is the hub.Broker for many nodes sharing Redis.
//
// New returns a Broker on one Redis server; NewRing spreads rooms over
// several. The hub calls Start, then Publish, Subscribe, Unsubscribe and
// History from any goroutine, and Close once. Each room's publications are
// numbered, appended to a capped stream and published by one Lua script,
// so offsets reach every node in order. Publishes are queued and sent in
// pipelines, so a node's publish rate is not bound by its round-trip time;
// subscriptions of many rooms at once share SUBSCRIBE commands. One
// pub/sub connection reads for the whole node and hands publications to a
// few workers by room, each with a bounded queue: the reader never waits
// on the hub. A publication dropped on a full queue is counted, and its
// room's worker delivers it from history before the room's next one.
//
// When Redis goes away, Publish and History fail, the reader reconnects
// with backoff and resubscribes every room. As each room's subscription is
// confirmed again, its worker reads what the room published meanwhile
// from history and delivers it in order, or, when history no longer holds
// it (Redis restarted empty), tells the hub (hub.GapHandler) so the room's
// viewers resume at once.
package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// Config configures a Broker. Zero values mean the defaults.
type Config struct {
	// URL is the Redis server, as redis.ParseURL reads it:
	// "redis://host:6379/0" or "unix:///path/redis.sock". Ignored when
	// Options is set. With Cluster, a comma-separated list of seed nodes
	// (redis:// URLs; the first one's credentials and settings apply). Unless the URL says otherwise, commands are not
	// retried (a publish retried after a lost reply would be published
	// twice) and a failed dial is not retried either, so calls fail fast
	// while Redis is down.
	URL string
	// Options, when not nil, configure the client instead of URL, as given.
	Options *redis.Options
	// Cluster means URL names nodes of a Redis Cluster: publications use
	// sharded pub/sub (SPUBLISH, SSUBSCRIBE), each room's keys and channel
	// share one hash slot, and the node keeps a pub/sub connection to each
	// master that serves one of its rooms.
	Cluster bool
	// Prefix starts every key and channel name (default "gl").
	Prefix string
	// HistorySize is how many recoverable publications a room keeps
	// (default 1000).
	HistorySize int
	// HistoryTTL is how long a publication stays in history (default 30m).
	// A room that is neither published to nor subscribed by any node for
	// that long is forgotten, and with it its epoch.
	HistoryTTL time.Duration
	// RenewInterval is how often the epochs of the rooms this node
	// subscribes to have their expiry renewed, however quiet the rooms are
	// (default HistoryTTL/4, at least 50ms).
	RenewInterval time.Duration
	// ViewerTTL is how long a node's viewer count of a room counts toward
	// the room's total without being renewed (default 3s: a few of the
	// hub's once-a-second reports, so a node that died stops counting
	// within seconds).
	ViewerTTL time.Duration
	// Workers is how many goroutines hand publications to the hub, rooms
	// being spread over them by hash (default 16).
	Workers int
	// QueueSize bounds each worker's queue (default 4096). A publication
	// that finds its queue full is dropped and counted.
	QueueSize int
	// SubscribeTimeout bounds how long Subscribe waits for Redis to confirm
	// when its context has no deadline (default 5s).
	SubscribeTimeout time.Duration
	// PingInterval is how long the pub/sub connection may stay silent
	// before the broker pings Redis; when the answer does not come within
	// another interval, the connection is replaced and every room
	// subscribed again (default 15s). This catches connections that die
	// without an error, as across a network partition.
	PingInterval time.Duration
	// Senders is how many goroutines send pipelines of publications, each
	// with its own connection, so one slow round trip does not hold up the
	// rest (default 2).
	Senders int
	// Logger receives connection warnings (nil: discard).
	Logger *slog.Logger
}

// Broker is a hub.Broker backed by Redis. All methods are safe for
// concurrent use; Start is called once before the others and Close once
// at the end (it stops and waits for the broker's goroutines).
type Broker struct {
	cfg     Config
	node    string // this node's id among those sharing Redis (viewer counts)
	log     *slog.Logger
	client  redis.UniversalClient // commands and scripts
	single  *redis.Client         // client, on a single server
	cluster *redis.ClusterClient  // client, on Redis Cluster
	publish string                // the publish command: PUBLISH or SPUBLISH
	handler hub.PublicationHandler
	workers []chan delivery

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // reader and keepalive
	wgWork sync.WaitGroup // workers

	mu        sync.Mutex
	started   bool
	closed    bool
	rooms     map[string]int             // subscribed rooms: Subscribe calls not undone
	waiters   map[string][]chan struct{} // channel → Subscribe calls awaiting confirmation
	baselines map[string]wire.Position   // channel → its room's position read by Subscribe
	conns     map[string]*subConn        // pub/sub connections by node address ("" on a single server)
	where     map[string]*subConn        // cluster: channel → the connection holding it

	dropped    atomic.Uint64
	reconnects atomic.Uint64
	stale      atomic.Uint64
	batches    atomic.Uint64
	recovered  atomic.Uint64
	lost       atomic.Uint64

	// Rooms whose mark a full worker queue refused (subscriber.go).
	behindMu    sync.Mutex
	behind      map[string]deliveryKind
	behindCount atomic.Int64

	subReqs     chan subRequest // to the subscription batcher
	subCommands atomic.Uint64   // SUBSCRIBE and UNSUBSCRIBE commands sent

	pubs     chan *pubRequest // to the senders (pipeline.go)
	stopSend chan struct{}    // closed by Close: senders send what is queued and return
	wgSend   sync.WaitGroup
	senders  chan struct{} // closed when every sender has returned
}

var (
	_ hub.Broker        = (*Broker)(nil)
	_ hub.ViewerCounter = (*Broker)(nil)
)

// delivery is a worker's job: a publication, or a mark that the room was
// subscribed again (resync) or left (forget).
type delivery struct {
	room string
	pub  hub.Publication
	kind deliveryKind
}

type deliveryKind uint8

// The marks, in the order markBehind ranks them (a later one covers an
// earlier one for the same room).
const (
	deliverPub    deliveryKind = iota
	deliverForget              // the room is no longer subscribed
	deliverFresh               // newly subscribed: pub's Epoch and Offset are its baseline
	deliverResync              // subscribed again, or a delivery was dropped: catch up
)

// Stats are the broker's counters.
type Stats struct {
	Dropped    uint64 // publications dropped on a full worker queue
	Reconnects uint64 // times the pub/sub connection came back after an error
	Stale      uint64 // times a silent pub/sub connection was replaced
	Batches    uint64 // pipelines of publications sent
	// SubscribeCommands counts the SUBSCRIBE and UNSUBSCRIBE commands
	// sent for rooms; a batch of rooms shares one.
	SubscribeCommands uint64
	Recovered         uint64 // publications recovered from history after a reconnection
	Lost              uint64 // rooms whose missed publications could not be recovered
}

// New returns a broker; it connects lazily, so it does not fail when Redis
// is down.
func New(cfg Config) (*Broker, error) {
	if cfg.Cluster {
		c, err := newClusterClient(cfg.URL)
		if err != nil {
			return nil, err
		}
		b := newBroker(cfg)
		b.client, b.cluster, b.publish = c, c, "SPUBLISH"
		return b, nil
	}
	opt := cfg.Options
	if opt == nil {
		var err error
		if opt, err = parseURL(cfg.URL); err != nil {
			return nil, err
		}
	}
	if opt.MaintNotificationsConfig == nil {
		// Plain Redis does not know the handshake; don't attempt it.
		opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	}
	c := redis.NewClient(opt)
	b := newBroker(cfg)
	b.client, b.single, b.publish = c, c, "PUBLISH"
	return b, nil
}

// NewClient returns a client for url as the broker would make it (see
// Config.URL): for other parts of a node that keep their own keys in the
// hub's Redis, hash-tagged per room the same way. With cluster, url lists
// seed nodes of a Redis Cluster.
func NewClient(url string, cluster bool) (redis.UniversalClient, error) {
	if cluster {
		return newClusterClient(url)
	}
	opt, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(opt), nil
}

// parseURL reads a Redis URL with the broker's defaults: no command
// retries (a publish retried after a lost reply would be published twice)
// and one dial attempt, unless the URL says otherwise.
func parseURL(url string) (*redis.Options, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("failed to parse redis url: %w", err)
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	return opt, nil
}

// newClusterClient returns a Redis Cluster client for a comma-separated
// list of seed node URLs; the first one's credentials and timeouts apply.
func newClusterClient(urls string) (*redis.ClusterClient, error) {
	var opt redis.ClusterOptions
	for i, u := range strings.Split(urls, ",") {
		o, err := redis.ParseURL(strings.TrimSpace(u))
		if err != nil {
			return nil, fmt.Errorf("failed to parse redis cluster url %d: %w", i+1, err)
		}
		if o.Network == "unix" {
			return nil, errors.New("redis cluster nodes are reached over TCP, not unix sockets")
		}
		if i == 0 {
			opt = redis.ClusterOptions{
				Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
				DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
				MaxRetries: -1, DialerRetries: 1,
				MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
			}
		}
		opt.Addrs = append(opt.Addrs, o.Addr)
	}
	return redis.NewClusterClient(&opt), nil
}

// newBroker fills in cfg's defaults and returns a broker without a client.
func newBroker(cfg Config) *Broker {
	if cfg.Prefix == "" {
		cfg.Prefix = "gl"
	}
	if cfg.HistorySize <= 0 {
		cfg.HistorySize = 1000
	}
	if cfg.HistoryTTL <= 0 {
		cfg.HistoryTTL = 30 * time.Minute
	}
	if cfg.ViewerTTL <= 0 {
		cfg.ViewerTTL = 3 * time.Second
	}
	if cfg.RenewInterval <= 0 {
		cfg.RenewInterval = max(cfg.HistoryTTL/4, 50*time.Millisecond)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.SubscribeTimeout <= 0 {
		cfg.SubscribeTimeout = 5 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 15 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		cfg:       cfg,
		node:      newNodeID(),
		log:       log,
		ctx:       ctx,
		cancel:    cancel,
		rooms:     make(map[string]int),
		waiters:   make(map[string][]chan struct{}),
		baselines: make(map[string]wire.Position),
		conns:     make(map[string]*subConn),
		behind:    make(map[string]deliveryKind),
		where:     make(map[string]*subConn),
		pubs:      make(chan *pubRequest, maxBatch),
		stopSend:  make(chan struct{}),
		subReqs:   make(chan subRequest, maxSubBatch),
		senders:   make(chan struct{}),
	}
	for range cfg.Senders {
		b.wgSend.Go(b.send)
	}
	go func() { b.wgSend.Wait(); close(b.senders) }()
	return b
}

// Start registers the handler and starts reading publications.
func (b *Broker) Start(h hub.PublicationHandler) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return hub.ErrBrokerClosed
	}
	if b.started {
		return errors.New("redisbroker: started twice")
	}
	b.started = true
	b.handler = h
	b.workers = make([]chan delivery, b.cfg.Workers)
	for i := range b.workers {
		q := make(chan delivery, b.cfg.QueueSize)
		b.workers[i] = q
		b.wgWork.Go(func() { b.work(q) })
	}
	b.startConns()
	b.wg.Go(b.keepalive)
	b.wg.Go(b.batchSubscriptions)
	b.wg.Go(b.sweep)
	return nil
}

// Close stops the broker and waits for its goroutines. Publications queued
// or under way are sent and answered first (a Publish that fails was not
// published), and those already received reach the handler.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started := b.started
	var pss []*redis.PubSub
	for _, c := range b.conns {
		pss = append(pss, c.ps)
	}
	b.mu.Unlock()
	// Publications queued or under way go out first; then everything else
	// stops.
	close(b.stopSend)
	<-b.senders
	b.cancel()
	if started {
		for _, ps := range pss {
			_ = ps.Close() // unblocks the reader
		}
		b.wg.Wait()
		for _, q := range b.workers {
			close(q)
		}
		b.wgWork.Wait()
	}
	return b.client.Close()
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	return Stats{Dropped: b.dropped.Load(), Reconnects: b.reconnects.Load(), Stale: b.stale.Load(), Batches: b.batches.Load(), SubscribeCommands: b.subCommands.Load(),
		Recovered: b.recovered.Load(), Lost: b.lost.Load()}
}

func (b *Broker) checkOpen() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return hub.ErrBrokerClosed
	}
	return nil
}

func (b *Broker) channel(room string) string { return b.cfg.Prefix + ":{" + room + "}" }
func (b *Broker) metaKey(room string) string { return b.channel(room) + ":m" }
func (b *Broker) streamKey(room string) string {
	return b.channel(room) + ":s"
}

// roomOf returns the room a channel belongs to.
func (b *Broker) roomOf(channel string) (string, bool) {
	s, ok := strings.CutPrefix(channel, b.cfg.Prefix+":{")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(s, "}")
}

func (b *Broker) ttlMillis() int64 { return b.cfg.HistoryTTL.Milliseconds() }

// Publish implements hub.Broker. A recoverable publication runs the
// publish script; a volatile one is a plain PUBLISH beside a read of the
// room's position. Either is queued for the next pipeline (pipeline.go).
// A publish whose context ends before its pipeline is sent is not sent;
// once sent, it is waited for.
func (b *Broker) Publish(ctx context.Context, room string, p hub.Publication) (wire.Position, error) {
	if err := b.checkOpen(); err != nil {
		return wire.Position{}, err
	}
	if strings.ContainsAny(p.Type, " \n") || p.Type == "" {
		return wire.Position{}, fmt.Errorf("redisbroker: bad publication type %q", p.Type)
	}
	r := &pubRequest{ctx: ctx, room: room, p: p, done: make(chan pubResult, 1)}
	select {
	case b.pubs <- r:
	case <-ctx.Done():
		return wire.Position{}, fmt.Errorf("failed to publish to room %s: %w", room, ctx.Err())
	case <-b.senders:
		return wire.Position{}, hub.ErrBrokerClosed
	}
	var res pubResult
	select {
	case res = <-r.done:
	case <-b.senders: // closed: the request may not have been taken
		select {
		case res = <-r.done:
		default:
			return wire.Position{}, hub.ErrBrokerClosed
		}
	}
	if res.fresh { // a volatile publication to a new room: create its epoch
		h, err := b.History(ctx, room, nil)
		return h.Position, err
	}
	return res.pos, res.err
}

// History implements hub.Broker.
func (b *Broker) History(ctx context.Context, room string, since *wire.Position) (hub.History, error) {
	if err := b.checkOpen(); err != nil {
		return hub.History{}, err
	}
	sinceEpoch, sinceOffset := "", int64(-1)
	if since != nil && since.Offset < 1<<52 { // beyond that Lua numbers lose precision
		sinceEpoch, sinceOffset = since.Epoch, int64(since.Offset)
	}
	res, err := historyScript.Run(ctx, b.client,
		[]string{b.metaKey(room), b.streamKey(room)},
		newEpoch(), b.ttlMillis(), sinceEpoch, sinceOffset, b.cfg.HistorySize,
	).Slice()
	if err != nil {
		return hub.History{}, fmt.Errorf("failed to read history of room %s: %w", room, err)
	}
	pos, err := position(res)
	if err != nil {
		return hub.History{}, fmt.Errorf("failed to read history of room %s: %w", room, err)
	}
	h := hub.History{Position: pos}
	if since == nil || since.Epoch != pos.Epoch || since.Offset > pos.Offset {
		return h, nil
	}
	if since.Offset == pos.Offset {
		h.Recovered = true
		return h, nil
	}
	if len(res) < 3 {
		return h, nil // the gap is longer than the history
	}
	entries, _ := res[2].([]any)
	pubs, ok := b.gap(entries, pos, since.Offset)
	if !ok {
		return h, nil
	}
	h.Recovered, h.Publications = true, hub.RemoveModerated(pubs)
	return h, nil
}

// gap decodes the stream entries after since and checks that they are the
// whole gap, none of it older than the history TTL.
func (b *Broker) gap(entries []any, pos wire.Position, since uint64) ([]hub.Publication, bool) {
	if uint64(len(entries)) != pos.Offset-since {
		return nil, false // trimmed or expired
	}
	cutoff := time.Now().Add(-b.cfg.HistoryTTL).UnixMilli()
	pubs := make([]hub.Publication, 0, len(entries))
	for i, e := range entries {
		p, ok := decodeEntry(e)
		if !ok || p.Offset != since+uint64(i)+1 || (i == 0 && p.Time < cutoff) {
			return nil, false
		}
		p.Epoch = pos.Epoch
		pubs = append(pubs, p)
	}
	return pubs, true
}

// decodeEntry decodes one XRANGE entry: [id, [field, value, ...]].
func decodeEntry(e any) (hub.Publication, bool) {
	pair, _ := e.([]any)
	if len(pair) != 2 {
		return hub.Publication{}, false
	}
	id, _ := pair[0].(string)
	fields, _ := pair[1].([]any)
	off, ok := strings.CutSuffix(id, "-0")
	offset, err := strconv.ParseUint(off, 10, 64)
	if !ok || err != nil {
		return hub.Publication{}, false
	}
	p := hub.Publication{Offset: offset}
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		v, _ := fields[i+1].(string)
		switch k {
		case "t":
			p.Type = v
		case "m":
			p.Time, _ = strconv.ParseInt(v, 10, 64)
		case "d":
			p.Data = []byte(v)
		}
	}
	return p, p.Type != ""
}

// position reads {epoch, offset, ...} from a script's reply.
func position(res []any) (wire.Position, error) {
	if len(res) < 2 {
		return wire.Position{}, errors.New("short script reply")
	}
	epoch, _ := res[0].(string)
	offset, ok := res[1].(int64)
	if epoch == "" || !ok || offset < 0 {
		return wire.Position{}, fmt.Errorf("bad script reply %v", res[:2])
	}
	return wire.Position{Epoch: epoch, Offset: uint64(offset)}, nil
}

var epochEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newEpoch returns a short random epoch name. The scripts use it only when
// the room has none.
func newEpoch() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(epochEncoding.EncodeToString(b[:]))
}

// Ping checks that Redis answers, for readiness probes.
func (b *Broker) Ping(ctx context.Context) error {
	if b.cluster != nil {
		err := b.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			if err := c.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("%s: %w", c.Options().Addr, err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("redis cluster: %w", err)
		}
		return nil
	}
	if err := b.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
