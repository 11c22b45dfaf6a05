package record_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/record"
)

func TestReplayServing(t *testing.T) {
	removed := map[string]bool{"gone": true}
	visible := func(_ context.Context, id string) (bool, error) {
		if id == "broken" {
			return false, errors.New("ledger down")
		}
		return !removed[id], nil
	}
	r := newRig(t, record.Config{}, visible)
	for i, id := range []string{"f1", "f1", "gone"} {
		src := r.begin(id, t0.Add(time.Duration(i)*time.Hour))
		src.advance(3 * time.Second)
		src.st.End()
	}
	r.waitDone("f1", 2)
	r.waitDone("gone", 1)

	code, h, body := get(t, r.rep.URL+"/replay/f1/index.m3u8")
	if code != 200 {
		t.Fatalf("playlist: %d %s", code, body)
	}
	if h.Get("Cache-Control") == "" {
		t.Error("the playlist has no Cache-Control")
	}
	if strings.Count(body, "#EXT-X-DISCONTINUITY\n") != 1 || strings.Count(body, "#EXT-X-MAP:") != 2 {
		t.Errorf("two broadcasts want one discontinuity and two maps:\n%s", body)
	}
	if !strings.Contains(body, "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T21:00:00.000Z") {
		t.Errorf("the second broadcast's wall clock is missing:\n%s", body)
	}

	seg := r.rep.URL + "/replay/f1/1796673600000/1.m4s"
	code, h, whole := get(t, seg)
	if code != 200 || h.Get("Content-Type") != "video/mp4" || !strings.Contains(h.Get("Cache-Control"), "immutable") {
		t.Fatalf("segment: %d %q %q", code, h.Get("Content-Type"), h.Get("Cache-Control"))
	}
	code, h, part := get(t, seg, "Range", "bytes=8-15")
	if code != 206 || part != whole[8:16] || !strings.HasPrefix(h.Get("Content-Range"), "bytes 8-15/") {
		t.Errorf("range: %d %q, want 206 and bytes 8-15", code, h.Get("Content-Range"))
	}
	if code, _, _ := get(t, seg, "Range", "bytes=999999999-"); code != 416 {
		t.Errorf("range past the end: %d, want 416", code)
	}
	if code, _, _ := get(t, r.rep.URL+"/replay/f1/1796673600000/init.mp4"); code != 200 {
		t.Errorf("init segment: %d", code)
	}

	for path, want := range map[string]int{
		"/replay/nobody/index.m3u8":                   404,
		"/replay/gone/index.m3u8":                     404, // removed: its recording is not served
		"/replay/gone/1796680800000/1.m4s":            404,
		"/replay/broken/index.m3u8":                   503,
		"/replay/f1/1796673600000/99.m4s":             404,
		"/replay/f1/1796673600000/index.txt":          404,
		"/replay/f1/1796673600000/../../gone/x":       404,
		"/replay/f1/..%2f..%2fetc/passwd":             404,
		"/replay/f1/1796673600000/%2e%2e%2findex.txt": 404,
		"/replay/f1/": 404,
		"/replay/":    404,
	} {
		if code, _, _ := get(t, r.rep.URL+path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
}

func TestReplayWhileRecordingIsAnEvent(t *testing.T) {
	r := newRig(t, record.Config{}, nil)
	src := r.begin("f1", t0)
	src.advance(4 * time.Second)
	waitFor(t, "a listed segment", func() bool {
		s, ok := r.rec.Summary("f1")
		return ok && s.Recording && s.Duration > 0
	})
	code, h, body := get(t, r.rep.URL+"/replay/f1/index.m3u8")
	if code != 200 || !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:EVENT") || strings.Contains(body, "ENDLIST") {
		t.Errorf("while recording: %d\n%s", code, body)
	}
	if h.Get("Cache-Control") != "no-cache" {
		t.Errorf("a growing playlist is cached: %q", h.Get("Cache-Control"))
	}
	src.st.End()
	r.waitDone("f1", 1)
}

// FuzzReplayPath: whatever the path, the handler answers with a status it
// documents and never serves a file outside the recordings (a file beside
// them holds a secret).
func FuzzReplayPath(f *testing.F) {
	for _, p := range []string{"/replay/f1/index.m3u8", "/replay/f1/1/init.mp4", "/replay/f1/1/1.m4s", "/replay/../secret",
		"/replay/f1/1/../../../secret", "/replay/f1/%2e%2e/secret", "/replay//", "/replay/f1/1/1.m4s/x"} {
		f.Add(p)
	}
	root := f.TempDir()
	dir := filepath.Join(root, "rec")
	if err := os.WriteFile(filepath.Join(root, "secret"), []byte("the secret"), 0o644); err != nil {
		f.Fatal(err)
	}
	// A real broadcast to find, and a file being written next to it (its
	// temporary name) that must never be served.
	b := filepath.Join(dir, "f1", "1796673600000")
	if err := os.MkdirAll(b, 0o755); err != nil {
		f.Fatal(err)
	}
	for name, body := range map[string]string{
		"index.txt": "givelive-recording 1\nstart 1796673600000\nseg 1 2000000 1796673600000 5\nend 1796673602000\n",
		"init.mp4":  "init", "1.m4s": "media", "2.tmp.m4s": "the secret",
	} {
		if err := os.WriteFile(filepath.Join(b, name), []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for _, p := range []string{"/replay/f1/1796673600000/init.mp4", "/replay/f1/1796673600000/1.m4s",
		"/replay/f1/1796673600000/2.tmp.m4s", "/replay/f1/1796673600000/index.txt", "/replay/f1/listing.json"} {
		f.Add(p)
	}
	rec, err := record.New(record.Config{Dir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(rec.Close)
	h := rec.Handler(nil)
	if w := httptest.NewRecorder(); true {
		req := httptest.NewRequest(http.MethodGet, "/replay/f1/1796673600000/1.m4s", nil)
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Body.String() != "media" {
			f.Fatalf("the seeded segment: %d %q", w.Code, w.Body.String())
		}
	}
	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 404, 405:
		default:
			t.Fatalf("%q: status %d", path, w.Code)
		}
		if strings.Contains(w.Body.String(), "the secret") {
			t.Fatalf("%q served a file outside the recordings", path)
		}
	})
}
