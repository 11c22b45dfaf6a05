package hls_test

import (
	"strings"
	"testing"

	"github.com/givelive/givelive/ingest/hls"
)

var blockingCases = []struct {
	raw, want string
	ok        bool
}{
	{"", "", true},
	{"_HLS_msn=9", "_HLS_msn=9", true},
	{"_HLS_part=3&_HLS_msn=9", "_HLS_msn=9&_HLS_part=3", true},
	{"session=x&_HLS_msn=9&_HLS_part=3&_HLS_skip=YES", "_HLS_msn=9&_HLS_part=3&_HLS_skip=YES", true},
	{"_HLS_skip=v2", "_HLS_skip=v2", true},
	{"player=7", "", true},
	{"_HLS_msn=x", "", false},
	{"_HLS_msn=-1", "", false},
	{"_HLS_msn=99999999999", "", false},
	{"_HLS_part=%31", "", false},
	{"_HLS_skip=maybe", "", false},
	{"_HLS_msn=9&_HLS_msn=10", "_HLS_msn=10", true},
}

func TestBlockingQuery(t *testing.T) {
	for _, c := range blockingCases {
		got, ok := hls.BlockingQuery(c.raw)
		if got != c.want || ok != c.ok {
			t.Errorf("BlockingQuery(%q) = %q, %v; want %q, %v", c.raw, got, ok, c.want, c.ok)
		}
	}
}

// FuzzBlockingQuery: whatever a viewer sends, an accepted query comes out
// in the one canonical form (which reads back as itself), holding nothing
// but the three directives with plain values.
func FuzzBlockingQuery(f *testing.F) {
	for _, c := range blockingCases {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := hls.BlockingQuery(raw)
		if !ok {
			return
		}
		if again, ok := hls.BlockingQuery(got); !ok || again != got {
			t.Fatalf("BlockingQuery(%q) = %q, which reads back as %q, %v", raw, got, again, ok)
		}
		for pair := range strings.SplitSeq(got, "&") {
			if pair == "" {
				continue
			}
			k, v, _ := strings.Cut(pair, "=")
			if k != "_HLS_msn" && k != "_HLS_part" && k != "_HLS_skip" || strings.Trim(v, "0123456789YESv") != "" {
				t.Fatalf("BlockingQuery(%q) = %q: unexpected %q", raw, got, pair)
			}
		}
	})
}
