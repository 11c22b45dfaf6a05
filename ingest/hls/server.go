package hls

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the zero values of Config.
const (
	DefaultSegmentCount     = 7
	DefaultSegmentDuration  = time.Second
	DefaultPartDuration     = 200 * time.Millisecond
	DefaultFirstSegmentWait = 8 * time.Second
	DefaultBlockingWait     = 10 * time.Second
	DefaultLinger           = 2 * time.Minute
	DefaultMaxSegmentBytes  = 32 << 20
	DefaultCacheBytes       = 16 << 20
)

// Config configures NewServer. The zero value of every field means the
// default its comment names.
type Config struct {
	// SegmentCount is how many segments a media playlist lists; 0 means 7,
	// the least Low-Latency HLS allows.
	SegmentCount int

	// SegmentDuration is the least duration of a segment: a segment is cut
	// at the first keyframe after it. 0 means 1s, so an encoder's 2 s
	// keyframe interval makes 2 s segments. Latency does not depend on it
	// (parts do not wait for keyframes).
	SegmentDuration time.Duration

	// PartDuration is the least duration of a partial segment; 0 means
	// 200ms. The muxer rounds it up to a whole number of video frames.
	// Shorter parts lower the delay and raise the number of requests.
	PartDuration time.Duration

	// FirstSegmentWait is how long a playlist request for a stream that
	// has begun but has no segment yet waits for one before it is answered
	// 503 with Retry-After; 0 means 8s (below hls.js's 10 s manifest
	// timeout, so the player sees our answer, not its own timeout).
	FirstSegmentWait time.Duration

	// BlockingWait bounds a blocking playlist reload (_HLS_msn) or a
	// preload hint request: past it the answer is 503 with Retry-After.
	// 0 means 10s; a live stream answers within a part.
	BlockingWait time.Duration

	// Linger is how long an ended stream stays served after End, so
	// players reach EXT-X-ENDLIST and play out what they buffered; 0 means
	// 2m.
	Linger time.Duration

	// MaxSegmentBytes bounds one segment (the muxer refuses frames past
	// it, so an encoder that never sends a keyframe cannot exhaust memory);
	// 0 means 32 MiB.
	MaxSegmentBytes int

	// CacheBytes bounds, per stream, the finished segments and parts kept
	// ready to serve without asking the muxer again; 0 means 16 MiB.
	CacheBytes int

	// Now is the clock for Linger; nil means time.Now.
	Now func() time.Time

	// Recorder, if set, records every stream begun: it gets each frame the
	// muxer took, and the end. nil records nothing.
	Recorder Recorder

	// Registerer receives the givelive_hls_* metrics; nil registers none.
	Registerer prometheus.Registerer

	// Logger receives stream lifecycle events; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.SegmentCount < 0 || (c.SegmentCount > 0 && c.SegmentCount < DefaultSegmentCount):
		return c, fmt.Errorf("hls: SegmentCount %d is below %d, the least Low-Latency HLS allows", c.SegmentCount, DefaultSegmentCount)
	case c.SegmentDuration < 0, c.PartDuration < 0, c.FirstSegmentWait < 0, c.BlockingWait < 0, c.Linger < 0:
		return c, errors.New("hls: durations must not be negative")
	case c.MaxSegmentBytes < 0, c.CacheBytes < 0:
		return c, errors.New("hls: byte bounds must not be negative")
	}
	setDefault(&c.SegmentCount, DefaultSegmentCount)
	setDefault(&c.SegmentDuration, DefaultSegmentDuration)
	setDefault(&c.PartDuration, DefaultPartDuration)
	setDefault(&c.FirstSegmentWait, DefaultFirstSegmentWait)
	setDefault(&c.BlockingWait, DefaultBlockingWait)
	setDefault(&c.Linger, DefaultLinger)
	setDefault(&c.MaxSegmentBytes, DefaultMaxSegmentBytes)
	setDefault(&c.CacheBytes, DefaultCacheBytes)
	if c.PartDuration > c.SegmentDuration {
		return c, fmt.Errorf("hls: PartDuration %s is longer than SegmentDuration %s", c.PartDuration, c.SegmentDuration)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Server holds the streams of this node and serves them over HTTP. All its
// methods are safe for concurrent use. Close ends it.
type Server struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	// windows is copied on write (Begin and the sweeper, both rare) so
	// that the many requests per second read it with one atomic load.
	mu      sync.Mutex // serializes writers of windows
	windows atomic.Pointer[map[string]*window]

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	// waitHook, set only by tests, hears when a playlist request starts
	// waiting for a stream's first segment ("start") and how the wait
	// ended, so tests can order events without sleeping.
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

// Close stops the sweeper, closes every live stream's muxer (requests
// waiting on one are answered 503) and waits. Close is for process
// shutdown, after the publishers ended; it is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
	s.mu.Lock()
	ws := *s.windows.Load()
	s.mu.Unlock()
	for _, w := range ws {
		if st := w.state.Load().live; st != nil {
			st.closeMuxer()
		}
	}
}

// Begin starts a stream for id with tracks and returns the Stream its
// publisher writes to. A stream of id that is still live (a publisher that
// reconnected before its old connection dropped) is superseded: its muxer
// closes, its writes and End are ignored from then on, and players asking
// it are answered from the new one. An ended stream still lingering is
// replaced.
func (s *Server) Begin(id string, tracks Tracks) (*Stream, error) {
	if !validID(id) {
		// It can never be requested; begin it anyway so the publisher works.
		s.log.Warn("hls stream id cannot be served: it must match [A-Za-z0-9_-]{1,64}", "fundraiser", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := (*s.windows.Load())[id]
	if w == nil {
		w = newWindow(s, id)
		s.storeLocked(func(m map[string]*window) { m[id] = w })
		s.m.streams.Add(1)
	}
	st, err := newStream(s, w, tracks)
	if err != nil {
		if w.state.Load().empty() {
			s.forgetLocked([]string{id}, []*window{w})
		}
		return nil, err
	}
	w.begin(st)
	s.log.Info("hls stream begun", "fundraiser", id, "tracks", tracks.String())
	return st, nil
}

// Live reports whether id has a stream that has begun and not ended.
func (s *Server) Live(id string) bool {
	w := s.window(id)
	return w != nil && w.state.Load().live != nil
}

// window returns id's window unless it is absent or has lingered past
// Linger (the sweeper may not have forgotten it yet).
func (s *Server) window(id string) *window {
	w := (*s.windows.Load())[id]
	if w == nil {
		return nil
	}
	// Only an ended stream can have lingered: the clock is read only then.
	if ws := w.state.Load(); ws.live == nil && ws.lingeredPast(s.cfg.Now(), s.cfg.Linger) {
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

// sweep forgets the streams that ended more than Linger ago, freeing them.
func (s *Server) sweep() {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	var ws []*window
	for id, w := range *s.windows.Load() {
		if st := w.state.Load(); st.live == nil && st.lingeredPast(now, s.cfg.Linger) {
			ids = append(ids, id)
			ws = append(ws, w)
		}
	}
	if len(ids) > 0 {
		s.forgetLocked(ids, ws)
	}
}

// forgetLocked removes the windows ws of ids.
func (s *Server) forgetLocked(ids []string, ws []*window) {
	s.storeLocked(func(m map[string]*window) {
		for _, id := range ids {
			delete(m, id)
		}
	})
	for i, w := range ws {
		s.m.streams.Add(-1)
		w.forget()
		s.log.Info("hls stream forgotten", "fundraiser", ids[i])
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

// window is one fundraiser's place in the URL space: its live Stream, or
// the frozen last window of its ended one. Requests load state without a
// lock; transitions are serialized by mu.
type window struct {
	srv   *Server
	id    string
	state atomic.Pointer[windowState]
	mu    sync.Mutex
}

// windowState is a window as requests see it, replaced whole on change.
type windowState struct {
	live    *Stream // the current publish, nil once it ended
	ended   *frozen // what an ended stream serves; nil while live, or if it ended empty
	endedAt time.Time
	changed chan struct{} // closed when a newer state replaces this one
}

func (ws *windowState) empty() bool { return ws.live == nil && ws.ended == nil }

// lingeredPast reports whether the stream ended at least linger before now.
func (ws *windowState) lingeredPast(now time.Time, linger time.Duration) bool {
	return ws.live == nil && !now.Before(ws.endedAt.Add(linger))
}

func newWindow(s *Server, id string) *window {
	w := &window{srv: s, id: id}
	w.state.Store(&windowState{changed: make(chan struct{})})
	return w
}

func (w *window) swap(next *windowState) {
	next.changed = make(chan struct{})
	old := w.state.Swap(next)
	close(old.changed)
}

// begin makes st the live stream, superseding the previous one.
func (w *window) begin(st *Stream) {
	w.mu.Lock()
	old := w.state.Load().live
	w.swap(&windowState{live: st})
	w.mu.Unlock()
	if old != nil {
		w.srv.m.superseded.Inc()
		w.srv.log.Info("hls stream superseded by a new publish", "fundraiser", w.id)
		old.closeMuxer()
	}
}

// end replaces st, if it is still the live stream, with what it froze. It
// reports whether st was live.
func (w *window) end(st *Stream, fz *frozen) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.Load().live != st {
		return false
	}
	w.swap(&windowState{ended: fz, endedAt: w.srv.cfg.Now()})
	return true
}

// forget drops what the window holds; a request that loaded it just before
// sees an ended, empty stream.
func (w *window) forget() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st := w.state.Load().live; st != nil {
		st.closeMuxer()
	}
	w.swap(&windowState{endedAt: time.Time{}})
}
