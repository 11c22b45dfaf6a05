package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/hub/redisbroker"
	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/fifocache"
	"github.com/givelive/givelive/internal/mediadir"
)

// hopHeader marks an HLS request one node proxied to another. A node never
// proxies a request that carries it, so two nodes that disagree about where
// a stream is cannot bounce a request between them.
const hopHeader = "X-GiveLive-Hop"

// newMediaDirectory opens the media directory shared through
// GIVELIVE_REDIS_URL, or returns nil without Redis (one node). The caller
// starts and closes it.
func newMediaDirectory(cfg config.Config, gone func(context.Context, string), log *slog.Logger) (*mediadir.Directory, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	self, err := advertiseURL(cfg)
	if err != nil {
		return nil, err
	}
	// With several Redis URLs (comma-separated, the hub's rooms spread
	// over them), the directory lives in the first: every node lists the
	// same ones. On a Redis Cluster each entry is on its room's slot.
	url := cfg.RedisURL
	if !cfg.RedisCluster {
		first, _, _ := strings.Cut(cfg.RedisURL, ",")
		url = strings.TrimSpace(first)
	}
	client, err := redisbroker.NewClient(url, cfg.RedisCluster)
	if err != nil {
		return nil, fmt.Errorf("GIVELIVE_REDIS_URL: %w", err)
	}
	dir, err := mediadir.New(mediadir.Config{
		Client: client,
		Self:   self,
		Gone:   gone,
		Logger: log.With("component", "mediadir"),
	})
	if err != nil {
		return nil, fmt.Errorf("GIVELIVE_REDIS_URL: %w", err)
	}
	log.Info("media directory: redis; other nodes reach this one's HLS here", "advertise_url", self)
	return dir, nil
}

// advertiseURL is this node's base URL for other nodes:
// GIVELIVE_ADVERTISE_URL, else GIVELIVE_HTTP_ADDR with an unspecified host
// replaced by the hostname (a loopback host stays, for nodes on one machine).
func advertiseURL(cfg config.Config) (string, error) {
	if cfg.AdvertiseURL != "" {
		return cfg.AdvertiseURL, nil
	}
	host, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return "", fmt.Errorf("failed to derive this node's URL from GIVELIVE_HTTP_ADDR=%q (set GIVELIVE_ADVERTISE_URL): %w", cfg.HTTPAddr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("GIVELIVE_HTTP_ADDR=%q has no fixed port; set GIVELIVE_ADVERTISE_URL so other nodes can reach this one", cfg.HTTPAddr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if host, err = os.Hostname(); err != nil || host == "" {
			return "", fmt.Errorf("failed to derive this node's URL: no hostname (%v); set GIVELIVE_ADVERTISE_URL", err)
		}
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// streamLocator finds the node that ingests a stream (mediadir.Directory).
type streamLocator interface {
	Lookup(ctx context.Context, fundraiserID string) (mediadir.Entry, bool, error)
	Self() string
}

// localHLS is this node's HLS window (hls.Server).
type localHLS interface {
	http.Handler
	Live(fundraiserID string) bool
}

// crossNodeHLS serves /hls/ on any node: from the local window when this
// node ingests the stream, else proxied to the node the directory names
// (blocking playlist requests go as they are: the ingesting node holds
// them), else, for an ended stream, to the node that served it while it
// stays there, else as the window answers (404 for a stream that is not
// live). It is safe for concurrent use; close releases idle connections.
type crossNodeHLS struct {
	local     localHLS
	dir       streamLocator
	proxy     *httputil.ReverseProxy
	transport *http.Transport
	log       *slog.Logger
	proxied   prometheus.Counter
	failed    *prometheus.CounterVec
	lastWarn  atomic.Int64 // unix nanos of the last lookup warning

	// recent remembers the node each stream was last proxied to, for as
	// long as an ended stream stays served there: when the encoder stops,
	// the directory forgets the stream at once, but its node keeps its
	// last window (ending with EXT-X-ENDLIST) so players play it out.
	recentMu sync.Mutex
	recent   map[string]recentNode

	// Requests to other nodes shared by this node's viewers, and the
	// finished files fetched (see coalesce).
	client    *http.Client
	upstream  prometheus.Counter
	flightsMu sync.Mutex
	flights   map[string]*upstreamFlight
	cache     *fifocache.Cache[*upstreamAnswer] // finished files from other nodes
}

// recentNode is where a stream was last proxied, and until when to keep
// asking there.
type recentNode struct {
	url   string
	until time.Time
}

// Bounds of the recent nodes: how long an ended stream stays served on its
// node (hls.DefaultLinger), and how many streams are remembered.
const (
	recentFor = hls.DefaultLinger
	maxRecent = 10_000
)

// proxyTarget is where one request goes; it rides in the request context
// from ServeHTTP to the proxy's Rewrite.
type proxyTarget struct {
	base *url.URL // the ingesting node
	path string   // /hls/{id}/{name}, checked
	id   string
	// ended: the node is only where the stream was; if it cannot answer,
	// the stream is simply not live.
	ended bool
	// host is the Host the viewer asked for (the public one), kept on the
	// request to the other node, whose host guard (GIVELIVE_PUBLIC_URL)
	// answers only for it.
	host string
}

type proxyTargetKey struct{}

func newCrossNodeHLS(local localHLS, dir streamLocator, reg prometheus.Registerer, log *slog.Logger) (*crossNodeHLS, error) {
	h := &crossNodeHLS{
		local:   local,
		dir:     dir,
		log:     log,
		recent:  map[string]recentNode{},
		flights: map[string]*upstreamFlight{},
		cache:   fifocache.New(proxyCacheBytes, func(a *upstreamAnswer) int { return len(a.body) }),
		upstream: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_proxy_upstream_requests_total",
			Help: "Requests made to other nodes for their streams' HLS; viewers asking for the same file and part at once share one.",
		}),
		proxied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_proxied_requests_total",
			Help: "HLS requests proxied to the node that ingests the stream.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hls_proxy_errors_total",
			Help: "HLS requests for another node's stream that failed, by reason (lookup: the media directory; upstream: the other node).",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{h.proxied, h.failed, h.upstream} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("failed to register HLS proxy metrics: %w", err)
		}
	}
	h.transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		// The ingesting node holds a stream's first playlist request up to
		// 8 s for the first segment.
		ResponseHeaderTimeout: 15 * time.Second,
	}
	h.client = &http.Client{
		Transport:     h.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	h.proxy = &httputil.ReverseProxy{
		Rewrite:      h.rewrite,
		Transport:    h.transport,
		ErrorHandler: h.proxyError,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	for _, r := range []string{"lookup", "upstream"} {
		h.failed.WithLabelValues(r)
	}
	return h, nil
}

func (h *crossNodeHLS) close() { h.transport.CloseIdleConnections() }

func (h *crossNodeHLS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, name, ok := splitHLSPath(r.URL.Path)
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
		r.Header.Get(hopHeader) != "" || h.local.Live(id) {
		h.local.ServeHTTP(w, r)
		return
	}
	e, found, err := h.dir.Lookup(r.Context(), id)
	if err != nil {
		if r.Context().Err() != nil {
			return // the viewer left
		}
		h.failed.WithLabelValues("lookup").Inc()
		h.warnLookup(id, err)
		w.Header().Set("Retry-After", "1")
		writeHLSProblem(w, r, http.StatusServiceUnavailable, "the stream could not be looked up; retry shortly")
		return
	}
	ended := false
	switch {
	case found && e.URL == h.dir.Self():
		h.local.ServeHTTP(w, r) // a leftover of this node's previous run
		return
	case found:
		h.remember(id, e.URL)
	default:
		node, ok := h.recentNode(id)
		if !ok {
			h.local.ServeHTTP(w, r) // not live anywhere
			return
		}
		e.URL, ended = node, true
	}
	base, err := url.Parse(e.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		h.failed.WithLabelValues("upstream").Inc()
		h.log.Error("media directory names an unusable node URL", "fundraiser", id)
		writeHLSProblem(w, r, http.StatusBadGateway, "the media server is unavailable")
		return
	}
	h.proxied.Inc()
	t := &proxyTarget{base: base, path: "/hls/" + id + "/" + name, id: id, ended: ended, host: r.Host}
	if coalescable(r) {
		h.coalesce(w, r, t)
		return
	}
	// A bound on the whole exchange, body included: a stalled node must
	// not hold this request (and its connection) for as long as the viewer
	// waits.
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), proxyTargetKey{}, t), proxyTimeout)
	defer cancel()
	h.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// proxyTimeout bounds one proxied HLS request from start to end: a
// playlist's first request may wait 8 s for a segment, and a segment of a
// few megabytes crosses a private network in well under a second.
const proxyTimeout = 30 * time.Second

// rewrite builds the request to the ingesting node: the checked path only,
// the hop mark, no credentials.
func (h *crossNodeHLS) rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(proxyTargetKey{}).(*proxyTarget)
	pr.SetURL(t.base)
	pr.Out.URL.Path = strings.TrimSuffix(t.base.Path, "/") + t.path
	pr.Out.URL.RawPath = ""
	pr.SetXForwarded()
	pr.Out.Host = pr.In.Host // the public host, which the other node's host guard answers for
	pr.Out.Header.Set(hopHeader, "1")
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Cookie")
}

// proxyError answers a request the ingesting node did not.
func (h *crossNodeHLS) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the viewer left
	}
	t, _ := r.Context().Value(proxyTargetKey{}).(*proxyTarget)
	if t != nil && t.ended {
		// The node that had the stream is gone: it is live nowhere.
		h.forget(t.id)
		writeHLSProblem(w, r, http.StatusNotFound, "no stream is live for this fundraiser")
		return
	}
	h.failed.WithLabelValues("upstream").Inc()
	if t != nil {
		h.log.Warn("failed to proxy HLS to the stream's node", "fundraiser", t.id, "node", t.base.Host, "err", err)
	}
	writeHLSProblem(w, r, http.StatusBadGateway, "the media server is unavailable")
}

// remember notes that id's stream is served by node.
func (h *crossNodeHLS) remember(id, node string) {
	until := time.Now().Add(recentFor)
	h.recentMu.Lock()
	defer h.recentMu.Unlock()
	if len(h.recent) >= maxRecent {
		clear(h.recent)
	}
	h.recent[id] = recentNode{url: node, until: until}
}

// recentNode returns the node id's stream was served by, while it may
// still serve its end.
func (h *crossNodeHLS) recentNode(id string) (string, bool) {
	h.recentMu.Lock()
	defer h.recentMu.Unlock()
	n, ok := h.recent[id]
	if !ok || time.Now().After(n.until) {
		delete(h.recent, id)
		return "", false
	}
	return n.url, true
}

func (h *crossNodeHLS) forget(id string) {
	h.recentMu.Lock()
	delete(h.recent, id)
	h.recentMu.Unlock()
}

// warnLookup logs a failed directory lookup at most every 10 seconds: while
// Redis is down every player's poll fails.
func (h *crossNodeHLS) warnLookup(id string, err error) {
	now := time.Now().UnixNano()
	last := h.lastWarn.Load()
	if now-last < int64(10*time.Second) || !h.lastWarn.CompareAndSwap(last, now) {
		return
	}
	h.log.Warn("HLS of a stream on another node unavailable: the media directory failed", "fundraiser", id, "err", err)
}

// splitHLSPath splits /hls/{id}/{name}, with an id as the HLS server
// takes them ([A-Za-z0-9_-]{1,64}) and a plain file name.
func splitHLSPath(p string) (id, name string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/hls/")
	if !ok {
		return "", "", false
	}
	id, name, ok = strings.Cut(rest, "/")
	if !ok || id == "" || len(id) > 64 || name == "" || name == "." || name == ".." ||
		strings.ContainsAny(name, "/\\") {
		return "", "", false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", "", false
		}
	}
	return id, name, true
}

// writeHLSProblem answers like the HLS server's errors: a problem document,
// never cached, open to any origin.
func writeHLSProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	body, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", http.StatusText(status), status, detail})
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// healthPath is the owner's stream health endpoint, answered by the node
// that ingests the stream.
const (
	healthPrefix = "/api/v1/fundraisers/"
	healthSuffix = "/stream/health"
)

// publisherNode tells whether this node ingests a fundraiser's stream
// (ingest.Server).
type publisherNode interface {
	Publishing(fundraiserID string) bool
}

// forwardHealth sends GET /api/v1/fundraisers/{id}/stream/health to the
// node that ingests the stream when that is another node, so the owner's
// studio gets the figures whichever node it talks to. The owner's token
// goes along (that node checks it, as this one would); the hop mark stops a
// second forward. Everything else goes to next.
func (h *crossNodeHLS) forwardHealth(local publisherNode, next http.Handler) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			base := pr.In.Context().Value(proxyTargetKey{}).(*proxyTarget).base
			path := pr.In.URL.Path
			pr.SetURL(base)
			pr.Out.URL.Path = strings.TrimSuffix(base.Path, "/") + path
			pr.Out.URL.RawPath = ""
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(hopHeader, "1")
		},
		Transport:    h.transport,
		ErrorHandler: h.proxyError,
		ErrorLog:     slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := healthID(r.URL.Path)
		if !ok || r.Method != http.MethodGet || r.Header.Get(hopHeader) != "" || (local != nil && local.Publishing(id)) {
			next.ServeHTTP(w, r)
			return
		}
		e, found, err := h.dir.Lookup(r.Context(), id)
		if err != nil || !found || e.URL == h.dir.Self() {
			next.ServeHTTP(w, r) // this node's answer: not live here
			return
		}
		base, err := url.Parse(e.URL)
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), proxyTargetKey{}, &proxyTarget{base: base, id: id}), 10*time.Second)
		defer cancel()
		proxy.ServeHTTP(w, r.WithContext(ctx))
	})
}

// healthID returns the fundraiser id of a stream health path.
func healthID(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, healthPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, healthSuffix)
	if !ok || id == "" || len(id) > 64 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return "", false
	}
	return id, true
}
