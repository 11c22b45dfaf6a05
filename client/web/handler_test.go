package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

var built = fstest.MapFS{
	"manifest.json":                {Data: []byte(`{"pages":{"home":{"scripts":["assets/main-ABCD1234.js"],"style":"assets/main-WXYZ5678.css"}}}`)},
	"pages/home.html":              {Data: page("home")},
	"pages/viewer.html":            {Data: page("viewer")},
	"pages/studio.html":            {Data: page("studio")},
	"pages/overlay.html":           {Data: page("overlay")},
	"pages/receipt.html":           {Data: page("receipt")},
	"assets/main-ABCD1234.js":      {Data: bytes.Repeat([]byte("console.log('givelive');\n"), 200)},
	"assets/main-WXYZ5678.css":     {Data: []byte("body{margin:0}")},
	"assets/hls.light-QRST9012.js": {Data: []byte("export{}")},
	"assets/notes.txt":             {Data: []byte("not hashed")},
	"README.txt":                   {Data: []byte("build output")},
}

// page is a built page as the build writes it: the head marker, then its script.
func page(name string) []byte {
	return []byte(`<!doctype html><head><meta name="x-givelive-head"><script type="module" src="/assets/main-ABCD1234.js" data-page="` + name + `"></script></head>`)
}

func get(t *testing.T, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "example.test:8080"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPages(t *testing.T) {
	h := New(Options{Assets: built})
	if !h.Built() {
		t.Fatal("Built() is false with index.html present")
	}
	for target, name := range map[string]string{"/": "home", "/f/f_0197a0c4d1e87b3a9c5e2f4a6b8d0c1e": "viewer", "/f/abc-DEF_123": "viewer",
		"/overlay/f_0197a0c4d1e87b3a9c5e2f4a6b8d0c1e": "overlay", "/overlay/f_1/goal": "overlay", "/overlay/f_1/ticker": "overlay",
		"/d/d_0197a0c4d1e87b3a9c5e2f4a6b8d0c1e": "receipt", "/studio": "studio"} {
		res := get(t, h, "GET", target)
		page := body(t, res)
		if res.StatusCode != 200 || !strings.Contains(page, `data-page="`+name+`"`) || !strings.Contains(page, "<title>") {
			t.Fatalf("GET %s: %d, want the %s page with a title:\n%s", target, res.StatusCode, name, page)
		}
		for k, want := range map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-cache",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s: %s %q, want %q", target, k, got, want)
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "connect-src 'self' ws://example.test:8080 wss://example.test:8080;"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP allows unsafe sources: %q", csp)
		}
	}

	// Revalidation: the page's ETag answers 304.
	tag := get(t, h, "GET", "/").Header.Get("ETag")
	if res := get(t, h, "GET", "/", "If-None-Match", tag); res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the ETag: %d, want 304", res.StatusCode)
	}
	if res := get(t, h, "HEAD", "/f/abc"); res.StatusCode != 200 || body(t, res) != "" {
		t.Fatalf("HEAD: %d", res.StatusCode)
	}
	for _, target := range []string{"/f/", "/f/a/b", "/f/" + strings.Repeat("a", 65), "/f/a.b", "/nope",
		"/overlay/", "/overlay/a/b", "/overlay/a.b", "/studio/", "/studio/x", "/f", "/overlay", "/d/", "/d/a/b", "/d",
		"/favicon.ico", "/og/a.jpg", "/assets/nope.js"} {
		res := get(t, h, "GET", target)
		b := body(t, res)
		// A page a person can read, with a way on: never raw JSON or a bare line.
		if res.StatusCode != 404 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(b, `data-testid="not-found"`) || !strings.Contains(b, `href="/"`) || !strings.Contains(b, "main-WXYZ5678.css") {
			t.Errorf("GET %s: %d %s\n%s", target, res.StatusCode, res.Header.Get("Content-Type"), b)
		}
		if strings.Contains(b, "<script") {
			t.Errorf("GET %s: the 404 page runs a script", target)
		}
	}
	if res := get(t, h, "POST", "/"); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /: %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestAssets(t *testing.T) {
	h := New(Options{Assets: built})
	res := get(t, h, "GET", "/assets/main-ABCD1234.js")
	if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Fatalf("hashed asset Cache-Control %q", got)
	}
	if got := res.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Fatalf("Content-Type %q", got)
	}
	if res.Header.Get("Content-Encoding") != "" || body(t, res) != string(built["assets/main-ABCD1234.js"].Data) {
		t.Fatal("without Accept-Encoding the asset must be sent as is")
	}

	res = get(t, h, "GET", "/assets/main-ABCD1234.js", "Accept-Encoding", "br, gzip;q=0.8")
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: Content-Encoding %q Vary %q", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, built["assets/main-ABCD1234.js"].Data) {
		t.Fatal("the gzipped asset does not decompress to the asset")
	}
	gzTag := res.Header.Get("ETag")
	if plainTag := get(t, h, "GET", "/assets/main-ABCD1234.js").Header.Get("ETag"); plainTag == gzTag {
		t.Fatal("the gzip and plain encodings share an ETag")
	}
	if res := get(t, h, "GET", "/assets/main-ABCD1234.js", "Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 got gzip")
	}

	res = get(t, h, "GET", "/assets/main-WXYZ5678.css", "Accept-Encoding", "gzip")
	if res.Header.Get("Content-Type") != "text/css; charset=utf-8" || res.Header.Get("Content-Encoding") != "" {
		t.Fatalf("small CSS: %v", res.Header) // too small to be worth compressing
	}
	if got := get(t, h, "GET", "/assets/notes.txt").Header.Get("Cache-Control"); got != "no-cache" {
		t.Fatalf("unhashed asset Cache-Control %q", got)
	}
	for _, target := range []string{"/assets/missing-ABCD1234.js", "/assets/../index.html", "/assets/", "/assets/README.txt"} {
		if res := get(t, h, "GET", target); res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", target, res.StatusCode)
		}
	}
}

func TestNotBuilt(t *testing.T) {
	h := New(Options{Assets: fstest.MapFS{"README.txt": {Data: []byte("build output")}}})
	if h.Built() {
		t.Fatal("Built() is true without a build")
	}
	for _, target := range []string{"/", "/f/abc", "/overlay/abc", "/studio"} {
		res := get(t, h, "GET", target)
		b := body(t, res)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, "make web") || !strings.Contains(b, "not built") {
			t.Fatalf("GET %s without a build: %d\n%s", target, res.StatusCode, b)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the not-built page may be cached: %q", res.Header.Get("Cache-Control"))
		}
	}
	if res := get(t, h, "GET", "/assets/main-ABCD1234.js"); res.StatusCode != 404 {
		t.Fatalf("asset without a build: %d", res.StatusCode)
	}
}

func TestOwns(t *testing.T) {
	for path, want := range map[string]bool{
		"/": true, "/f/abc": true, "/f/": true, "/assets/main-ABCD1234.js": true,
		"/overlay/abc": true, "/overlay/": true, "/studio": true, "/studio/x": true, "/studios": true,
		"/api/v1/fundraisers": false, "/api": false, "/ws": false, "/hls/f_1/index.m3u8": false, "/replay/f_1/index.m3u8": false, "/metrics": false,
		"/healthz": false, "/readyz": false, "/whip": false, "/whip/abc": false, "/whipped": true, "/favicon.ico": true, "": false, "/fundraisers": true, "/og/f_1.png": true,
	} {
		if got := Owns(path); got != want {
			t.Errorf("Owns(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br": false, "deflate, gzip": true, "gzip;q=0": false,
		"gzip; q=0.000": false, "gzip;q=0.1": true, "x-gzip": false, "*": false,
	} {
		if got := acceptsGzip([]string{header}); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestCSPHost(t *testing.T) {
	if got := contentSecurityPolicy("evil.test; script-src *", Sources{}, false, false); strings.Contains(got, "evil") {
		t.Fatalf("a Host header with CSP syntax went into the policy: %q", got)
	}
	if got := contentSecurityPolicy("[::1]:8080", Sources{}, false, false); !strings.Contains(got, "ws://[::1]:8080 wss://[::1]:8080") {
		t.Fatalf("IPv6 host: %q", got)
	}
}

// Pages may load Stripe.js, show its frames and reach its API, and
// nothing more.
func TestCSPSources(t *testing.T) {
	h := New(Options{Assets: built, Sources: &Sources{
		Script:  []string{"https://js.stripe.com"},
		Frame:   []string{"https://js.stripe.com", "https://hooks.stripe.com"},
		Connect: []string{"https://api.stripe.com"},
	}})
	csp := get(t, h, "GET", "/f/abc").Header.Get("Content-Security-Policy")
	for _, want := range []string{
		"script-src 'self' https://js.stripe.com;",
		"frame-src https://js.stripe.com https://hooks.stripe.com;",
		"connect-src 'self' ws://example.test:8080 wss://example.test:8080 https://api.stripe.com;",
		"style-src 'self';", "default-src 'self';",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
}

// TestEmbeddedBuild checks the bundle go generate put in dist: the page
// names a script and a stylesheet that exist, with integrity hashes, and
// the player's hls.js chunk is there and within the size budget. Without a
// build it skips, except in CI, where `make test` builds first.
func TestEmbeddedBuild(t *testing.T) {
	h := New(Options{})
	if !h.Built() {
		if os.Getenv("CI") != "" {
			t.Fatal("client/web/dist holds no build; CI must run `make web` (make test does) before testing")
		}
		t.Skip("client/web/dist holds no build; run `make web` to test it")
	}
	for _, name := range pageNames {
		res := get(t, h, "GET", map[string]string{"home": "/", "viewer": "/f/f_1", "studio": "/studio", "overlay": "/overlay/f_1", "receipt": "/d/d_1"}[name])
		page := body(t, res)
		refs := regexp.MustCompile(`(?:src|href)="/assets/([^"]+)" integrity="sha384-`).FindAllStringSubmatch(page, -1)
		if len(refs) < 2 {
			t.Fatalf("the %s page should name its script and stylesheet with integrity:\n%s", name, page)
		}
		for _, ref := range refs {
			if res := get(t, h, "GET", "/assets/"+ref[1]); res.StatusCode != 200 {
				t.Fatalf("the %s page names /assets/%s, which answers %d", name, ref[1], res.StatusCode)
			}
		}
	}
	sub, _ := fs.Sub(dist, "dist")
	var total int
	var hlsChunk bool
	_ = fs.WalkDir(sub, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			total += int(info.Size())
			hlsChunk = hlsChunk || strings.HasPrefix(d.Name(), "hls.light-")
		}
		return err
	})
	if !hlsChunk {
		t.Fatal("no hls.light chunk: hls.js should be split out of the main bundle and loaded by the player")
	}
	// The light hls.js is about 360 KB; each page's script and stylesheet
	// (five pages, about 20 KB of CSS each) and the shared chunks are the
	// rest, under 250 KB together.
	if total > 610<<10 {
		t.Fatalf("the assets total %d KB, over the 610 KB budget", total>>10)
	}
	t.Logf("assets: %d KB", total>>10)
}
