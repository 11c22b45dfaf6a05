package loadtest

import (
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms record microseconds from 1 µs to one minute with three
// significant digits; larger values are recorded as one minute.
const (
	histMinMicros = 1
	histMaxMicros = int64(time.Minute / time.Microsecond)
	histDigits    = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, histDigits)
}

func recordMicros(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64((d + time.Microsecond/2) / time.Microsecond)
	_ = h.RecordValue(min(max(us, histMinMicros), histMaxMicros))
}

// window is the steady-state window in Unix nanoseconds. Viewers read it on
// every frame, so it is two atomics rather than a lock. start 0: not open
// yet; end 0: still open.
type window struct {
	start, end atomic.Int64
}

// sentIn reports whether a message sent at unix ns belongs to the window's
// latency sample: sent after it opened and before it closed.
func (w *window) sentIn(sent int64) bool {
	s := w.start.Load()
	if s == 0 || sent < s {
		return false
	}
	e := w.end.Load()
	return e == 0 || sent < e
}

// receivedIn reports whether something received at unix ns counts toward
// the window's rates.
func (w *window) receivedIn(now int64) bool { return w.sentIn(now) }

// stats is one shard of the viewers' counters. A viewer takes its shard's
// lock once per frame; the runner takes it to read. Sharding keeps viewers
// on different threads from contending on one lock.
type stats struct {
	mu sync.Mutex

	all      *hdrhistogram.Histogram // latency of every load-test chat since the chat phase began
	interval *hdrhistogram.Histogram // the same since the last timeline point
	steady   *hdrhistogram.Histogram // latency of chats sent inside the window

	donations *hdrhistogram.Histogram // POST-to-receipt latency of load-test donations
	stickers  *hdrhistogram.Histogram // server-publish-to-receipt latency of stickers

	stickerDeliveries int64 // sticker events received by viewers

	donationDeliveries int64 // load-test donations received by viewers (first copies only)
	deliveries         int64 // load-test chats received by viewers (first copies only)
	windowDeliveries   int64 // of which received inside the window
	lost               int64 // recoverable events skipped (offset gaps)
	duplicated         int64 // recoverable events received again
	foreign            int64 // chats not sent by this run
	volatile           int64 // volatile events (viewer counts, stickers)
	frames             int64 // frames read by joined viewers

	errors map[string]int64 // by kind
	closes map[int]int64    // close codes the server sent, by code
}

func newStats() *stats {
	return &stats{
		all:       newHistogram(),
		steady:    newHistogram(),
		interval:  newHistogram(),
		donations: newHistogram(),
		stickers:  newHistogram(),
		errors:    make(map[string]int64),
		closes:    make(map[int]int64),
	}
}

// statShards returns a few shards: enough that viewers on different
// threads rarely share one, few enough that merging them each second is
// cheap.
func statShards() []*stats {
	n := min(max(4*runtime.GOMAXPROCS(0), 4), 64)
	s := make([]*stats, n)
	for i := range s {
		s[i] = newStats()
	}
	return s
}

// totals is the sum of the shards at one moment.
type totals struct {
	deliveries, windowDeliveries, lost, duplicated, foreign, volatile, frames int64
	errors                                                                    map[string]int64
	closes                                                                    map[int]int64
}

// sumDonations adds the shards' donation deliveries and merges their
// latencies.
func sumDonations(shards []*stats) (int64, *hdrhistogram.Histogram) {
	h := newHistogram()
	var n int64
	for _, s := range shards {
		s.mu.Lock()
		n += s.donationDeliveries
		h.Merge(s.donations)
		s.mu.Unlock()
	}
	return n, h
}

// takeInterval merges the shards' latencies since the last call into h
// and starts the next interval.
func takeInterval(shards []*stats, h *hdrhistogram.Histogram) {
	for _, s := range shards {
		s.mu.Lock()
		h.Merge(s.interval)
		s.interval.Reset()
		s.mu.Unlock()
	}
}

// sumStickers adds the shards' sticker deliveries and merges their
// latencies.
func sumStickers(shards []*stats) (int64, *hdrhistogram.Histogram) {
	h := newHistogram()
	var n int64
	for _, s := range shards {
		s.mu.Lock()
		n += s.stickerDeliveries
		h.Merge(s.stickers)
		s.mu.Unlock()
	}
	return n, h
}

// sum adds the shards' counters; with hists, it also merges their latency
// histograms into all and steady (either may be nil).
func sum(shards []*stats, all, steady *hdrhistogram.Histogram) totals {
	t := totals{errors: make(map[string]int64), closes: make(map[int]int64)}
	for _, s := range shards {
		s.mu.Lock()
		t.deliveries += s.deliveries
		t.windowDeliveries += s.windowDeliveries
		t.lost += s.lost
		t.duplicated += s.duplicated
		t.foreign += s.foreign
		t.volatile += s.volatile
		t.frames += s.frames
		addCounts(t.errors, s.errors)
		addCounts(t.closes, s.closes)
		if all != nil {
			all.Merge(s.all)
		}
		if steady != nil {
			steady.Merge(s.steady)
		}
		s.mu.Unlock()
	}
	return t
}

func addCounts[K comparable](dst, src map[K]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

// errorCounts is a lock-guarded counter by kind, for the rarer events of
// the runner and the chatters.
type errorCounts struct {
	mu sync.Mutex
	m  map[string]int64
}

func (e *errorCounts) add(kind string) { e.addN(kind, 1) }

func (e *errorCounts) addN(kind string, n int64) {
	e.mu.Lock()
	if e.m == nil {
		e.m = make(map[string]int64)
	}
	e.m[kind] += n
	e.mu.Unlock()
}

func (e *errorCounts) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.m)
}
