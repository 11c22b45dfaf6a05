package hls

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pathPrefix is where the handlers are mounted; they see the full path.
const pathPrefix = "/hls/"

const playlistName = "index.m3u8"

// Response header values, shared by every response (see segment for why
// sharing is safe). Keys are set in canonical form, directly in the map.
var (
	hdrPlaylistType  = []string{"application/vnd.apple.mpegurl"}
	hdrSegmentType   = []string{"video/mp2t"}
	hdrProblemType   = []string{"application/problem+json"}
	hdrPlaylistLive  = []string{"no-cache"}
	hdrPlaylistEnded = []string{"public, max-age=5"} // short: a restart reopens it
	hdrSegmentCache  = []string{"public, max-age=86400, immutable"}
	hdrNoStore       = []string{"no-store"}
	hdrAnyOrigin     = []string{"*"}
	hdrExpose        = []string{"Content-Length, Content-Range, Accept-Ranges, ETag, Retry-After"}
	hdrAcceptRanges  = []string{"bytes"}
	hdrAllow         = []string{"GET, HEAD, OPTIONS"}
	hdrAllowHeaders  = []string{"Range"}
	hdrPreflightAge  = []string{"86400"}
	hdrRetryAfter    = []string{"1"}
)

// Problem details viewers see.
const (
	detailNotLive      = "no stream is live for this fundraiser"
	detailEndedEarly   = "the stream ended before its first segment was ready"
	detailNotYet       = "the stream has begun but its first segment is not ready yet; retry shortly"
	detailLeftWindow   = "segment has left the live window"
	detailNoSegment    = "no such segment in this stream"
	detailNoResource   = "no HLS resource at this path: expected /hls/{fundraiser_id}/index.m3u8 or a segment it lists"
	detailBadMethod    = "only GET, HEAD and OPTIONS are allowed"
	detailBadRange     = "the requested range is not satisfiable"
	detailPrecondition = "a precondition of the request failed"
)

// ServeHTTP serves "/hls/{id}/index.m3u8" and "/hls/{id}/{segment}", where
// the id matches [A-Za-z0-9_-]{1,64}; anything else is 404.
//
// Answers: playlists as application/vnd.apple.mpegurl with Cache-Control
// no-cache while live (max-age=5 once ended), segments as video/mp2t,
// cacheable as immutable since their names are never reused, with Range
// support. Every response allows any origin (HLS is public video played
// from the web app and from OBS browser sources). Errors are RFC 9457
// problem documents, never cached: 404 for an unknown or ended stream and
// for a segment that left the window, 503 with Retry-After: 1 when a
// stream's first segment did not arrive within FirstSegmentWait (503,
// not 404, because players retry 5xx but give up on 4xx, and the segment is
// coming).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	waited := -1
	kind, code := s.serve(w, r, &waited)
	s.m.request(kind, code)
	if waited >= 0 && s.waitHook != nil {
		s.waitHook(waitNames[waited]) // tests only: the request is fully counted
	}
}

// serve answers r. waited receives the result of a wait for a first
// segment, if the request waited.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, waited *int) (kind, code int) {
	setCORS(w.Header())
	id, rest, ok := splitPath(r)
	if !ok {
		return kindOther, writeProblem(w, r, http.StatusNotFound, detailNoResource)
	}
	kind = kindPlaylist
	var gen string
	var seq uint64
	if rest != playlistName {
		kind = kindSegment
		if gen, seq, ok = parseSegmentName(rest); !ok {
			return kindOther, writeProblem(w, r, http.StatusNotFound, detailNoResource)
		}
	}
	if code, done := checkMethod(w, r); done {
		return kind, code
	}
	win := s.window(id)
	if win == nil {
		return kind, writeProblem(w, r, http.StatusNotFound, detailNotLive)
	}
	if kind == kindPlaylist {
		return kind, s.servePlaylist(w, r, win, waited)
	}
	return kind, s.serveSegment(w, r, win, gen, seq)
}

func (s *Server) servePlaylist(w http.ResponseWriter, r *http.Request, win *window, waited *int) int {
	snap := win.snap.Load()
	if snap.playlist == nil {
		if snap.ended {
			return writeProblem(w, r, http.StatusNotFound, detailEndedEarly)
		}
		var result int
		snap, result = s.awaitFirst(r.Context(), win, snap)
		s.m.waits[result].Inc()
		*waited = result
		switch result {
		case waitTimeout, waitClosed:
			w.Header()["Retry-After"] = hdrRetryAfter
			return writeProblem(w, r, http.StatusServiceUnavailable, detailNotYet)
		case waitEnded:
			return writeProblem(w, r, http.StatusNotFound, detailEndedEarly)
		case waitCanceled:
			return 499 // nobody to answer
		}
	}
	h := w.Header()
	h["Content-Type"] = hdrPlaylistType
	h["Cache-Control"] = snap.cacheControl
	h["Etag"] = snap.etag
	if inm := h0(r.Header, "If-None-Match"); inm != "" && etagListed(inm, snap.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	h["Content-Length"] = snap.contentLength
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		n, _ := w.Write(snap.playlist)
		s.m.served(n)
	}
	return http.StatusOK
}

// awaitFirst waits until the stream lists a segment or ends, the request
// is canceled, FirstSegmentWait passes or the Server closes. Each publish
// closes the previous snapshot's channel, so there is no polling.
func (s *Server) awaitFirst(ctx context.Context, win *window, snap *snapshot) (*snapshot, int) {
	t := time.NewTimer(s.cfg.FirstSegmentWait)
	defer t.Stop()
	if s.waitHook != nil {
		s.waitHook("start")
	}
	for {
		select {
		case <-snap.changed:
			snap = win.snap.Load()
			switch {
			case snap.playlist != nil:
				return snap, waitSegment
			case snap.ended:
				return snap, waitEnded
			}
		case <-t.C:
			return snap, waitTimeout
		case <-ctx.Done():
			return snap, waitCanceled
		case <-s.done:
			return snap, waitClosed
		}
	}
}

func (s *Server) serveSegment(w http.ResponseWriter, r *http.Request, win *window, gen string, seq uint64) int {
	if gen != win.gen { // from an earlier stream of this fundraiser
		return writeProblem(w, r, http.StatusNotFound, detailLeftWindow)
	}
	seg, gone := win.snap.Load().find(seq)
	if seg == nil {
		if gone {
			return writeProblem(w, r, http.StatusNotFound, detailLeftWindow)
		}
		return writeProblem(w, r, http.StatusNotFound, detailNoSegment)
	}
	h := w.Header()
	h["Content-Type"] = hdrSegmentType
	h["Cache-Control"] = hdrSegmentCache
	h["Etag"] = seg.etag
	h["Accept-Ranges"] = hdrAcceptRanges
	if isPlain(r.Header) {
		// The common case, without http.ServeContent's parsing.
		h["Content-Length"] = seg.contentLength
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			n, _ := w.Write(seg.data)
			s.m.served(n)
		}
		return http.StatusOK
	}
	cw := &contentWriter{ResponseWriter: w, r: r}
	http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(seg.data))
	s.m.served(cw.n)
	return cw.code
}

// isPlain reports whether a request has none of the headers that
// http.ServeContent would act on (with a zero modification time).
func isPlain(h http.Header) bool {
	return len(h["Range"]) == 0 && len(h["If-None-Match"]) == 0 &&
		len(h["If-Match"]) == 0 && len(h["If-Range"]) == 0
}

// contentWriter records what http.ServeContent answered, and turns its
// plain-text errors (416, 412) into problem documents.
type contentWriter struct {
	http.ResponseWriter
	r       *http.Request
	code    int
	n       int
	problem bool
}

func (c *contentWriter) WriteHeader(code int) {
	if c.code != 0 {
		return
	}
	c.code = code
	if code < 400 {
		c.ResponseWriter.WriteHeader(code)
		return
	}
	c.problem = true
	detail := detailPrecondition
	if code == http.StatusRequestedRangeNotSatisfiable {
		detail = detailBadRange
	}
	delete(c.Header(), "X-Content-Type-Options")
	writeProblem(c.ResponseWriter, c.r, code, detail)
}

func (c *contentWriter) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.problem {
		return len(b), nil // the problem document is already written
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += n
	return n, err
}

// splitPath parses /hls/{id}/{rest}. It rejects any escaped byte (so an
// encoded slash or dot cannot smuggle a second path segment through
// decoding), an id outside [A-Za-z0-9_-]{1,64}, and a rest that is empty,
// longer than 255 bytes or not made of [A-Za-z0-9_.-] starting with a
// letter or digit (so never "." or "..").
func splitPath(r *http.Request) (id, rest string, ok bool) {
	if r.URL.RawPath != "" {
		return "", "", false
	}
	p, found := strings.CutPrefix(r.URL.Path, pathPrefix)
	if !found {
		return "", "", false
	}
	id, rest, found = strings.Cut(p, "/")
	if !found || !validID(id) || !validName(rest) {
		return "", "", false
	}
	return id, rest, true
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func validName(name string) bool {
	if len(name) == 0 || len(name) > 255 || !isAlnum(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func setCORS(h http.Header) {
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	h["Access-Control-Expose-Headers"] = hdrExpose
}

// checkMethod answers anything but GET and HEAD: a CORS preflight with 204,
// other methods with 405. done reports whether it answered.
func checkMethod(w http.ResponseWriter, r *http.Request) (code int, done bool) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return 0, false
	case http.MethodOptions:
		h := w.Header()
		h["Allow"] = hdrAllow
		h["Access-Control-Allow-Methods"] = hdrAllow
		h["Access-Control-Allow-Headers"] = hdrAllowHeaders
		h["Access-Control-Max-Age"] = hdrPreflightAge
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, true
	default:
		w.Header()["Allow"] = hdrAllow
		return writeProblem(w, r, http.StatusMethodNotAllowed, detailBadMethod), true
	}
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// writeProblem answers status with a problem document and returns status.
// Errors are never cached: a stream that is not live now may be soon.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) int {
	body, _ := json.Marshal(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	body = append(body, '\n')
	h := w.Header()
	h["Content-Type"] = hdrProblemType
	h["Cache-Control"] = hdrNoStore
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	delete(h, "Etag")
	delete(h, "Accept-Ranges")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return status
}

// h0 returns the first value of a header whose key is given in canonical
// form, skipping Header.Get's canonicalization on the hot path.
func h0(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// etagListed reports whether an If-None-Match value names etag (or is *).
func etagListed(inm, etag string) bool {
	for v := range strings.SplitSeq(inm, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.TrimPrefix(v, "W/") == etag {
			return true
		}
	}
	return false
}
