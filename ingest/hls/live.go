package hls

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// recorded is an answer of the muxer, held whole: shared by every request
// of a flight, cached for finished files, frozen at the end of a stream.
// Immutable once made.
type recorded struct {
	code          int
	contentType   []string
	contentLength []string
	etag          []string // files only
	body          []byte
}

// recorder is the http.ResponseWriter the muxer answers into.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

// result freezes what the muxer answered. A muxer that wrote nothing has
// no such file: that is 404.
func (r *recorder) result(name string) *recorded {
	res := &recorded{code: r.code, body: r.body.Bytes()}
	if res.code == 0 {
		res.code = http.StatusNotFound
	}
	if ct := r.header.Get("Content-Type"); ct != "" {
		res.contentType = []string{ct}
	}
	res.contentLength = []string{strconv.Itoa(len(res.body))}
	if !isPlaylist(name) {
		res.etag = []string{`"` + name + `"`}
	}
	return res
}

// flight is one muxer request that every viewer asking for the same file
// at the same blocking position shares: two thousand players held on the
// next part cost one playlist render.
type flight struct {
	done chan struct{}
	res  *recorded
}

// startFlight returns the flight for name and query, starting one if none
// is under way. It returns nil once the muxer has closed.
func (st *Stream) startFlight(name, query string) *flight {
	key := name + "?" + query
	st.fmu.Lock()
	defer st.fmu.Unlock()
	if st.closed.Load() {
		return nil
	}
	if f := st.flights[key]; f != nil {
		return f
	}
	f := &flight{done: make(chan struct{})}
	st.flights[key] = f
	st.fwg.Add(1)
	st.srv.m.flights.Inc()
	go st.fly(f, key, name, query)
	return f
}

// fly asks the muxer; it may block there until the file or the playlist
// position exists, or the muxer closes.
func (st *Stream) fly(f *flight, key, name, query string) {
	defer st.fwg.Done()
	req := &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Path: "/" + name, RawQuery: query},
		Header: http.Header{},
	}
	rec := &recorder{header: http.Header{}}
	if contain(st.srv.log, "serve "+name, st.w.id, func() { st.muxer.Handle(rec, req) }) {
		st.srv.m.panics.Inc()
		rec = &recorder{header: http.Header{}, code: http.StatusInternalServerError}
	}
	f.res = rec.result(name)
	if f.res.code == http.StatusOK && !isPlaylist(name) {
		st.cache.Put(name, f.res)
	}
	st.fmu.Lock()
	delete(st.flights, key)
	st.fmu.Unlock()
	close(f.done)
}

// Results of serving a request from a live stream that did not answer it.
const (
	answered = iota
	retry    // the stream closed meanwhile: ask the window again
)

// serveLive answers r for name from a live stream; fresh ignores the
// request's blocking position (it was asked of a stream since replaced).
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request, st *Stream, name string, fresh bool, waited *int) (code, next int) {
	query := ""
	if isPlaylist(name) && !fresh {
		var ok bool
		if query, ok = BlockingQuery(r.URL.RawQuery); !ok {
			return writeProblem(w, r, http.StatusBadRequest, detailBadBlocking), answered
		}
	}
	if res, ok := st.cache.Get(name); ok {
		return s.writeRecorded(w, r, name, res, true), answered
	}
	f := st.startFlight(name, query)
	if f == nil {
		return 0, retry
	}
	select {
	case <-f.done:
	default:
		start := time.Now()
		result := s.await(r, st, f, name, query)
		if waited != nil && name == playlistName {
			*waited = result
		}
		if result == waitDone {
			// How long the request was held for its part: a player (or a
			// benchmark) tells from it how soon it had the part once made.
			w.Header()["Server-Timing"] = []string{"hold;dur=" + strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 3, 64)}
		}
		if result != waitDone {
			switch result {
			case waitGone:
				return 0, retry
			case waitCanceled:
				return 499, answered // nobody to answer
			case waitTimeout, waitClosed:
				w.Header()["Retry-After"] = hdrRetryAfter
				if isPlaylist(name) && query == "" {
					return writeProblem(w, r, http.StatusServiceUnavailable, detailNotYet), answered
				}
				return writeProblem(w, r, http.StatusServiceUnavailable, detailBlockedTooLong), answered
			}
		}
	}
	res := f.res
	switch {
	case res.code == http.StatusInternalServerError && st.closed.Load():
		return 0, retry // the muxer closed under the request
	case res.code == http.StatusOK:
		return s.writeRecorded(w, r, name, res, true), answered
	case res.code == http.StatusBadRequest:
		return writeProblem(w, r, http.StatusBadRequest, detailBadBlocking), answered
	case res.code == http.StatusNotFound:
		return writeProblem(w, r, http.StatusNotFound, detailNoSegment), answered
	default:
		s.log.Warn("hls muxer answered with an error", "fundraiser", st.w.id, "file", name, "status", res.code)
		return writeProblem(w, r, http.StatusInternalServerError, detailMuxer), answered
	}
}

// Results of a request that waited on a flight.
const (
	waitDone     = iota // the muxer answered
	waitTimeout         // FirstSegmentWait or BlockingWait passed
	waitGone            // the stream ended or was superseded
	waitCanceled        // the client left
	waitClosed          // the Server closed
	numWaits
)

var waitNames = [numWaits]string{"segment", "timeout", "ended", "canceled", "closed"}

// await waits for f, bounded by the viewer's context and by
// FirstSegmentWait for a plain playlist request (the first segment is
// being made) or BlockingWait for a blocking one.
func (s *Server) await(r *http.Request, st *Stream, f *flight, name, query string) int {
	limit := s.cfg.BlockingWait
	first := isPlaylist(name) && query == ""
	if first {
		limit = s.cfg.FirstSegmentWait
		if s.waitHook != nil {
			s.waitHook("start")
		}
	}
	s.m.held.Add(1)
	defer s.m.held.Add(-1)
	t := time.NewTimer(limit)
	defer t.Stop()
	result := waitDone
	select {
	case <-f.done:
	case <-st.gone:
		result = waitGone
	case <-t.C:
		result = waitTimeout
	case <-r.Context().Done():
		result = waitCanceled
	case <-s.done:
		result = waitClosed
	}
	if first {
		s.m.waits[result].Inc()
	}
	return result
}

// BlockingQuery keeps the LL-HLS delivery directives of a playlist
// request's query (RFC 8216bis 6.2.5: _HLS_msn, _HLS_part, _HLS_skip),
// checked and in a fixed order, so that requests for the same position
// can share one answer whatever else their query holds. It reports false
// for a malformed directive.
func BlockingQuery(raw string) (string, bool) {
	if raw == "" {
		return "", true
	}
	var msn, part, skip string
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		switch k {
		case "_HLS_msn":
			msn = v
		case "_HLS_part":
			part = v
		case "_HLS_skip":
			skip = v
		default:
			continue // anything else is not ours to read
		}
		if strings.ContainsAny(v, "%+") {
			return "", false // the directives are plain digits or words
		}
	}
	for _, n := range [...]string{msn, part} {
		if n == "" {
			continue
		}
		if _, err := strconv.ParseUint(n, 10, 32); err != nil {
			return "", false
		}
	}
	if skip != "" && skip != "YES" && skip != "v2" {
		return "", false
	}
	var b strings.Builder
	for _, kv := range [...][2]string{{"_HLS_msn", msn}, {"_HLS_part", part}, {"_HLS_skip", skip}} {
		if kv[1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(kv[1])
	}
	return b.String(), true
}

func isPlaylist(name string) bool { return strings.HasSuffix(name, ".m3u8") }
