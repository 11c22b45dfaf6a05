package record

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/ingest/hls"
)

// Defaults for the zero values of Config.
const (
	DefaultSegmentDuration   = 2 * time.Second
	DefaultQueueFrames       = 1024
	DefaultQueueBytes        = 32 << 20
	DefaultMaxSegmentBytes   = 64 << 20
	DefaultMaxBroadcastBytes = 64 << 30
)

// Config configures New. The zero value of every field but Dir means the
// default its comment names.
type Config struct {
	// Dir holds the recordings, one directory per fundraiser. Required.
	Dir string

	// Retention is how long a broadcast is kept after it ended; older ones
	// are deleted by the sweeper. 0 keeps them forever.
	Retention time.Duration

	// SweepEvery is how often the sweeper looks; 0 means Retention/10
	// within [1m, 1h].
	SweepEvery time.Duration

	// SegmentDuration is the least duration of a media segment: a segment
	// is cut at the first keyframe after it (audio alone: after it). 0
	// means 2s.
	SegmentDuration time.Duration

	// QueueFrames and QueueBytes bound the frames waiting for a
	// broadcast's writer; 0 means 1024 frames and 32 MiB. A publisher that
	// would pass either stops that recording (counted as queue_full)
	// instead of waiting.
	QueueFrames int
	QueueBytes  int

	// MaxSegmentBytes bounds one media segment and MaxBroadcastBytes one
	// broadcast; past either the recording stops (too_large). 0 means
	// 64 MiB and 64 GiB.
	MaxSegmentBytes   int
	MaxBroadcastBytes int64

	// OnChange, if set, is told the fundraiser id when one of its
	// broadcasts starts being written and when it ends, from the writer's
	// goroutine (it must not block long).
	OnChange func(id string)

	// Create opens a file for writing; nil means os.Create. Tests use it
	// to make a disk full.
	Create func(name string) (io.WriteCloser, error)

	// Now is the clock of the sweeper and of segment names; nil means
	// time.Now.
	Now func() time.Time

	// Registerer receives the givelive_recording_* metrics; nil registers
	// none.
	Registerer prometheus.Registerer

	// Logger receives one line per broadcast started, ended, stopped or
	// deleted; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("record: Dir is required")
	}
	if c.Retention < 0 || c.SweepEvery < 0 || c.SegmentDuration < 0 || c.QueueFrames < 0 ||
		c.QueueBytes < 0 || c.MaxSegmentBytes < 0 || c.MaxBroadcastBytes < 0 {
		return c, errors.New("record: negative bounds")
	}
	if c.SegmentDuration == 0 {
		c.SegmentDuration = DefaultSegmentDuration
	}
	if c.QueueFrames == 0 {
		c.QueueFrames = DefaultQueueFrames
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.MaxSegmentBytes == 0 {
		c.MaxSegmentBytes = DefaultMaxSegmentBytes
	}
	if c.MaxBroadcastBytes == 0 {
		c.MaxBroadcastBytes = DefaultMaxBroadcastBytes
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = min(max(c.Retention/10, time.Minute), time.Hour)
	}
	if c.Create == nil {
		c.Create = func(name string) (io.WriteCloser, error) { return os.Create(name) }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Recorder records the streams of one node and serves their replays. It is
// safe for concurrent use; Close stops it.
type Recorder struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	active  map[string]map[*recording]struct{} // by fundraiser id
	writing map[string]map[string]bool         // broadcasts being written, by fundraiser id
	cache   map[string]summaryEntry
	gen     uint64 // counts the cache's invalidations

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // writers and the sweeper
}

var _ hls.Recorder = (*Recorder)(nil)

// New builds a Recorder, creating Dir, and starts its sweeper when
// Retention is set.
func New(cfg Config) (*Recorder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: failed to create %s: %w", cfg.Dir, err)
	}
	r := &Recorder{
		cfg:     cfg,
		log:     cfg.Logger,
		m:       newMetrics(),
		active:  map[string]map[*recording]struct{}{},
		writing: map[string]map[string]bool{},
		cache:   map[string]summaryEntry{},
		done:    make(chan struct{}),
	}
	if cfg.Registerer != nil {
		if err := r.m.register(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("failed to register recording metrics: %w", err)
		}
	}
	// No writer runs yet: a broadcast left without its end line (the
	// node stopped mid-way, or its end line failed) is ended now, so no
	// node lists it as recording.
	for _, id := range r.seal() {
		r.changed(id)
	}
	if cfg.Retention > 0 {
		r.wg.Add(1)
		go r.sweepLoop()
	}
	return r, nil
}

// Close stops the sweeper and every writer (each finishes its broadcast
// with what it has written) and waits for them. Frames written after Close
// are dropped.
func (r *Recorder) Close() {
	r.closeOnce.Do(func() {
		// Under mu: a Record either added its writer to wg before this, or
		// sees done closed and adds nothing (no Add races the Wait).
		r.mu.Lock()
		close(r.done)
		r.mu.Unlock()
	})
	r.wg.Wait()
}

// Record starts recording a stream of fundraiser id: the hls.Recorder
// hook, called by hls.Server.Begin. It never blocks: the broadcast's
// directory is made by its writer.
func (r *Recorder) Record(id string, tracks hls.Tracks) hls.Recording {
	if !validID(id) {
		return noRecording{}
	}
	rec := newRecording(r, id, tracks)
	r.mu.Lock()
	select {
	case <-r.done:
		r.mu.Unlock()
		return noRecording{}
	default:
	}
	set := r.active[id]
	if set == nil {
		set = map[*recording]struct{}{}
		r.active[id] = set
	}
	set[rec] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	r.m.active.Add(1)
	go rec.run()
	return rec
}

// finished forgets rec once its writer is done (before the last change
// is told, so the change lists its broadcast as ended).
func (r *Recorder) finished(rec *recording) {
	r.mu.Lock()
	if set := r.active[rec.id]; set != nil {
		delete(set, rec)
		if len(set) == 0 {
			delete(r.active, rec.id)
		}
	}
	delete(r.cache, rec.id)
	r.gen++
	r.mu.Unlock()
	r.setWriting(rec.id, "", rec.name())
	r.m.active.Add(-1)
}

// setWriting notes that broadcast name of id is written now (and old no
// longer is); "" is none.
func (r *Recorder) setWriting(id, name, old string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.writing[id]
	if old != "" && set != nil {
		delete(set, old)
	}
	if name != "" {
		if set == nil {
			set = map[string]bool{}
			r.writing[id] = set
		}
		set[name] = true
	}
	if len(set) == 0 {
		delete(r.writing, id)
	}
}

// isWriting reports whether broadcast name of id is being written now.
func (r *Recorder) isWriting(id, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writing[id][name]
}

// changed drops id's cached summary and tells OnChange.
func (r *Recorder) changed(id string) {
	r.mu.Lock()
	delete(r.cache, id)
	r.gen++
	r.mu.Unlock()
	if r.cfg.OnChange != nil {
		r.cfg.OnChange(id)
	}
}

// recording reports whether a writer of id is running now (a recording
// that stopped is not, even while its stream goes on).
func (r *Recorder) recording(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.active[id]) > 0
}

// Summary is what a node knows of one fundraiser's recordings.
type Summary struct {
	// StartedAt is the wall clock of the first recorded frame.
	StartedAt time.Time
	// Duration is the sum of the broadcasts' listed segments.
	Duration time.Duration
	// Broadcasts is how many broadcasts are kept.
	Broadcasts int
	// Recording: a broadcast is being written now.
	Recording bool
}

type summaryEntry struct {
	s       Summary
	ok      bool
	expires time.Time
}

// summaryTTL bounds how stale a cached summary is while a broadcast is
// written (a finished one is dropped from the cache at each change).
const summaryTTL = 5 * time.Second

// Summary returns what this node has recorded of fundraiser id; ok is
// false when it holds nothing.
func (r *Recorder) Summary(id string) (Summary, bool) {
	if !validID(id) {
		return Summary{}, false
	}
	now := r.cfg.Now()
	r.mu.Lock()
	e, hit := r.cache[id]
	gen := r.gen
	r.mu.Unlock()
	if hit && now.Before(e.expires) {
		return e.s, e.ok
	}
	bs := r.broadcasts(id)
	var s Summary
	for i, b := range bs {
		if i == 0 {
			s.StartedAt = b.ix.Start
		}
		s.Duration += b.ix.Duration()
	}
	s.Broadcasts = len(bs)
	s.Recording = r.recording(id)
	ok := len(bs) > 0 || s.Recording
	r.mu.Lock()
	if len(r.cache) >= 10_000 {
		clear(r.cache)
	}
	if r.gen == gen { // nothing changed while it was read
		r.cache[id] = summaryEntry{s: s, ok: ok, expires: now.Add(summaryTTL)}
	}
	r.mu.Unlock()
	return s, ok
}

// broadcast is one kept broadcast of a fundraiser.
type broadcast struct {
	name string
	ix   *index
	live bool // its writer runs now
}

var broadcastName = regexp.MustCompile(`^[0-9]{1,15}$`)

// broadcasts lists id's broadcasts with a readable index and at least one
// segment, oldest first.
func (r *Recorder) broadcasts(id string) []broadcast {
	return r.listBroadcasts(id, false)
}

// listBroadcasts lists id's broadcasts with a readable index, oldest
// first; withEmpty keeps those without a segment yet.
func (r *Recorder) listBroadcasts(id string, withEmpty bool) []broadcast {
	des, err := os.ReadDir(filepath.Join(r.cfg.Dir, id))
	if err != nil {
		return nil
	}
	var out []broadcast
	for _, de := range des {
		if !de.IsDir() || !broadcastName.MatchString(de.Name()) {
			continue
		}
		ix, err := readIndex(filepath.Join(r.cfg.Dir, id, de.Name()))
		if err != nil || (len(ix.Segments) == 0 && !withEmpty) {
			continue
		}
		out = append(out, broadcast{name: de.Name(), ix: ix, live: !ix.Ended && r.isWriting(id, de.Name())})
	}
	sortBroadcasts(out)
	return out
}

// sortBroadcasts orders broadcasts by their names, the Unix milliseconds
// of their starts.
func sortBroadcasts(bs []broadcast) {
	sort.Slice(bs, func(i, j int) bool {
		a, _ := strconv.ParseInt(bs[i].name, 10, 64)
		b, _ := strconv.ParseInt(bs[j].name, 10, 64)
		return a < b
	})
}

func readIndex(dir string) (*index, error) {
	f, err := os.Open(filepath.Join(dir, "index.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIndexBytes+1))
	if err != nil {
		return nil, err
	}
	return parseIndex(b)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func validID(id string) bool { return idPattern.MatchString(id) }

// noRecording is what Record returns after Close.
type noRecording struct{}

func (noRecording) Video(time.Time, int64, [][]byte) {}
func (noRecording) Audio(time.Time, int64, []byte)   {}
func (noRecording) End()                             {}

// BroadcastInfo describes one kept broadcast of a fundraiser.
type BroadcastInfo struct {
	Name      string // its directory, the Unix milliseconds of its first frame
	StartedAt time.Time
	Duration  time.Duration
	Ended     bool // false only while its writer runs on this node
}

// Broadcasts lists what this node keeps of fundraiser id, oldest first,
// a broadcast that has no segment yet included.
func (r *Recorder) Broadcasts(id string) []BroadcastInfo {
	if !validID(id) {
		return nil
	}
	bs := r.listBroadcasts(id, true)
	out := make([]BroadcastInfo, len(bs))
	for i, b := range bs {
		out[i] = BroadcastInfo{Name: b.name, StartedAt: b.ix.Start, Duration: b.ix.Duration(), Ended: !b.live}
	}
	return out
}

// Has reports whether this node keeps broadcast name of fundraiser id.
func (r *Recorder) Has(id, name string) bool {
	if !validID(id) || !broadcastName.MatchString(name) {
		return false
	}
	st, err := os.Stat(filepath.Join(r.cfg.Dir, id, name))
	return err == nil && st.IsDir()
}

// seal ends every broadcast left without its end line (its node stopped
// while it was written, or the end line failed): the end is its last
// segment's. Run before any writer, it returns the fundraisers changed.
func (r *Recorder) seal() []string {
	ids, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return nil
	}
	var changed []string
	for _, de := range ids {
		id := de.Name()
		if !de.IsDir() || !validID(id) {
			continue
		}
		sealed := false
		for _, b := range r.listBroadcasts(id, true) {
			if b.ix.Ended {
				continue
			}
			dir := filepath.Join(r.cfg.Dir, id, b.name)
			if err := writeIndexFile(dir, b.ix); err != nil {
				r.log.Warn("recording: failed to end a broadcast its node left unfinished", "fundraiser", id, "broadcast", b.name, "err", err)
				continue
			}
			sealed = true
		}
		if sealed {
			changed = append(changed, id)
		}
	}
	return changed
}

// writeIndexFile rewrites dir's index whole with an end line (a temporary
// file renamed over it: a crash leaves the old one or the new one).
func writeIndexFile(dir string, ix *index) error {
	var b strings.Builder
	b.WriteString(startLine(ix.Start))
	end := ix.Start
	for _, s := range ix.Segments {
		b.WriteString(segLine(s))
		end = s.Start.Add(s.Duration)
	}
	b.WriteString(endLine(end))
	tmp := filepath.Join(dir, "index.txt.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "index.txt"))
}
