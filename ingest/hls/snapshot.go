package hls

import (
	"strconv"
	"time"
)

// snapshot is a window as readers see it: immutable once published, loaded
// without a lock by every request, replaced whole by each change.
type snapshot struct {
	// playlist is the rendered media playlist; nil while no segment is
	// listed (a stream that began and has none yet, or ended without one).
	playlist      []byte
	contentLength []string // response header values, shared (see segment)
	etag          []string
	cacheControl  []string

	segs    []*segment // every segment held, listed or not, oldest first
	ended   bool
	endedAt time.Time

	// changed is closed when a newer snapshot replaces this one: requests
	// waiting for a first segment wait on it.
	changed chan struct{}
}

func (s *snapshot) setPlaylist(b []byte, gen string, version uint64) {
	s.playlist = b
	s.contentLength = []string{strconv.Itoa(len(b))}
	s.etag = []string{`"` + gen + "." + strconv.FormatUint(version, 10) + `"`}
	s.cacheControl = hdrPlaylistLive
	if s.ended {
		s.cacheControl = hdrPlaylistEnded
	}
}

// lingeredPast reports whether the stream ended at least linger before now.
func (s *snapshot) lingeredPast(now time.Time, linger time.Duration) bool {
	return s.ended && !now.Before(s.endedAt.Add(linger))
}

// find returns the segment numbered seq, or nil and whether it is one that
// existed and has been dropped (as opposed to one not produced yet).
func (s *snapshot) find(seq uint64) (seg *segment, gone bool) {
	if len(s.segs) == 0 {
		return nil, false
	}
	first := s.segs[0].seq
	switch {
	case seq < first:
		return nil, true
	case seq-first >= uint64(len(s.segs)):
		return nil, false
	}
	return s.segs[seq-first], false
}
