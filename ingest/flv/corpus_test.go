package flv

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// updateCorpus rewrites the committed fuzz seed corpora from the case
// tables: go test ./ingest/flv -run Corpus -update-corpus
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed files from the case tables")

// seed is one named input of a fuzz target's committed corpus.
type seed struct {
	name string
	data []byte
}

// checkCorpus makes testdata/fuzz/<target> hold exactly the seeds (in go
// test fuzz v1 format), so the committed corpus never drifts from the
// tables that also drive the decode and encode tests. With -update-corpus
// it writes them instead.
func checkCorpus(t *testing.T, target string, seeds []seed) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	want := map[string][]byte{}
	for _, s := range seeds {
		name := "seed-" + strings.NewReplacer(" ", "_", "/", "_", ",", "", "(", "", ")", "", "'", "").Replace(s.name)
		if _, dup := want[name]; dup {
			t.Fatalf("two seeds named %q", name)
		}
		want[name] = fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s.data)
	}
	if *updateCorpus {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s/%s is missing or stale; run go test -run Corpus -update-corpus", dir, name)
		}
	}
	// Files the fuzzer added (findings, named by hash) may stay; seed
	// files no case produces may not.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok && strings.HasPrefix(e.Name(), "seed-") {
			t.Errorf("%s/%s matches no case; run go test -run Corpus -update-corpus", dir, e.Name())
		}
	}
}

// unhex decodes hex written with spaces for readability; it panics on
// malformed test data.
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}
