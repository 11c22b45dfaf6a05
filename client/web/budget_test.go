package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"testing"
)

// scriptBudget is what each of these pages may load of script at start,
// gzipped: the pages people open most, on phones, over mobile data. The
// viewer page's player (hls.js) loads later, and only where it is needed.
var scriptBudget = map[string]int{"home": 30 << 10, "studio": 30 << 10, "overlay": 30 << 10}

// TestScriptBudget checks the embedded build: the home page, the studio
// and the overlay each load at most 30 KB of gzipped script at start (the
// entry and the chunks it imports), and never hls.js. Every page's
// numbers are logged.
func TestScriptBudget(t *testing.T) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fs.ReadFile(sub, "manifest.json")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("client/web/dist holds no build; CI must run `make web` (make test does) before testing")
		}
		t.Skip("client/web/dist holds no build; run `make web` to test it")
	}
	var m struct {
		Pages map[string]struct {
			Scripts []string `json:"scripts"`
		} `json:"pages"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for name, p := range m.Pages {
		total := 0
		for _, s := range p.Scripts {
			if bytes.Contains([]byte(s), []byte("hls.")) {
				t.Errorf("the %s page loads %s at start", name, s)
			}
			data, err := fs.ReadFile(sub, s)
			if err != nil {
				t.Fatalf("the %s page names %s: %v", name, s, err)
			}
			total += gzipped(data)
		}
		t.Logf("%-8s %5.1f KB gzip of script at start (%d files)", name, float64(total)/1024, len(p.Scripts))
		if budget, ok := scriptBudget[name]; ok && total > budget {
			t.Errorf("the %s page loads %.1f KB gzip of script, over its %d KB budget", name, float64(total)/1024, budget>>10)
		}
	}
	for name := range scriptBudget {
		if _, ok := m.Pages[name]; !ok {
			t.Errorf("the build has no %s page", name)
		}
	}
}

func gzipped(b []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Len()
}
