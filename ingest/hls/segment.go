package hls

import (
	"strconv"
	"strings"
	"time"
)

// Segment is one media segment as the muxer hands it over.
type Segment struct {
	// Data is a complete MPEG-TS segment starting with PAT/PMT and an IDR.
	// Ownership passes to the Stream: it is served as is and never copied,
	// so the caller must not modify it afterwards.
	Data []byte

	// Duration is the segment's media duration. It is shown rounded to the
	// millisecond; a segment shorter than half a millisecond is refused.
	Duration time.Duration

	// Start is the wall-clock time of its first frame, shown as
	// EXT-X-PROGRAM-DATE-TIME. The zero time omits the tag.
	Start time.Time
}

// segment is a Segment held in a window, with what a request needs
// precomputed. Every field but dropAt is immutable once the segment is in a
// snapshot; dropAt is only touched under the window's lock.
type segment struct {
	seq    uint64
	name   string // {generation}-{seq}.ts
	data   []byte
	millis int64 // the duration in milliseconds, as EXTINF shows it
	start  time.Time
	disc   bool // EXT-X-DISCONTINUITY precedes it: the first after a restart

	// dropAt is the window's media clock at which this segment, once it
	// left the playlist, may be dropped (RFC 8216 6.2.2).
	dropAt time.Duration

	// Response header values, shared by every response: net/http never
	// modifies a header value slice, and these have len == cap, so an
	// append elsewhere copies rather than writing into them.
	contentLength []string
	etag          []string
}

func newSegment(gen string, seq uint64, s Segment, millis int64, disc bool) *segment {
	name := gen + "-" + strconv.FormatUint(seq, 10) + ".ts"
	return &segment{
		seq:           seq,
		name:          name,
		data:          s.Data,
		millis:        millis,
		start:         s.Start,
		disc:          disc,
		contentLength: []string{strconv.Itoa(len(s.Data))},
		etag:          []string{`"` + name + `"`},
	}
}

func (s *segment) duration() time.Duration { return time.Duration(s.millis) * time.Millisecond }

// roundedSeconds is the EXTINF duration rounded to the nearest integer (half
// up), the value RFC 8216 4.3.3.1 compares with EXT-X-TARGETDURATION.
func (s *segment) roundedSeconds() int64 { return roundedSeconds(s.millis) }

func roundedSeconds(millis int64) int64 { return (millis + 500) / 1000 }

// toMillis rounds d to the nearest millisecond.
func toMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond/2) / time.Millisecond)
}

// parseSegmentName splits "{generation}-{seq}.ts". It accepts only what
// newSegment produces: a generation of [0-9a-f] and a decimal sequence
// number without sign or leading zeros.
func parseSegmentName(name string) (gen string, seq uint64, ok bool) {
	base, found := strings.CutSuffix(name, ".ts")
	if !found {
		return "", 0, false
	}
	i := len(base) - 1
	for i >= 0 && base[i] != '-' {
		i--
	}
	if i <= 0 || i == len(base)-1 {
		return "", 0, false
	}
	gen, digits := base[:i], base[i+1:]
	for j := 0; j < len(gen); j++ {
		if c := gen[j]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", 0, false
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		return "", 0, false
	}
	for j := 0; j < len(digits); j++ {
		if c := digits[j]; c < '0' || c > '9' {
			return "", 0, false
		}
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return gen, seq, true
}
