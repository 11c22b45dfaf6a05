package hls

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures NewServer. The zero value of every field means the
// default its comment names.
type Config struct {
	// WindowSize is how many segments the playlist lists; 0 means 6. At
	// least 3, so a playlist is never shorter than the three target
	// durations RFC 8216 6.2.2 asks for. Segments that slid out stay
	// fetchable a little longer (see Stream), so up to about twice as many
	// are held.
	WindowSize int

	// TargetDuration is the duration segments are cut at; 0 means 2s.
	// EXT-X-TARGETDURATION starts at its ceiling in whole seconds and is
	// raised, for the rest of the stream's life, by a segment whose rounded
	// duration exceeds it (see Stream.Append for why).
	TargetDuration time.Duration

	// FirstSegmentWait is how long a playlist request for a stream that
	// has begun but has no segment yet waits for one before it is answered
	// 503 with Retry-After; 0 means 8s (below hls.js's 10s manifest load
	// timeout, so the player sees our answer, not its own timeout).
	FirstSegmentWait time.Duration

	// Linger is how long an ended stream's window stays served after End,
	// so players polling the playlist reach EXT-X-ENDLIST; 0 means 2m.
	Linger time.Duration

	// MaxStreamBytes bounds the segment bytes held per stream; beyond it
	// the oldest segments are dropped, though the newest is always kept.
	// 0 means 64 MiB.
	MaxStreamBytes int

	// Now is the clock for Linger; nil means time.Now.
	Now func() time.Time

	// Registerer receives the givelive_hls_* metrics; nil registers none.
	Registerer prometheus.Registerer

	// Logger receives stream lifecycle events; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.WindowSize < 0 || (c.WindowSize > 0 && c.WindowSize < 3):
		return c, fmt.Errorf("hls: WindowSize %d is below 3", c.WindowSize)
	case c.TargetDuration < 0, c.FirstSegmentWait < 0, c.Linger < 0:
		return c, errors.New("hls: durations must not be negative")
	case c.MaxStreamBytes < 0:
		return c, errors.New("hls: MaxStreamBytes must not be negative")
	}
	if c.WindowSize == 0 {
		c.WindowSize = 6
	}
	if c.TargetDuration == 0 {
		c.TargetDuration = 2 * time.Second
	}
	if c.FirstSegmentWait == 0 {
		c.FirstSegmentWait = 8 * time.Second
	}
	if c.Linger == 0 {
		c.Linger = 2 * time.Minute
	}
	if c.MaxStreamBytes == 0 {
		c.MaxStreamBytes = 64 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Server holds the live windows of this node and serves them over HTTP.
// All its methods are safe for concurrent use. Close stops its sweeper.
type Server struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	// windows is copied on write (Begin and the sweeper, both rare) so
	// that the many requests per second read it with one atomic load
	// rather than contending on a lock's reader count.
	mu      sync.Mutex // serializes writers of windows
	windows atomic.Pointer[map[string]*window]

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	// waitHook, set only by tests, hears when a playlist request starts
	// waiting for a first segment ("start") and how the wait ended, so
	// tests can order events without sleeping.
	waitHook func(event string)
}

// NewServer builds a Server and starts its sweeper, which forgets ended
// streams once they have lingered.
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:  cfg,
		log:  cfg.Logger,
		m:    newMetrics(),
		done: make(chan struct{}),
	}
	s.windows.Store(&map[string]*window{})
	if cfg.Registerer != nil {
		if err := s.m.register(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("failed to register hls metrics: %w", err)
		}
	}
	s.wg.Add(1)
	go s.sweepLoop(sweepInterval(cfg.Linger))
	return s, nil
}

// Close stops the sweeper and waits for it, and releases playlist requests
// waiting for a first segment (they are answered 503). Streams stay served;
// Close is for process shutdown, after the HTTP server stopped taking
// requests. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// Begin starts the stream for id, or restarts it after a publisher
// reconnect, and returns the Stream the new publisher appends to. A restart
// keeps the window and media sequence, clears EXT-X-ENDLIST, and puts
// EXT-X-DISCONTINUITY before the next segment appended. The Stream of an
// earlier publish of id is superseded: its Appends and End are ignored, so
// a replaced publisher that is slow to notice cannot end its successor's
// stream.
func (s *Server) Begin(id string) *Stream {
	if !validID(id) {
		// It can never be requested; begin it anyway so the publisher works.
		s.log.Warn("hls stream id cannot be served: it must match [A-Za-z0-9_-]{1,64}", "fundraiser", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := (*s.windows.Load())[id]
	if w != nil && w.expired(s.cfg.Now(), s.cfg.Linger) {
		s.forgetLocked([]string{id}, []*window{w})
		w = nil
	}
	if w == nil {
		w = newWindow(s, id, newGeneration())
		s.storeLocked(func(m map[string]*window) { m[id] = w })
		s.m.streams.Add(1)
		s.log.Info("hls stream begun", "fundraiser", id, "generation", w.gen)
	}
	return w.begin()
}

// Lookup returns the current Stream of id: the one the latest Begin
// returned, while the stream is live or lingering after its End.
func (s *Server) Lookup(id string) (*Stream, bool) {
	w := s.window(id)
	if w == nil {
		return nil, false
	}
	return w.current(), true
}

// Live reports whether id has a stream that has begun and not ended.
func (s *Server) Live(id string) bool {
	w := s.window(id)
	return w != nil && !w.snap.Load().ended
}

// window returns id's window unless it is absent or has lingered past
// Linger (the sweeper may not have forgotten it yet).
func (s *Server) window(id string) *window {
	w := (*s.windows.Load())[id]
	if w == nil {
		return nil
	}
	// Only an ended stream can have lingered: the clock is read only then.
	if snap := w.snap.Load(); snap.ended && snap.lingeredPast(s.cfg.Now(), s.cfg.Linger) {
		return nil
	}
	return w
}

func (s *Server) sweepLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.sweep()
		case <-s.done:
			return
		}
	}
}

// sweep forgets the streams that ended more than Linger ago, freeing their
// segments.
func (s *Server) sweep() {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	var ws []*window
	for id, w := range *s.windows.Load() {
		if w.expired(now, s.cfg.Linger) {
			ids = append(ids, id)
			ws = append(ws, w)
		}
	}
	if len(ids) > 0 {
		s.forgetLocked(ids, ws)
	}
}

// forgetLocked removes the windows ws of ids and frees their segments.
func (s *Server) forgetLocked(ids []string, ws []*window) {
	s.storeLocked(func(m map[string]*window) {
		for _, id := range ids {
			delete(m, id)
		}
	})
	for i, w := range ws {
		s.m.streams.Add(-1)
		w.forget()
		s.log.Info("hls stream forgotten", "fundraiser", ids[i], "generation", w.gen)
	}
}

// storeLocked publishes a modified copy of the windows map.
func (s *Server) storeLocked(modify func(map[string]*window)) {
	m := maps.Clone(*s.windows.Load())
	modify(m)
	s.windows.Store(&m)
}

// sweepInterval is how often the sweeper looks: a quarter of Linger, so a
// stream is forgotten at most 25% late, within [1s, 1m].
func sweepInterval(linger time.Duration) time.Duration {
	return min(max(linger/4, time.Second), time.Minute)
}

// newGeneration names a new window: it prefixes its segment names, so a
// segment URL is never reused by a later stream of the same fundraiser or
// after a restart of the server, and segments may be cached as immutable.
func newGeneration() string {
	return fmt.Sprintf("%016x", rand.Uint64())
}
