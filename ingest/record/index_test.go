package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// indexCases drive the parser's test and seed its fuzz target.
var indexCases = []struct {
	name, in string
	ok       bool
	segments int
	ended    bool
}{
	{"empty", "", false, 0, false},
	{"other file", "#EXTM3U\n", false, 0, false},
	{"no start", indexMagic + "\n", false, 0, false},
	{"started", startLine(time.UnixMilli(1000)), true, 0, false},
	{"two and end", startLine(time.UnixMilli(1000)) + "seg 1 2000000 1000 10\nseg 2 2000000 3000 10\nend 5000\n", true, 2, true},
	{"torn last line", startLine(time.UnixMilli(1000)) + "seg 1 2000000 1000 10\nseg 2 20", true, 1, false},
	{"torn end line", startLine(time.UnixMilli(1000)) + "seg 1 2000000 1000 10\nend 17", true, 1, false},
	{"torn segment line", startLine(time.UnixMilli(1000)) + "seg 1 2000000 1000 10\nseg 2 2000000 3000 1", true, 1, false},
	{"torn start line", indexMagic + "\nstart 17", false, 0, false},
	{"gap", startLine(time.UnixMilli(1000)) + "seg 1 2000000 1000 10\nseg 3 2000000 3000 10\n", true, 1, false},
	{"negative", startLine(time.UnixMilli(1000)) + "seg 1 -2 1000 10\n", true, 0, false},
	{"huge duration", startLine(time.UnixMilli(1000)) + "seg 1 999999999999999 1000 10\n", true, 0, false},
	{"after end", startLine(time.UnixMilli(1000)) + "seg 1 2000000 1000 10\nend 5000\nseg 2 2000000 3000 10\n", true, 1, true},
}

func TestParseIndex(t *testing.T) {
	for _, c := range indexCases {
		ix, err := parseIndex([]byte(c.in))
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.name, err, c.ok)
			continue
		}
		if err != nil {
			continue
		}
		if len(ix.Segments) != c.segments || ix.Ended != c.ended {
			t.Errorf("%s: %d segments, ended %v; want %d, %v", c.name, len(ix.Segments), ix.Ended, c.segments, c.ended)
		}
	}
	// What the writer writes, the parser reads back.
	s := segment{N: 1, Duration: 2001 * time.Millisecond, Start: time.UnixMilli(1765000000123).UTC(), Bytes: 4096}
	ix, err := parseIndex([]byte(startLine(s.Start) + segLine(s) + endLine(s.Start.Add(time.Minute))))
	if err != nil || len(ix.Segments) != 1 || ix.Segments[0] != s || !ix.End.Equal(s.Start.Add(time.Minute)) {
		t.Errorf("round trip: %+v %v", ix, err)
	}
}

func FuzzParseIndex(f *testing.F) {
	for _, c := range indexCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := parseIndex(b)
		if err != nil {
			return
		}
		for i, s := range ix.Segments {
			if s.N != i+1 || s.Duration < 0 || s.Duration > 24*time.Hour || s.Bytes < 0 {
				t.Fatalf("segment %d accepted: %+v", i, s)
			}
		}
		// The playlist of whatever was accepted renders.
		_ = renderPlaylist([]broadcast{{name: "1", ix: ix}}, ix.Ended)
	})
}

// FuzzListing: another node's listing.json is checked before it is listed.
func TestListingNeedsPlausibleTimes(t *testing.T) {
	seg := []ListingSegment{{N: 1, DurationUS: 2_000_000, Start: time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)}}
	if _, ok := broadcastOf(Listing{Name: "1", Start: seg[0].Start, Segments: seg}); !ok {
		t.Error("a good listing was refused")
	}
	if _, ok := broadcastOf(Listing{Name: "1", Segments: seg}); ok {
		t.Error("a listing without a start (the zero time) was accepted")
	}
	bad := []ListingSegment{{N: 1, DurationUS: 2_000_000}}
	if _, ok := broadcastOf(Listing{Name: "1", Start: seg[0].Start, Segments: bad}); ok {
		t.Error("a segment without a start was accepted")
	}
}

func FuzzListing(f *testing.F) {
	f.Add([]byte(`[{"name":"1","start":"2026-12-07T20:00:00Z","ended":true,"segments":[{"n":1,"duration_us":2000000,"start":"2026-12-07T20:00:00Z"}]}]`))
	f.Add([]byte(`[{"name":"../x","segments":[{"n":1}]}]`))
	f.Add([]byte(`[{"name":"1","segments":[{"n":2,"duration_us":-1}]}]`))
	f.Add([]byte(`[{"name":"1","ended":true,"segments":[{"n":1,"duration_us":2000000}]}]`)) // no start: the zero time
	f.Fuzz(func(t *testing.T, b []byte) {
		var ls []Listing
		if json.Unmarshal(b, &ls) != nil {
			return
		}
		var bs []broadcast
		for _, l := range ls {
			if bc, ok := broadcastOf(l); ok {
				if !broadcastName.MatchString(bc.name) {
					t.Fatalf("accepted a broadcast named %q", bc.name)
				}
				if bc.ix.Start.Year() < 2000 || bc.ix.Start.Year() > 9999 {
					t.Fatalf("accepted a start of %v", bc.ix.Start)
				}
				for i, s := range bc.ix.Segments {
					if s.N != i+1 || s.Duration < 0 || s.Duration > 24*time.Hour || s.Start.Year() < 2000 || s.Start.Year() > 9999 {
						t.Fatalf("accepted segment %+v", s)
					}
				}
				bs = append(bs, bc)
			}
		}
		out := string(renderPlaylist(bs, true))
		if strings.Contains(out, "..") {
			t.Fatalf("the playlist names a path out: %s", out)
		}
	})
}
