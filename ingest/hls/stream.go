package hls

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stream is one publish of a fundraiser's stream: the handle Begin returns
// to its publisher. Its methods are safe for concurrent use, though one
// publisher goroutine is expected to call them in order: Append, Append,
// ..., End. A Stream superseded by a later Begin for the same id ignores
// its Appends and End (and counts the dropped segments).
//
// What a Stream keeps: the last WindowSize segments are listed in the
// playlist. A segment that slid out stays fetchable for its own duration
// plus the playlist's (RFC 8216 6.2.2), since a player may have read the
// playlist just before it slid out; after that it is dropped and requests
// for it are answered 404. MaxStreamBytes bounds the lot, dropping the
// oldest first but never the newest segment.
//
// EXT-X-TARGETDURATION: RFC 8216 asks both that every segment's rounded
// duration be at most the target duration (4.3.3.1) and that the target
// never change (6.2.1). A publisher whose keyframe interval exceeds the
// configured target makes both impossible: the muxer can only cut at
// keyframes. We start at the configured target, rounded up to a whole
// second, since padding it would add latency to every stream (players hold
// back three target durations), and if a longer segment arrives we raise
// the target for the rest of the stream's life, logging a warning. A target
// that grows is tolerated by players (hls.js and Safari re-read it on every
// reload); a segment longer than the target is not (Safari stalls).
type Stream struct {
	w      *window
	warned atomic.Bool // a superseded Stream warns once
}

// ID returns the fundraiser id the Stream was begun for.
func (st *Stream) ID() string { return st.w.id }

// Append adds a segment at the live edge: it is listed in the playlist
// (after EXT-X-DISCONTINUITY if it is the first since a restart), the
// oldest listed segment slides out if the window is full, and the playlist
// is rendered once for all the requests that follow. A segment without
// data or shorter than half a millisecond is refused, as is any Append
// after End or on a superseded Stream.
func (st *Stream) Append(seg Segment) { st.w.append(st, seg) }

// End marks the stream ended: the playlist gets EXT-X-ENDLIST, playlist
// requests waiting for a first segment are released, and after Linger
// without a new Begin the stream is forgotten and its memory freed. End is
// idempotent.
func (st *Stream) End() { st.w.end(st) }

// window is a fundraiser's sliding window of segments, shared by the
// Streams of its successive publishes. Readers only load snap; everything
// else is guarded by mu and touched by the publishing side.
type window struct {
	srv *Server
	id  string
	gen string // prefixes segment names, unique per window

	snap atomic.Pointer[snapshot]

	mu          sync.Mutex
	cur         *Stream       // the latest publish; others are superseded
	segs        []*segment    // held, oldest first: retired ones, then listed ones
	listed      int           // how many of segs (the newest) the playlist lists
	nextSeq     uint64        // sequence number of the next segment
	discSeq     uint64        // EXT-X-DISCONTINUITY-SEQUENCE
	pendingDisc bool          // the next segment follows a restart
	target      int64         // EXT-X-TARGETDURATION, seconds; never decreases
	clock       time.Duration // media clock: the sum of appended durations
	bytes       int
	ended       bool
	endedAt     time.Time
	version     uint64 // playlist renders, for its ETag
}

func newWindow(s *Server, id, gen string) *window {
	target := int64((s.cfg.TargetDuration + time.Second - 1) / time.Second)
	w := &window{srv: s, id: id, gen: gen, target: target}
	w.snap.Store(&snapshot{changed: make(chan struct{})})
	return w
}

// begin starts a new publish and returns its Stream.
func (w *window) begin() *Stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := &Stream{w: w}
	w.cur = st
	if w.nextSeq > 0 {
		w.pendingDisc = true // the new publisher's timestamps start afresh
	}
	w.ended, w.endedAt = false, time.Time{}
	w.publishLocked()
	return st
}

func (w *window) current() *Stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

func (w *window) append(st *Stream, seg Segment) {
	m := w.srv.m
	millis := toMillis(seg.Duration)
	w.mu.Lock()
	switch {
	case w.cur != st:
		w.mu.Unlock()
		m.drop(dropSuperseded)
		if st.warned.CompareAndSwap(false, true) {
			w.srv.log.Warn("hls segment dropped: its publish was superseded by a newer one", "fundraiser", w.id)
		}
		return
	case w.ended:
		w.mu.Unlock()
		m.drop(dropEnded)
		return
	case len(seg.Data) == 0 || millis <= 0:
		w.mu.Unlock()
		m.drop(dropInvalid)
		w.srv.log.Warn("hls segment dropped: empty or without duration", "fundraiser", w.id,
			"bytes", len(seg.Data), "duration", seg.Duration)
		return
	}
	cfg := &w.srv.cfg
	playlistDur := w.listedDuration()
	s := newSegment(w.gen, w.nextSeq, seg, millis, w.pendingDisc)
	w.nextSeq++
	w.pendingDisc = false
	oldTarget := w.target
	w.target = max(w.target, s.roundedSeconds())
	w.segs = append(w.segs, s)
	w.listed++
	w.addBytes(len(s.data))
	w.clock += s.duration()

	for w.listed > cfg.WindowSize {
		w.retireLocked(playlistDur)
	}
	for w.listed < len(w.segs) && w.segs[0].dropAt <= w.clock {
		w.dropOldestLocked()
	}
	for w.bytes > cfg.MaxStreamBytes && len(w.segs) > 1 {
		if w.listed == len(w.segs) {
			w.retireLocked(playlistDur)
		}
		w.dropOldestLocked()
		m.drop(dropBytes)
	}
	w.publishLocked()
	target := w.target
	w.mu.Unlock()

	m.segments.Inc()
	if target != oldTarget {
		w.srv.log.Warn("hls segment longer than the target duration: EXT-X-TARGETDURATION raised; "+
			"set the encoder's keyframe interval to the target duration",
			"fundraiser", w.id, "segment", seg.Duration, "from", oldTarget, "to", target)
	}
}

// retireLocked takes the oldest listed segment out of the playlist. It stays
// fetchable until the media clock has advanced by its duration plus that of
// the longest playlist that listed it (RFC 8216 6.2.2); playlistDur, the
// playlist before the current append, stands for that.
func (w *window) retireLocked(playlistDur time.Duration) {
	s := w.segs[len(w.segs)-w.listed]
	w.listed--
	if s.disc {
		w.discSeq++ // RFC 8216 6.2.2: a removed discontinuity is counted
	}
	s.dropAt = w.clock + s.duration() + playlistDur
}

func (w *window) dropOldestLocked() {
	w.addBytes(-len(w.segs[0].data))
	w.segs = slices.Delete(w.segs, 0, 1) // clears the freed slot for the GC
}

func (w *window) addBytes(n int) {
	w.bytes += n
	w.srv.m.bytes.Add(int64(n))
}

func (w *window) listedDuration() time.Duration {
	var d time.Duration
	for _, s := range w.segs[len(w.segs)-w.listed:] {
		d += s.duration()
	}
	return d
}

func (w *window) end(st *Stream) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur != st || w.ended {
		return
	}
	w.ended, w.endedAt = true, w.srv.cfg.Now()
	w.publishLocked()
}

// expired reports whether the window ended at least linger before now.
func (w *window) expired(now time.Time, linger time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ended && !now.Before(w.endedAt.Add(linger))
}

// forget frees the segments of a window the server no longer maps. A
// request that loaded the window just before sees it ended and empty.
func (w *window) forget() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addBytes(-w.bytes)
	w.segs, w.listed = nil, 0
	w.ended = true
	w.publishLocked()
}

// publishLocked renders the playlist and replaces the snapshot readers see,
// then releases the requests waiting on the previous one.
func (w *window) publishLocked() {
	snap := &snapshot{
		segs:    slices.Clone(w.segs),
		ended:   w.ended,
		endedAt: w.endedAt,
		changed: make(chan struct{}),
	}
	if w.listed > 0 {
		listed := w.segs[len(w.segs)-w.listed:]
		w.version++
		snap.setPlaylist(appendPlaylist(make([]byte, 0, 200+120*len(listed)), &playlist{
			target:   w.target,
			mediaSeq: listed[0].seq,
			discSeq:  w.discSeq,
			segs:     listed,
			ended:    w.ended,
		}), w.gen, w.version)
	}
	old := w.snap.Swap(snap)
	close(old.changed)
}
