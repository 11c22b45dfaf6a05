package hls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is what a PathFunc returns, wrapped or not, for a fundraiser
// with no stream upstream; the Proxy answers 404.
var ErrNotFound = errors.New("hls: no stream for this fundraiser")

// PathFunc resolves a fundraiser id to the upstream server's path for its
// stream, such as mediamtx's "live/STREAMKEY". It is called on every
// request (players poll the playlist every few seconds), so it should
// answer from memory.
type PathFunc func(ctx context.Context, id string) (string, error)

// Proxy serves /hls/{id}/{name} from an upstream HLS server (mediamtx's),
// fetching upstream + "/" + path(id) + "/" + name. The upstream path holds
// the stream key, which must never reach a viewer, so the Proxy:
//
//   - forwards no upstream header but a short allowlist (never Location or
//     Set-Cookie), and none whose value contains the path;
//   - follows no redirect (a 3xx upstream is a 502) and never forwards an
//     upstream error body;
//   - makes URIs in playlists that name the upstream path relative (so they
//     resolve under /hls/{id}/), and refuses with 502 a playlist in which
//     the path or the key (its last element, when 8 bytes or more) still
//     appears;
//   - never logs the path or an upstream URL.
//
// It is safe for concurrent use. Close releases its idle upstream
// connections.
type Proxy struct {
	upstream  *url.URL
	path      PathFunc
	log       *slog.Logger
	transport *http.Transport
	client    *http.Client
}

// maxPlaylistBytes bounds an upstream playlist, which is read whole to be
// checked; mediamtx's are a few kilobytes.
const maxPlaylistBytes = 1 << 20

// Proxy problem details.
const (
	detailUpstreamDown   = "the media server is unavailable"
	detailUpstreamStatus = "the media server gave an unexpected answer"
	detailLookup         = "the stream could not be looked up; retry shortly"
)

// NewProxy returns a Proxy for upstream, an http or https URL without query
// (its path, if any, prefixes every upstream path). A nil logger discards.
// It returns a *Proxy, an http.Handler, so its Close is reachable.
func NewProxy(upstream *url.URL, path PathFunc, logger *slog.Logger) (*Proxy, error) {
	switch {
	case upstream == nil:
		return nil, errors.New("hls: proxy upstream is nil")
	case upstream.Scheme != "http" && upstream.Scheme != "https", upstream.Host == "":
		return nil, fmt.Errorf("hls: proxy upstream %q is not an http(s) URL with a host", upstream.Redacted())
	case upstream.RawQuery != "" || upstream.Fragment != "" || upstream.User != nil:
		return nil, fmt.Errorf("hls: proxy upstream %q has a query, fragment or user info", upstream.Redacted())
	case path == nil:
		return nil, errors.New("hls: proxy PathFunc is nil")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u := *upstream
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256, // one upstream, many concurrent viewers
		IdleConnTimeout:     90 * time.Second,
		// LL-HLS blocking playlist reloads legitimately take a few seconds.
		ResponseHeaderTimeout: 15 * time.Second,
	}
	return &Proxy{
		upstream:  &u,
		path:      path,
		log:       logger,
		transport: tr,
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// Close closes the idle upstream connections.
func (p *Proxy) Close() { p.transport.CloseIdleConnections() }

// ServeHTTP answers like Server.ServeHTTP: same paths, methods, CORS and
// problem documents; 404 for an unknown id or a stream upstream does not
// have, 502 when upstream is down or answers oddly.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	id, name, ok := splitPath(r)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, detailNoResource)
		return
	}
	if _, done := checkMethod(w, r); done {
		return
	}
	ctx := r.Context()
	upPath, err := p.path(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, detailNotLive)
		return
	case ctx.Err() != nil:
		return // the viewer left
	case err != nil:
		p.log.Error("hls proxy failed to resolve the upstream path", "fundraiser", id, "err", err)
		w.Header()["Retry-After"] = hdrRetryAfter
		writeProblem(w, r, http.StatusServiceUnavailable, detailLookup)
		return
	}
	target, ok := p.target(upPath, name)
	if !ok {
		p.log.Error("hls proxy: PathFunc returned an unusable path", "fundraiser", id)
		writeProblem(w, r, http.StatusBadGateway, detailUpstreamStatus)
		return
	}
	p.forward(w, r, id, target, strings.HasSuffix(name, ".m3u8"))
}

// upstreamTarget is one request's upstream URL and the strings that must
// not leak from its answer.
type upstreamTarget struct {
	url     url.URL
	dirs    []string // the path's directory as upstream URLs may name it, longest first
	secrets []string
}

// target builds the upstream URL of name under upPath. upPath's elements
// must be non-empty, not dot segments, and free of '?', '#', '%', '\' and
// control bytes; each is escaped.
func (p *Proxy) target(upPath, name string) (upstreamTarget, bool) {
	elems := strings.Split(strings.Trim(upPath, "/"), "/")
	escaped := make([]string, len(elems))
	for i, e := range elems {
		if e == "" || e == "." || e == ".." || strings.ContainsAny(e, "?#%\\") || hasControl(e) {
			return upstreamTarget{}, false
		}
		escaped[i] = url.PathEscape(e)
	}
	plain := strings.Join(elems, "/")
	esc := strings.Join(escaped, "/")
	t := upstreamTarget{url: *p.upstream}
	t.url.Path = p.upstream.Path + "/" + plain + "/" + name
	t.url.RawPath = p.upstream.Path + "/" + esc + "/" + name
	root := p.upstream.Scheme + "://" + p.upstream.Host
	for _, dir := range unique(esc, plain) {
		rooted := p.upstream.Path + "/" + dir + "/"
		t.dirs = append(t.dirs, root+rooted, rooted)
		t.secrets = append(t.secrets, dir)
	}
	if key := elems[len(elems)-1]; len(key) >= 8 {
		t.secrets = append(t.secrets, unique(key, escaped[len(escaped)-1])...)
	}
	return t, true
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, id string, t upstreamTarget, playlist bool) {
	u := t.url
	if playlist {
		u.RawQuery = llhlsQuery(r.URL.Query())
	}
	// Always GET: a HEAD's headers are derived from the real answer, and
	// a playlist must be read to be checked.
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		p.log.Error("hls proxy failed to build the upstream request", "fundraiser", id)
		writeProblem(w, r, http.StatusBadGateway, detailUpstreamStatus)
		return
	}
	if !playlist {
		for _, k := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
			if v := r.Header[k]; len(v) > 0 {
				req.Header[k] = v
			}
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if r.Context().Err() != nil {
			return // the viewer left
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error's text holds the upstream URL, key included
		}
		p.log.Warn("hls proxy: upstream request failed", "fundraiser", id, "err", err)
		writeProblem(w, r, http.StatusBadGateway, detailUpstreamDown)
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		writeProblem(w, r, http.StatusNotFound, detailNotLive)
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent &&
		resp.StatusCode != http.StatusNotModified:
		p.log.Warn("hls proxy: unexpected upstream status", "fundraiser", id, "status", resp.StatusCode)
		writeProblem(w, r, http.StatusBadGateway, detailUpstreamStatus)
	case playlist:
		p.servePlaylist(w, r, id, t, resp)
	default:
		p.copyThrough(w, r, t, resp)
	}
}

// servePlaylist rewrites and checks an upstream playlist before serving it.
func (p *Proxy) servePlaylist(w http.ResponseWriter, r *http.Request, id string, t upstreamTarget, resp *http.Response) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPlaylistBytes+1))
	switch {
	case err != nil:
		p.log.Warn("hls proxy: reading the upstream playlist failed", "fundraiser", id, "err", err)
		writeProblem(w, r, http.StatusBadGateway, detailUpstreamDown)
		return
	case len(body) > maxPlaylistBytes:
		p.log.Warn("hls proxy: upstream playlist too large", "fundraiser", id)
		writeProblem(w, r, http.StatusBadGateway, detailUpstreamStatus)
		return
	}
	for _, dir := range t.dirs {
		body = bytes.ReplaceAll(body, []byte(dir), nil)
	}
	for _, s := range t.secrets {
		if bytes.Contains(body, []byte(s)) {
			p.log.Error("hls proxy: upstream playlist names the stream key in a way it cannot rewrite; refused", "fundraiser", id)
			writeProblem(w, r, http.StatusBadGateway, detailUpstreamStatus)
			return
		}
	}
	h := w.Header()
	h["Content-Type"] = hdrPlaylistType
	h["Cache-Control"] = hdrPlaylistLive
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// forwardedHeaders are the only upstream response headers a viewer sees.
var forwardedHeaders = []string{
	"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Etag", "Last-Modified", "Cache-Control",
}

// copyThrough streams a segment (or 206/304) through.
func (p *Proxy) copyThrough(w http.ResponseWriter, r *http.Request, t upstreamTarget, resp *http.Response) {
	h := w.Header()
	for _, k := range forwardedHeaders {
		if v := resp.Header[k]; len(v) > 0 && !containsAny(v, t.secrets) {
			h[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead || resp.StatusCode == http.StatusNotModified {
		return
	}
	_, _ = io.Copy(w, resp.Body) // a viewer that leaves midway is no error of ours
}

// llhlsQuery keeps only the LL-HLS delivery directives (RFC 8216bis 6.2.5)
// from a viewer's query: anything else could address upstream features
// (mediamtx reads credentials from the query) that viewers must not reach.
func llhlsQuery(q url.Values) string {
	for k := range q {
		if !strings.HasPrefix(k, "_HLS_") {
			delete(q, k)
		}
	}
	return q.Encode()
}

func containsAny(vs, subs []string) bool {
	for _, v := range vs {
		for _, s := range subs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// unique returns a and, if different, b.
func unique(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}
