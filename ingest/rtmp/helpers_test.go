package rtmp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// h decodes hex written with spaces for readability.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// seq returns n bytes counting up from start, so misplaced bytes show.
func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// amfEqual compares decoded AMF0 values: numbers by their bits (so NaN
// equals itself), dates by instant, nil and empty containers alike.
func amfEqual(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	case Object:
		b, ok := b.(Object)
		return ok && propertiesEqual(a, b)
	case ECMAArray:
		b, ok := b.(ECMAArray)
		return ok && propertiesEqual(a, b)
	case []any:
		b, ok := b.([]any)
		return ok && valuesEqual(a, b)
	default:
		return a == b
	}
}

func valuesEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !amfEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func propertiesEqual(a, b []Property) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !amfEqual(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func commandsEqual(a, b Command) bool {
	return a.Name == b.Name &&
		math.Float64bits(a.TransactionID) == math.Float64bits(b.TransactionID) &&
		amfEqual(a.Object, b.Object) && valuesEqual(a.Args, b.Args)
}

func messagesEqual(a, b Message) bool {
	return a.ChunkStreamID == b.ChunkStreamID && a.Type == b.Type && a.StreamID == b.StreamID &&
		a.Timestamp == b.Timestamp && bytes.Equal(a.Payload, b.Payload)
}

func describe(m Message) string {
	return fmt.Sprintf("{csid %d type %d stream %d ts %d len %d}", m.ChunkStreamID, m.Type, m.StreamID, m.Timestamp, len(m.Payload))
}

// writeSeeds writes seeds as corpus files of a fuzz target in the go test
// fuzz v1 format, when the test runs with RTMP_WRITE_SEEDS=1. The table
// seeds are always added with f.Add; the files keep a copy in the tree.
func writeSeeds(t *testing.T, target string, seeds map[string][]byte) {
	t.Helper()
	if os.Getenv("RTMP_WRITE_SEEDS") != "1" {
		t.Skip("set RTMP_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		file := "seed-" + strings.NewReplacer(" ", "-", "/", "-", ",", "", ":", "").Replace(name)
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
