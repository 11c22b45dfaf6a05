package hls

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pathPrefix is where the handlers are mounted; they see the full path.
const pathPrefix = "/hls/"

// playlistName is the multivariant playlist every player starts from.
const playlistName = "index.m3u8"

// Response header values, shared by every response: net/http never
// modifies a header value slice, and these have len == cap, so an append
// elsewhere copies rather than writing into them. Keys are set in
// canonical form, directly in the map.
var (
	hdrPlaylistType  = []string{"application/vnd.apple.mpegurl"}
	hdrProblemType   = []string{"application/problem+json"}
	hdrPlaylistLive  = []string{"no-cache"}
	hdrPlaylistEnded = []string{"public, max-age=5"} // short: a new publish reopens it
	hdrFileCache     = []string{"public, max-age=86400, immutable"}
	hdrNoStore       = []string{"no-store"}
	hdrAnyOrigin     = []string{"*"}
	hdrExpose        = []string{"Content-Length, Content-Range, Accept-Ranges, ETag, Retry-After"}
	hdrAcceptRanges  = []string{"bytes"}
	hdrAllow         = []string{"GET, HEAD, OPTIONS"}
	hdrAllowHeaders  = []string{"Range"}
	hdrPreflightAge  = []string{"86400"}
	hdrRetryAfter    = []string{"1"}
	hdrVideoMP4      = []string{"video/mp4"}
)

// Problem details viewers see.
const (
	detailNotLive        = "no stream is live for this fundraiser"
	detailEndedEarly     = "the stream ended before its first segment was ready"
	detailNotYet         = "the stream has begun but its first segment is not ready yet; retry shortly"
	detailBlockedTooLong = "the requested part did not arrive in time; retry shortly"
	detailBadBlocking    = "the _HLS_msn, _HLS_part or _HLS_skip parameter is malformed or asks too far ahead"
	detailNoSegment      = "no such file in this stream (it may have left the live window)"
	detailMuxer          = "the stream could not be served"
	detailNoResource     = "no HLS resource at this path: expected /hls/{fundraiser_id}/index.m3u8 or a file it names"
	detailBadMethod      = "only GET, HEAD and OPTIONS are allowed"
	detailBadRange       = "the requested range is not satisfiable"
	detailPrecondition   = "a precondition of the request failed"
)

// ServeHTTP serves "/hls/{id}/index.m3u8" and every file the playlists
// name, where the id matches [A-Za-z0-9_-]{1,64}; anything else is 404.
//
// Answers: playlists as application/vnd.apple.mpegurl with Cache-Control
// no-cache while live (max-age=5 once ended); segments, parts and init
// sections as video/mp4 (audio/mp4 for an audio-only stream), cacheable as
// immutable since their names are never reused, with Range support.
// Blocking playlist reloads (_HLS_msn, _HLS_part) and preload hints wait
// for their part, up to BlockingWait. Every response allows any origin (HLS
// is public video played from the web app and from OBS browser sources).
// Errors are RFC 9457 problem documents, never cached: 404 for an unknown
// or ended stream and for a file that left the window, 503 with
// Retry-After: 1 when a stream's first segment did not arrive within
// FirstSegmentWait (503, not 404, because players retry 5xx but give up on
// 4xx, and the segment is coming).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	waited := -1
	kind, code := s.serve(w, r, &waited)
	s.m.request(kind, code)
	if waited >= 0 && s.waitHook != nil {
		s.waitHook(waitNames[waited]) // tests only: the request is fully counted
	}
}

// serve answers r. waited receives the result of a wait for a first
// segment, if the request waited and did not get one.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, waited *int) (kind, code int) {
	setCORS(w.Header())
	id, name, ok := splitPath(r)
	if !ok {
		return kindOther, writeProblem(w, r, http.StatusNotFound, detailNoResource)
	}
	kind = kindOf(name)
	if code, done := checkMethod(w, r); done {
		return kind, code
	}
	// A stream that closes under a request (superseded, or ended and
	// frozen) sends it back here; the next state answers it.
	for try := range 3 {
		win := s.window(id)
		if win == nil {
			return kind, writeProblem(w, r, http.StatusNotFound, detailNotLive)
		}
		ws := win.state.Load()
		switch {
		case ws.live != nil:
			// A blocking position names a part of the stream it was
			// asked of; the successor answers with its playlist as is.
			code, next := s.serveLive(w, r, ws.live, name, try > 0, waited)
			if next == answered {
				return kind, code
			}
		case ws.ended != nil:
			return kind, s.serveFrozen(w, r, ws.ended, name)
		default:
			return kind, writeProblem(w, r, http.StatusNotFound, detailEndedEarly)
		}
	}
	w.Header()["Retry-After"] = hdrRetryAfter
	return kind, writeProblem(w, r, http.StatusServiceUnavailable, detailNotYet)
}

func kindOf(name string) int {
	switch {
	case isPlaylist(name):
		return kindPlaylist
	case strings.HasSuffix(name, ".mp4"):
		return kindSegment
	}
	return kindOther
}

// writeRecorded answers with a muxer's answer, with our headers.
func (s *Server) writeRecorded(w http.ResponseWriter, r *http.Request, name string, res *recorded, live bool) int {
	h := w.Header()
	if isPlaylist(name) {
		h["Content-Type"] = hdrPlaylistType
		h["Cache-Control"] = hdrPlaylistLive
		if !live {
			h["Cache-Control"] = hdrPlaylistEnded
		}
		h["Content-Length"] = res.contentLength
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			n, _ := w.Write(res.body)
			s.m.served(n)
		}
		return http.StatusOK
	}
	h["Content-Type"] = res.contentType
	if res.contentType == nil {
		h["Content-Type"] = hdrVideoMP4
	}
	h["Cache-Control"] = hdrFileCache
	h["Etag"] = res.etag
	h["Accept-Ranges"] = hdrAcceptRanges
	if isPlain(r.Header) {
		// The common case, without http.ServeContent's parsing.
		h["Content-Length"] = res.contentLength
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			n, _ := w.Write(res.body)
			s.m.served(n)
		}
		return http.StatusOK
	}
	cw := &contentWriter{ResponseWriter: w, r: r}
	http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(res.body))
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
