package record

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// A broadcast's index.txt, one line each, appended as the writer goes:
//
//	givelive-recording 1
//	start <unix ms of the first frame>
//	seg <n> <duration µs> <unix ms of its first frame> <bytes>
//	end <unix ms>
//
// A segment's line is written after its file is complete, so a listed
// segment is whole. A broadcast without its end line is being recorded, or
// its node stopped while it was; a torn last line (a crash mid-write) ends
// the list.

const indexMagic = "givelive-recording 1"

// maxIndexBytes bounds the index read: 16 MiB is over 300,000 segments,
// a week at 2 s.
const maxIndexBytes = 16 << 20

// segment is one listed media segment.
type segment struct {
	N        int
	Duration time.Duration
	Start    time.Time // wall clock of its first frame
	Bytes    int64
}

// index is a broadcast's parsed index.txt.
type index struct {
	Start    time.Time
	Segments []segment
	Ended    bool
	End      time.Time
}

// Duration is the sum of the segments' durations.
func (ix *index) Duration() time.Duration {
	var d time.Duration
	for _, s := range ix.Segments {
		d += s.Duration
	}
	return d
}

var errIndex = errors.New("record: not a recording index")

// parseIndex reads an index. It refuses a file that is not one; a
// malformed line after a good start ends the list there (what came before
// stays playable).
func parseIndex(b []byte) (*index, error) {
	if len(b) > maxIndexBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", errIndex, len(b), maxIndexBytes)
	}
	// Only whole lines count: a torn last line (a crash mid-write) is not
	// read, so it never passes for a segment or an end.
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 256), 256)
	if !sc.Scan() || sc.Text() != indexMagic {
		return nil, errIndex
	}
	if !sc.Scan() {
		return nil, fmt.Errorf("%w: no start", errIndex)
	}
	f := bytes.Fields(sc.Bytes())
	if len(f) != 2 || string(f[0]) != "start" {
		return nil, fmt.Errorf("%w: no start", errIndex)
	}
	ms, ok := parseUint(f[1])
	if !ok {
		return nil, fmt.Errorf("%w: bad start", errIndex)
	}
	ix := &index{Start: time.UnixMilli(ms).UTC()}
	for sc.Scan() && !ix.Ended {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			break
		}
		switch {
		case string(f[0]) == "seg" && len(f) == 5:
			n, ok1 := parseUint(f[1])
			us, ok2 := parseUint(f[2])
			at, ok3 := parseUint(f[3])
			size, ok4 := parseUint(f[4])
			// Segments are numbered from 1 without gaps.
			if !ok1 || !ok2 || !ok3 || !ok4 || n != int64(len(ix.Segments))+1 || us > int64(24*time.Hour/time.Microsecond) {
				return ix, nil
			}
			ix.Segments = append(ix.Segments, segment{
				N: int(n), Duration: time.Duration(us) * time.Microsecond,
				Start: time.UnixMilli(at).UTC(), Bytes: size,
			})
		case string(f[0]) == "end" && len(f) == 2:
			at, ok := parseUint(f[1])
			if !ok {
				return ix, nil
			}
			ix.Ended, ix.End = true, time.UnixMilli(at).UTC()
		default:
			return ix, nil
		}
	}
	return ix, nil
}

// parseUint reads a decimal of at most 15 digits (no sign, no spaces).
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	return v, err == nil
}

func startLine(at time.Time) string {
	return indexMagic + "\nstart " + strconv.FormatInt(at.UnixMilli(), 10) + "\n"
}

func segLine(s segment) string {
	return fmt.Sprintf("seg %d %d %d %d\n", s.N, s.Duration.Microseconds(), s.Start.UnixMilli(), s.Bytes)
}

func endLine(at time.Time) string {
	return "end " + strconv.FormatInt(at.UnixMilli(), 10) + "\n"
}
