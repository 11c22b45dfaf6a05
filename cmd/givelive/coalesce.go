package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/givelive/givelive/ingest/hls"
)

// Bounds of the coalescing proxy.
const (
	// maxUpstreamBody bounds one answer held for many viewers (a segment
	// at a high bitrate with a long keyframe interval is tens of MB).
	maxUpstreamBody = 64 << 20
	// proxyCacheBytes bounds the finished files (init, segments, parts)
	// kept to answer later viewers without asking the ingesting node again.
	proxyCacheBytes = 64 << 20
)

// upstreamFlight is one request to the ingesting node that every viewer of
// this node asking for the same file at the same blocking position shares:
// two thousand players held on the next part through this node cost the
// ingesting node one request.
type upstreamFlight struct {
	done   chan struct{}
	start  time.Time
	joined int // viewers waiting on it (guarded by flightsMu)
	res    *upstreamAnswer
	err    error
}

// upstreamAnswer is the ingesting node's answer, held whole. Immutable.
type upstreamAnswer struct {
	status int
	header http.Header // the forwarded ones
	body   []byte
	// ready is when the ingesting node had it: the flight's start plus the
	// hold it reported in Server-Timing.
	ready time.Time
	held  bool
}

// coalescedHeaders are the ingesting node's headers a viewer gets.
var coalescedHeaders = []string{
	"Content-Type", "Cache-Control", "Etag", "Accept-Ranges", "Last-Modified", "Retry-After",
	"Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
}

// coalescable reports whether r may share an answer with others: a plain
// GET, without ranges or conditions (those go through as they are).
func coalescable(r *http.Request) bool {
	h := r.Header
	return r.Method == http.MethodGet && len(h["Range"]) == 0 && len(h["If-None-Match"]) == 0 &&
		len(h["If-Modified-Since"]) == 0 && len(h["If-Range"]) == 0 && len(h["If-Match"]) == 0
}

// coalesce answers r for target t from a shared request to the ingesting
// node, or from the cache of finished files.
func (h *crossNodeHLS) coalesce(w http.ResponseWriter, r *http.Request, t *proxyTarget) {
	query := ""
	file := !strings.HasSuffix(t.path, ".m3u8")
	if !file {
		var ok bool
		if query, ok = hls.BlockingQuery(r.URL.RawQuery); !ok {
			writeHLSProblem(w, r, http.StatusBadRequest, "the _HLS_msn, _HLS_part or _HLS_skip parameter is malformed or asks too far ahead")
			return
		}
	}
	key := t.host + " " + t.base.Scheme + "://" + t.base.Host + strings.TrimSuffix(t.base.Path, "/") + t.path + "?" + query
	if file {
		if res, ok := h.cache.Get(key); ok {
			h.writeUpstream(w, res, time.Time{})
			return
		}
	}
	arrived := time.Now()
	f := h.flight(key, t, query)
	select {
	case <-f.done:
	case <-r.Context().Done():
		return // the viewer left; the flight goes on for the others
	}
	if f.err != nil {
		if r.Context().Err() != nil {
			return
		}
		h.proxyError(w, r.WithContext(context.WithValue(r.Context(), proxyTargetKey{}, t)), f.err)
		return
	}
	h.writeUpstream(w, f.res, arrived)
}

// flight returns the shared request for key, starting it if none is under
// way.
func (h *crossNodeHLS) flight(key string, t *proxyTarget, query string) *upstreamFlight {
	h.flightsMu.Lock()
	defer h.flightsMu.Unlock()
	if f := h.flights[key]; f != nil {
		f.joined++
		return f
	}
	f := &upstreamFlight{done: make(chan struct{}), start: time.Now(), joined: 1}
	h.flights[key] = f
	h.upstream.Inc()
	go h.fly(f, key, t, query)
	return f
}

func (h *crossNodeHLS) fly(f *upstreamFlight, key string, t *proxyTarget, query string) {
	defer func() {
		h.flightsMu.Lock()
		delete(h.flights, key)
		h.flightsMu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), proxyTimeout)
	defer cancel()
	u := *t.base
	u.Path = strings.TrimSuffix(t.base.Path, "/") + t.path
	u.RawPath, u.RawQuery = "", query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		f.err = err
		return
	}
	req.Host = t.host // the public host, which the other node's host guard answers for
	req.Header.Set(hopHeader, "1")
	res, err := h.client.Do(req)
	if err != nil {
		f.err = err
		return
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxUpstreamBody+1))
	switch {
	case err != nil:
		f.err = err
		return
	case len(body) > maxUpstreamBody:
		f.err = errors.New("the answer is too large to share")
		return
	}
	a := &upstreamAnswer{status: res.StatusCode, header: http.Header{}, body: body, ready: f.start}
	for _, k := range coalescedHeaders {
		if v := res.Header[k]; len(v) > 0 {
			a.header[k] = v
		}
	}
	if dur, ok := strings.CutPrefix(res.Header.Get("Server-Timing"), "hold;dur="); ok {
		if ms, err := strconv.ParseFloat(dur, 64); err == nil {
			a.ready, a.held = f.start.Add(time.Duration(ms*float64(time.Millisecond))), true
		}
	}
	f.res = a
	if res.StatusCode == http.StatusOK && !strings.HasSuffix(t.path, ".m3u8") {
		h.cache.Put(key, a)
	}
}

// writeUpstream answers with the ingesting node's answer. A viewer that
// arrived before the answer was ready is told in Server-Timing how long it
// was held for it, counted from the ingesting node's own readiness.
func (h *crossNodeHLS) writeUpstream(w http.ResponseWriter, a *upstreamAnswer, arrived time.Time) {
	hdr := w.Header()
	for k, v := range a.header {
		hdr[k] = v
	}
	hdr.Set("Content-Length", strconv.Itoa(len(a.body)))
	if a.held && !arrived.IsZero() {
		hold := max(a.ready.Sub(arrived), 0)
		hdr.Set("Server-Timing", "hold;dur="+strconv.FormatFloat(float64(hold.Microseconds())/1000, 'f', 3, 64))
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}
