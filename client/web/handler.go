package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
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
	// Catalog describes fundraisers for link previews: the Open Graph and
	// Twitter tags of /f/{id} and its image, /og/{id}.png. Nil gives
	// every page generic tags, and /f/{id} of an unknown id its page all
	// the same (the page then says there is no such fundraiser).
	Catalog Catalog
	// PublicURL is the server's base URL (https://live.example.org), for
	// the absolute links previews need. Empty: derived from each request.
	PublicURL string
}

// Catalog describes a fundraiser for link previews, which run no script.
type Catalog interface {
	// Preview describes fundraiser id; ErrNotFound (wrapped or not) when
	// there is none.
	Preview(ctx context.Context, id string) (Preview, error)
}

// ErrNotFound is what a Catalog answers for an unknown fundraiser.
var ErrNotFound = errors.New("not found")

// Preview is what a link preview says about a fundraiser. Amounts are
// already written for people ("$1,250.00").
type Preview struct {
	Title       string
	Broadcaster string
	Nonprofit   string
	Raised      string
	Goal        string
	Percent     int // of the goal raised, 0 to 100
	Donors      int64
	Status      string // scheduled, live or ended
	Live        bool   // video is arriving now
}

// Sources lists origins the Content-Security-Policy allows beside the
// page's own, per directive ("https://js.stripe.com").
type Sources struct {
	Script, Frame, Connect []string
}

// Handler serves the web app. See the package documentation.
type Handler struct {
	sources   Sources
	catalog   Catalog
	publicURL string
	log       *slog.Logger
	pages     map[string]*pageHTML // by page name (home, viewer, …); nil when the app is not built
	style     string               // the home page's stylesheet and its integrity, for the 404 page
	styleSRI  string
	assets    map[string]*asset // by path under /assets/
	images    *imageCache
}

// pageHTML is a page's HTML, cut where its per-request head goes.
type pageHTML struct {
	before, after []byte
}

// headMarker is where the page template takes the head the handler writes
// for each request (title, description, link preview tags).
var headMarker = []byte(`<meta name="x-givelive-head">`)

type asset struct {
	data      []byte
	ctype     string
	etag      string
	immutable bool
	gzipped   func() []byte // nil when not worth compressing
}

// Owns reports whether path is the web app's: its pages and assets, and
// every path the rest of the server does not answer (/api/…, /ws, /hls/…,
// /metrics, /healthz, /readyz), so that a person who mistypes an address
// gets a page that says so, not an API's error.
func Owns(path string) bool {
	switch {
	case path == "", path == "/ws", path == "/metrics", path == "/healthz", path == "/readyz",
		path == "/api", strings.HasPrefix(path, "/api/"), strings.HasPrefix(path, "/hls/"), strings.HasPrefix(path, "/replay/"),
		path == "/whip", strings.HasPrefix(path, "/whip/"): // WHIP publishers (ingest)
		return false
	}
	return strings.HasPrefix(path, "/")
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
	h := &Handler{assets: map[string]*asset{}, catalog: opts.Catalog, publicURL: strings.TrimRight(opts.PublicURL, "/"),
		log: log, images: newImageCache()}
	if opts.Sources != nil {
		h.sources = *opts.Sources
	}
	if err := h.load(files); err != nil {
		h.pages, h.assets = nil, map[string]*asset{}
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
func (h *Handler) Built() bool { return h.pages != nil }

// pageNames are the pages the build must hold.
var pageNames = []string{"home", "viewer", "studio", "overlay", "receipt"}

func (h *Handler) load(files fs.FS) error {
	var manifest struct {
		Pages map[string]struct {
			Style string `json:"style"`
		} `json:"pages"`
	}
	raw, err := fs.ReadFile(files, "manifest.json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return fmt.Errorf("dist/manifest.json: %w", err)
	}
	pages := map[string]*pageHTML{}
	for _, name := range pageNames {
		html, err := fs.ReadFile(files, "pages/"+name+".html")
		if err != nil {
			return err
		}
		before, after, ok := bytes.Cut(html, headMarker)
		if !ok {
			return fmt.Errorf("dist/pages/%s.html has no head marker", name)
		}
		pages[name] = &pageHTML{before: before, after: after}
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
	style := strings.TrimPrefix(manifest.Pages["home"].Style, "assets/")
	a, ok := h.assets[style]
	if !ok {
		return fmt.Errorf("dist/manifest.json names a stylesheet %q that is not in dist/assets", style)
	}
	sum := sha512.Sum384(a.data)
	h.pages, h.style, h.styleSRI = pages, "/assets/"+style, "sha384-"+base64.StdEncoding.EncodeToString(sum[:])
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

// id is a fundraiser's or donation's id as the API spells it.
const id = `[A-Za-z0-9_-]{1,64}`

var (
	viewerPath  = regexp.MustCompile(`^/f/(` + id + `)$`)
	receiptPath = regexp.MustCompile(`^/d/(` + id + `)$`)
	// overlayPath: the alerts (/overlay/{id}) and the widgets, each a URL of its own.
	overlayPath = regexp.MustCompile(`^/overlay/(` + id + `)(?:/(alerts|goal|latest|top|ticker))?$`)
	imagePath   = regexp.MustCompile(`^/og/(` + id + `)\.png$`)
)

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
	case p == "/":
		h.servePage(w, r, "home", pageOptions{head: h.genericHead(r, "GiveLive: live-stream fundraisers",
			"Watch live streams that raise money for verified nonprofits, and give without leaving the stream.")})
	case p == "/studio":
		h.servePage(w, r, "studio", pageOptions{head: h.genericHead(r, "Studio · GiveLive", "Run your fundraiser: go live, thank donors, moderate chat."),
			frames: true})
	case strings.HasPrefix(p, "/f/"):
		m := viewerPath.FindStringSubmatch(p)
		if m == nil {
			h.notFound(w, r, "There is no fundraiser here", "This address does not name a fundraiser. Check the link, or see who is live now.")
			return
		}
		h.serveViewer(w, r, m[1])
	case strings.HasPrefix(p, "/d/"):
		if !receiptPath.MatchString(p) {
			h.notFound(w, r, "There is no receipt here", "This address does not name a donation. Check the link in your receipt.")
			return
		}
		h.servePage(w, r, "receipt", pageOptions{head: h.genericHead(r, "Your gift · GiveLive", "A donation's receipt."), noindex: true})
	case strings.HasPrefix(p, "/overlay/"):
		if !overlayPath.MatchString(p) {
			h.notFound(w, r, "There is no overlay here", "Copy the overlay's address again from your studio.")
			return
		}
		h.servePage(w, r, "overlay", pageOptions{head: h.genericHead(r, "Overlay · GiveLive", ""), overlay: true, noindex: true})
	case strings.HasPrefix(p, "/og/"):
		m := imagePath.FindStringSubmatch(p)
		if m == nil {
			h.notFound(w, r, "Page not found", "")
			return
		}
		h.serveImage(w, r, m[1])
	case strings.HasPrefix(p, "/assets/"):
		h.serveAsset(w, r, strings.TrimPrefix(p, "/assets/"))
	default:
		h.notFound(w, r, "Page not found", "There is nothing at this address. It may have moved, or the link may be mistyped.")
	}
}

// pageOptions are what a page's answer varies by.
type pageOptions struct {
	head    []byte
	status  int  // 0: 200
	frames  bool // the page shows the app's own pages in frames (the studio's overlay preview)
	overlay bool // an OBS overlay: may be framed by the app, may show images and sound from https URLs
	noindex bool
}

// serveViewer answers /f/{id} with link preview tags from the catalog.
func (h *Handler) serveViewer(w http.ResponseWriter, r *http.Request, id string) {
	if h.catalog == nil {
		h.servePage(w, r, "viewer", pageOptions{head: h.genericHead(r, "GiveLive", "A live-stream fundraiser.")})
		return
	}
	pv, err := h.catalog.Preview(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		h.notFound(w, r, "There is no fundraiser here", "No fundraiser has this address. It may have been mistyped; see who is live now.")
		return
	case err != nil:
		h.log.Warn("link preview unavailable", "fundraiser", id, "err", err)
		h.servePage(w, r, "viewer", pageOptions{head: h.genericHead(r, "GiveLive", "A live-stream fundraiser.")})
		return
	}
	h.servePage(w, r, "viewer", pageOptions{head: h.previewHead(r, id, pv)})
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request, name string, o pageOptions) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy(r.Host, h.sources, o.frames, o.overlay))
	hdr.Set("Referrer-Policy", "same-origin")
	if o.noindex {
		hdr.Set("X-Robots-Tag", "noindex")
	}
	if h.pages == nil {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(notBuiltPage)
		return
	}
	pg := h.pages[name]
	page := make([]byte, 0, len(pg.before)+len(o.head)+len(pg.after))
	page = append(append(append(page, pg.before...), o.head...), pg.after...)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	// Revalidate every time: the page names the current assets, and its
	// preview tags the current totals.
	hdr.Set("Cache-Control", "no-cache")
	if o.status != 0 {
		w.WriteHeader(o.status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(page)
		}
		return
	}
	hdr.Set("ETag", etag(page))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page))
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets[name]
	if !ok {
		h.notFound(w, r, "Page not found", "")
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

// notFound answers 404 with a page that says so in plain words and
// offers a way on: no script, the app's stylesheet.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, title, text string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hdr.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(http.StatusNotFound)
	if r.Method == http.MethodHead {
		return
	}
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(` · GiveLive</title>`)
	if h.style != "" {
		fmt.Fprintf(&b, `<link rel="stylesheet" href="%s" integrity="%s">`, h.style, h.styleSRI)
	}
	b.WriteString(`</head><body><div class="page center"><main class="card lost" data-testid="not-found"><p class="brand">GiveLive</p><h1>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</h1>`)
	if text != "" {
		b.WriteString(`<p>` + html.EscapeString(text) + `</p>`)
	}
	b.WriteString(`<p class="lost-links"><a href="/">See who is live</a> <a href="/studio">Start a fundraiser</a></p></main></div></body></html>` + "\n")
	_, _ = w.Write(b.Bytes())
}

// contentSecurityPolicy allows what the app does and nothing else: its own
// scripts and styles (no inline code), media from the page's origin and
// from blob: URLs (Media Source Extensions), fetches and WebSockets to its
// own origin, and whatever extra sources name (Stripe.js, its frames and
// its API). 'self' covers ws: and wss: in current browsers; the explicit
// ws://host and wss://host are for older ones.
func contentSecurityPolicy(host string, extra Sources, frames, overlay bool) string {
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
	if frames {
		frame = with("'self'", extra.Frame)
	}
	img, media, ancestors := "'self' data: blob:", "'self' blob:", "'none'"
	if overlay {
		// A streamer's own alert image or GIF and sound, from an https
		// URL; and the studio's preview frames the overlay.
		img, media, ancestors = img+" https:", media+" https:", "'self'"
	}
	return "default-src 'self'; script-src " + with("'self'", extra.Script) + "; style-src 'self'; img-src " + img + "; " +
		"media-src " + media + "; connect-src " + with(connect, extra.Connect) + "; frame-src " + frame + "; worker-src 'self' blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors " + ancestors
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
