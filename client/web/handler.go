package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Options configure a Handler. The zero value serves the embedded build.
type Options struct {
	// Assets is the built app: index.html and assets/. Nil means the build
	// embedded in the binary (dist/).
	Assets fs.FS
	// Logger reports a missing or unreadable build at start. Nil discards.
	Logger *slog.Logger
	// Sources are the other origins the pages may load scripts and frames
	// from and connect to, such as Stripe.js's. Nil allows only the page's
	// own origin.
	Sources *Sources
}

// Sources lists origins the Content-Security-Policy allows beside the
// page's own, per directive ("https://js.stripe.com").
type Sources struct {
	Script, Frame, Connect []string
}

// Handler serves the web app. See the package documentation.
type Handler struct {
	sources Sources
	index   []byte // the page for every route (see pagePath); nil when the app is not built
	etag    string
	assets  map[string]*asset // by path under /assets/
}

type asset struct {
	data      []byte
	ctype     string
	etag      string
	immutable bool
	gzipped   func() []byte // nil when not worth compressing
}

// Owns reports whether path is one of the web app's: "/", "/f/…", "/d/…",
// "/overlay/…", "/studio" or "/assets/…". Everything else (/api, /ws,
// /hls, /metrics, /healthz, /readyz) belongs to the rest of the server.
func Owns(path string) bool {
	return path == "/" || path == "/studio" || strings.HasPrefix(path, "/f/") || strings.HasPrefix(path, "/d/") ||
		strings.HasPrefix(path, "/overlay/") || strings.HasPrefix(path, "/assets/")
}

// New reads the built app. A missing or unreadable build is not an error:
// the Handler then answers its pages with 503 and says how to build them.
func New(opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files := opts.Assets
	if files == nil {
		sub, err := fs.Sub(dist, "dist")
		if err != nil {
			panic(err) // the embed pattern guarantees dist exists
		}
		files = sub
	}
	h := &Handler{assets: map[string]*asset{}}
	if opts.Sources != nil {
		h.sources = *opts.Sources
	}
	if err := h.load(files); err != nil {
		h.index, h.assets = nil, map[string]*asset{}
		if errors.Is(err, fs.ErrNotExist) {
			log.Warn("the web app is not built: its pages answer 503 until it is; run `make web` and rebuild the server")
		} else {
			log.Error("failed to read the web app's build; its pages answer 503", "err", err)
		}
	}
	return h
}

// Built reports whether the app's pages are served (rather than a 503
// saying how to build them).
func (h *Handler) Built() bool { return h.index != nil }

func (h *Handler) load(files fs.FS) error {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return err
	}
	err = fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		h.assets[name] = newAsset(name, data)
		return nil
	})
	if err != nil {
		return err
	}
	h.index, h.etag = index, etag(index)
	return nil
}

// hashed matches the names esbuild gives with [name]-[hash]: such a file
// never changes, so browsers may keep it for a year.
var hashed = regexp.MustCompile(`-[A-Z0-9]{8}\.[a-z0-9]+$`)

func newAsset(name string, data []byte) *asset {
	a := &asset{data: data, etag: etag(data), immutable: hashed.MatchString(name)}
	switch path.Ext(name) {
	case ".js", ".mjs":
		a.ctype = "text/javascript; charset=utf-8"
	case ".css":
		a.ctype = "text/css; charset=utf-8"
	default:
		a.ctype = mime.TypeByExtension(path.Ext(name))
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
	}
	if len(data) >= 1024 && compressible(a.ctype) {
		a.gzipped = sync.OnceValue(func() []byte { return gzipBytes(data) })
	}
	return a
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// pagePath matches the app's pages: the home page, the viewer page
// (/f/{id}), the OBS overlay (/overlay/{id}), with a fundraiser id as the
// API spells it, a donation's receipt (/d/{id}) and the broadcaster's
// studio. The app picks the view.
var pagePath = regexp.MustCompile(`^/(?:(?:f|d|overlay)/[A-Za-z0-9_-]{1,64}|studio)?$`)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case pagePath.MatchString(p):
		h.servePage(w, r)
	case strings.HasPrefix(p, "/assets/"):
		h.serveAsset(w, r, strings.TrimPrefix(p, "/assets/"))
	default:
		h.notFound(w)
	}
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy(r.Host, h.sources))
	hdr.Set("Referrer-Policy", "same-origin")
	if h.index == nil {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(notBuiltPage)
		return
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	// Revalidate every time: the page names the current assets.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", h.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.index))
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets[name]
	if !ok {
		h.notFound(w)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.ctype)
	if a.immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	body, tag := a.data, a.etag
	if a.gzipped != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			body, tag = a.gzipped(), strings.TrimSuffix(a.etag, `"`)+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", tag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (h *Handler) notFound(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("404 page not found\n"))
}

// contentSecurityPolicy allows what the app does and nothing else: its own
// scripts and styles (no inline code), media from the page's origin and
// from blob: URLs (Media Source Extensions), fetches and WebSockets to its
// own origin, and whatever extra sources name (Stripe.js, its frames and
// its API). 'self' covers ws: and wss: in current browsers; the explicit
// ws://host and wss://host are for older ones.
func contentSecurityPolicy(host string, extra Sources) string {
	connect := "'self'"
	if validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	with := func(base string, more []string) string {
		if len(more) == 0 {
			return base
		}
		return base + " " + strings.Join(more, " ")
	}
	frame := "'none'"
	if len(extra.Frame) > 0 {
		frame = strings.Join(extra.Frame, " ")
	}
	return "default-src 'self'; script-src " + with("'self'", extra.Script) + "; style-src 'self'; img-src 'self' data: blob:; " +
		"media-src 'self' blob:; connect-src " + with(connect, extra.Connect) + "; frame-src " + frame + "; worker-src 'self' blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// validHost accepts a Host header that can go in a CSP source as is:
// a name or address with an optional port.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// acceptsGzip reports whether Accept-Encoding allows gzip (q above 0).
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// notBuiltPage is what / and /f/{id} answer when the binary was built
// without the web app's bundle.
var notBuiltPage = []byte(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>GiveLive: web app not built</title></head>
<body>
<h1>The web app is not built</h1>
<p>This server was built without the web app's assets, so there is no page to show yet.
The API (<code>/api/v1</code>), the WebSocket (<code>/ws</code>) and HLS (<code>/hls/</code>) work as usual.</p>
<p>To build it, run <code>make web</code> in the repository (it runs <code>npm ci</code> in
<code>client/web</code> if needed, then <code>go generate ./client/web/...</code>), then rebuild
the server, or use <code>make run</code>, which does both.</p>
</body>
</html>
`)
