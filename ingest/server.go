package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/ingest/hls"
)

// Defaults for the zero values of Config.
const (
	DefaultApp                  = "live"
	DefaultHandshakeTimeout     = 5 * time.Second
	DefaultIdleTimeout          = 10 * time.Second
	DefaultPublishTimeout       = 30 * time.Second
	DefaultRecheckInterval      = 5 * time.Second
	DefaultMaxConnections       = 256
	DefaultMaxWaitingPerAddress = 8
	DefaultMaxPublishers        = 64
	DefaultBadKeyBurst          = 10
	DefaultBadKeyEvery          = 6 * time.Second
	DefaultBadKeyDelay          = 2 * time.Second
)

// Errors a Keys implementation returns.
var (
	// ErrUnknownKey: no fundraiser publishes with this key. The publisher
	// is refused with NetStream.Publish.BadName.
	ErrUnknownKey = errors.New("unknown stream key")
	// ErrNotAllowed: the key is known but its fundraiser cannot go live
	// (it has ended). The publisher is refused with
	// NetStream.Publish.Unauthorized.
	ErrNotAllowed = errors.New("fundraiser cannot go live")
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("ingest: server closed")

// Keys resolves stream keys. The ingest asks it nothing else.
type Keys interface {
	// PublishKey returns the fundraiser that key publishes, or an error
	// wrapping ErrUnknownKey or ErrNotAllowed.
	PublishKey(ctx context.Context, key string) (fundraiserID string, err error)
}

// Events hears when a fundraiser's stream goes live and offline. The calls
// come from the publishers' goroutines, one at a time and in the order the
// publishers changed, with a context bounded by a few seconds; a replaced
// publisher (one that reconnected) does not report offline in between. They
// may call Stop and Publishing.
type Events interface {
	StreamLive(ctx context.Context, fundraiserID string)
	StreamOffline(ctx context.Context, fundraiserID string)
}

// Config configures New. Keys and HLS are required; the zero value of every
// other field means the default documented on it.
type Config struct {
	// Keys resolves stream keys to fundraisers. Required.
	Keys Keys
	// Events hears of streams going live and offline. Nil means nobody.
	Events Events
	// HLS receives the streams. Required.
	HLS *hls.Server
	// App is the RTMP application publishers connect to
	// (rtmp://host/{App}/{stream_key}). Empty means DefaultApp.
	App string
	// HandshakeTimeout bounds the RTMP handshake. Zero means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that sends nothing for this long.
	// Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// PublishTimeout closes a connection that has not started publishing
	// this long after it was accepted, however busy it keeps: without a
	// valid stream key nobody holds a connection for longer. Zero means
	// DefaultPublishTimeout.
	PublishTimeout time.Duration
	// RecheckInterval is how often each publisher's stream key is looked up
	// again, so that a key replaced or a fundraiser ended elsewhere (on
	// another node sharing the ledger) cuts the publisher off within it.
	// A failed lookup (ledger unreachable) cuts nobody off. Zero means
	// DefaultRecheckInterval; negative, never.
	RecheckInterval time.Duration
	// MaxConnections bounds open RTMP connections; more are closed at
	// once. Zero means DefaultMaxConnections.
	MaxConnections int
	// MaxWaitingPerAddress bounds the connections one client address (an
	// IPv6 address counts by its /64) may hold open before they publish
	// with a valid key, so one stranger cannot take every connection slot
	// and keep broadcasters off the air. Publishing connections do not
	// count: a studio behind one address may run many streams. Zero means
	// DefaultMaxWaitingPerAddress.
	MaxWaitingPerAddress int
	// MaxPublishers bounds streams published at once on this node; more are
	// refused with NetStream.Publish.Rejected. Zero means
	// DefaultMaxPublishers.
	MaxPublishers int
	// MaxUnauthorizedBytes bounds what a connection may send before its
	// publish is authorised (the handshake and a few commands take about
	// 5 KiB): a stranger cannot make the server hold more. After it, one
	// message is bounded by gortmplib (10 MiB). Zero means
	// DefaultMaxUnauthorizedBytes.
	MaxUnauthorizedBytes int
	// BadKeyBurst and BadKeyEvery limit unknown stream keys per client
	// address: a burst, then one more every BadKeyEvery. Beyond, each
	// publish from that address is answered BadKeyDelay later, so guessing
	// is slow; its key is still looked up, so the right key from the same
	// address (a broadcaster behind the guesser's NAT) still goes live.
	// Zero means the defaults.
	BadKeyBurst int
	BadKeyEvery time.Duration
	BadKeyDelay time.Duration
	// Logger receives connection logs. Nil discards them. Stream keys are
	// never logged.
	Logger *slog.Logger
	// Registerer receives the ingest metrics. Nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Server accepts RTMP publishers and feeds their streams to HLS. It is safe
// for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	badKeys *ipLimiter

	// events is held across each Events call together with the publisher
	// change it reports (goLive, endPublish), so Events hears a
	// fundraiser's live and offline in the order the publishers changed:
	// a replaced publisher's late "live" or a dropped one's late "offline"
	// cannot overtake its successor's. Lock order: events, then mu.
	events sync.Mutex

	mu         sync.Mutex
	closed     bool
	listeners  map[net.Listener]struct{}
	sessions   map[*session]struct{}
	waiting    map[netip.Addr]int     // connections per address not publishing yet
	publishers map[string]publisher   // by fundraiser id: RTMP sessions and WHIP sessions
	announced  map[string]bool        // fundraisers Events heard "live" for
	pending    []func(id string) bool // Stop's look at publishers not yet claiming (WHIP offers not connected)
	wg         sync.WaitGroup

	recheck  sync.Once     // starts the recheck loop with the first Serve
	stopLoop chan struct{} // closed by Close
}

// New checks cfg and builds a Server. It starts nothing: call Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Keys == nil {
		return nil, errors.New("ingest: Config.Keys is nil")
	}
	if cfg.HLS == nil {
		return nil, errors.New("ingest: Config.HLS is nil")
	}
	setDefault(&cfg.App, DefaultApp)
	setDefault(&cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&cfg.IdleTimeout, DefaultIdleTimeout)
	setDefault(&cfg.PublishTimeout, DefaultPublishTimeout)
	setDefault(&cfg.RecheckInterval, DefaultRecheckInterval)
	setDefault(&cfg.MaxConnections, DefaultMaxConnections)
	setDefault(&cfg.MaxWaitingPerAddress, DefaultMaxWaitingPerAddress)
	setDefault(&cfg.MaxPublishers, DefaultMaxPublishers)
	setDefault(&cfg.MaxUnauthorizedBytes, DefaultMaxUnauthorizedBytes)
	setDefault(&cfg.BadKeyBurst, DefaultBadKeyBurst)
	setDefault(&cfg.BadKeyEvery, DefaultBadKeyEvery)
	setDefault(&cfg.BadKeyDelay, DefaultBadKeyDelay)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		metrics:    m,
		badKeys:    newIPLimiter(cfg.BadKeyBurst, cfg.BadKeyEvery, cfg.BadKeyDelay, cfg.Now),
		listeners:  map[net.Listener]struct{}{},
		sessions:   map[*session]struct{}{},
		waiting:    map[netip.Addr]int{},
		publishers: map[string]publisher{},
		announced:  map[string]bool{},
		stopLoop:   make(chan struct{}),
	}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Serve accepts RTMP connections on ln until Close, and then returns
// ErrServerClosed. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	if s.cfg.RecheckInterval > 0 {
		s.recheck.Do(func() { s.wg.Go(s.recheckKeys) })
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) {
				// Out of file descriptors or memory, say: wait a little and
				// retry, rather than spin or stop taking publishers for good.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("rtmp accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("ingest: failed to accept: %w", err)
		}
		backoff = 0
		s.accept(conn)
	}
}

// accept starts a session for conn, or closes it when the server is full
// or closed.
func (s *Server) accept(conn net.Conn) {
	s.mu.Lock()
	if s.closed || len(s.sessions) >= s.cfg.MaxConnections {
		full := !s.closed
		s.mu.Unlock()
		if full {
			s.metrics.refused("connections")
			s.log.Warn("rtmp connection refused: too many connections", "remote", conn.RemoteAddr().String(), "max", s.cfg.MaxConnections)
		}
		conn.Close()
		return
	}
	ss := newSession(s, conn)
	if s.waiting[ss.addr] >= s.cfg.MaxWaitingPerAddress {
		s.mu.Unlock()
		s.metrics.refused("address")
		s.log.Warn("rtmp connection refused: too many connections from one address that are not publishing",
			"remote", conn.RemoteAddr().String(), "max", s.cfg.MaxWaitingPerAddress)
		conn.Close()
		return
	}
	s.waiting[ss.addr]++
	ss.waiting = true
	s.sessions[ss] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.metrics.connections.Inc()
	go func() {
		defer s.wg.Done()
		defer s.metrics.connections.Dec()
		ss.run()
		s.mu.Lock()
		delete(s.sessions, ss)
		s.stopWaitingLocked(ss)
		s.mu.Unlock()
	}()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, ends every connection (each publish ends as if the
// publisher had stopped: its stream is played out to EXT-X-ENDLIST and
// Events hears offline) and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.stopLoop)
	}
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for ss := range s.sessions {
		ss.kick("server shutting down")
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// recheckKeys looks up every publisher's stream key again each
// RecheckInterval, and cuts off those whose key no longer publishes their
// fundraiser: replaced, or the fundraiser ended, on any node.
func (s *Server) recheckKeys() {
	t := time.NewTicker(s.cfg.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopLoop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		pubs := make([]publisher, 0, len(s.publishers))
		for _, ss := range s.publishers {
			pubs = append(pubs, ss)
		}
		s.mu.Unlock()
		for _, p := range pubs {
			key, fundraiser := p.credentials()
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			id, err := s.cfg.Keys.PublishKey(ctx, key)
			cancel()
			revoked := errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrNotAllowed) || err == nil && id != fundraiser
			// A publisher cut off at one recheck may still be listed at the
			// next, while its session winds down: count it once.
			if revoked && p.kick("stream key revoked") {
				s.metrics.revoked.Inc()
				s.log.Info("publisher cut off: its stream key no longer publishes this fundraiser (replaced, or the fundraiser ended)", "fundraiser", fundraiser)
			}
		}
	}
}

// Stop ends the publish of fundraiserID, if any (the fundraiser ended).
// It reports whether there was one.
func (s *Server) Stop(fundraiserID string) bool {
	s.mu.Lock()
	ss, ok := s.publishers[fundraiserID]
	if ok {
		ss.kick("fundraiser stopped")
	}
	pending := s.pending
	s.mu.Unlock()
	// A publisher that has not claimed the fundraiser yet (a WHIP offer
	// answered but not connected) would otherwise go live after Stop.
	for _, stop := range pending {
		if stop(fundraiserID) {
			ok = true
		}
	}
	return ok
}

// onStop adds a look at publishers that have not claimed their
// fundraiser yet to Stop.
func (s *Server) onStop(f func(id string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, f)
}

// Health returns the figures of fundraiserID's publish on this node, and
// false when it has none (or its tracks are not known yet).
func (s *Server) Health(fundraiserID string) (Health, bool) {
	s.mu.Lock()
	p, ok := s.publishers[fundraiserID]
	s.mu.Unlock()
	if !ok || p.healthOf() == nil {
		return Health{}, false
	}
	return p.healthOf().snapshot(s.cfg.Now()), true
}

// Publishing reports whether fundraiserID has a publisher on this node.
func (s *Server) Publishing(fundraiserID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.publishers[fundraiserID]
	return ok
}

// claim makes ss the publisher of id. The newest publisher wins: a
// previous one (most often the same encoder whose old connection has not
// timed out yet after a network change) is closed. It fails when the node
// already has MaxPublishers other streams.
func (s *Server) claim(id string, p publisher) (replaced bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.publishers[id]
	if !ok && len(s.publishers) >= s.cfg.MaxPublishers {
		return false, errTooManyPublishers
	}
	if ss, isRTMP := p.(*session); isRTMP {
		s.stopWaitingLocked(ss)
	}
	s.publishers[id] = p
	s.metrics.publishers.Set(float64(len(s.publishers)))
	if ok {
		old.kick("replaced by a new publisher")
	}
	return ok, nil
}

// release forgets ss as id's publisher. It reports whether ss still was
// (and so whether its end is the stream's end), and whether Events was told
// the stream is live (and so must hear it is offline).
func (s *Server) release(id string, p publisher) (ended, wasLive bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publishers[id] != p {
		return false, false
	}
	delete(s.publishers, id)
	s.metrics.publishers.Set(float64(len(s.publishers)))
	wasLive = s.announced[id]
	delete(s.announced, id)
	return true, wasLive
}

// goLive tells Events that id is live, if ss is still its publisher (a
// replaced one stays quiet), and records it so its end reports offline.
func (s *Server) goLive(id string, p publisher) {
	ev := s.cfg.Events
	if ev == nil {
		return
	}
	s.events.Lock()
	defer s.events.Unlock()
	s.mu.Lock()
	current := s.publishers[id] == p
	if current {
		s.announced[id] = true
	}
	s.mu.Unlock()
	if !current {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ev.StreamLive(ctx, id)
}

// current runs fn while ss is id's publisher, under the server's lock, so
// a replaced publisher never begins its stream after its successor.
func (s *Server) current(id string, p publisher, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publishers[id] == p {
		fn()
	}
}

// roomFor reports whether a new publisher of id would be taken now: id is
// on air already (a takeover), or the node is under MaxPublishers.
func (s *Server) roomFor(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.publishers[id]
	return ok || len(s.publishers) < s.cfg.MaxPublishers
}

var errTooManyPublishers = errors.New("too many publishers")

// publisher is what the server holds for a fundraiser's publish: an RTMP
// session or a WHIP session. One at a time per fundraiser; the newest wins.
type publisher interface {
	// kick ends the publish from another goroutine, once, and reports
	// whether this call did.
	kick(why string) bool
	// credentials are the stream key it published with (secret, never
	// logged) and its fundraiser.
	credentials() (key, fundraiser string)
	// healthOf returns its figures, or nil.
	healthOf() *health
}

func (ss *session) credentials() (string, string) { return ss.key, ss.fundraiser }
func (ss *session) healthOf() *health             { return ss.health }

// stopWaitingLocked stops counting ss among its address's connections
// that are not publishing. s.mu is held.
func (s *Server) stopWaitingLocked(ss *session) {
	if !ss.waiting {
		return
	}
	ss.waiting = false
	if s.waiting[ss.addr]--; s.waiting[ss.addr] <= 0 {
		delete(s.waiting, ss.addr)
	}
}
