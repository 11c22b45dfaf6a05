package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/ingest/record"
	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/mediadir"
	"github.com/givelive/givelive/internal/store"
)

// replays is the recording side of a node: the recorder of its streams,
// the /replay/ handler (proxying to the node that keeps a broadcast, in a
// cluster) and the snapshot's replay source.
type replays struct {
	rec   *record.Recorder
	local http.Handler
	dir   *mediadir.Directory // nil on one node
	keep  time.Duration       // how long the directory keeps a fundraiser's list
	log   *slog.Logger

	proxy     *httputil.ReverseProxy
	transport *http.Transport
	client    *http.Client // asks other nodes for their listings

	// Changes to tell the directory, sent by the writers and drained by
	// one goroutine (a writer never waits on Redis).
	changes chan string
	wg      sync.WaitGroup
}

// newReplays starts recording under cfg.RecordingsPath(), or returns nil
// when recording is off.
func newReplays(cfg config.Config, ledger store.Store, dir *mediadir.Directory, reg prometheus.Registerer, log *slog.Logger) (*replays, error) {
	path := cfg.RecordingsPath()
	if path == "" {
		log.Info("recording is off (GIVELIVE_RECORDINGS_DIR=off): ended fundraisers have no replay")
		return nil, nil
	}
	rp := &replays{dir: dir, log: log, changes: make(chan string, 256)}
	if cfg.RecordingsRetention > 0 {
		rp.keep = cfg.RecordingsRetention + 24*time.Hour
	}
	rcfg := record.Config{
		Dir:        path,
		Retention:  cfg.RecordingsRetention,
		Registerer: reg,
		Logger:     log,
	}
	if dir != nil {
		rcfg.OnChange = rp.changed
	}
	rec, err := record.New(rcfg)
	if err != nil {
		return nil, err
	}
	rp.rec = rec
	visible := (&visibleCache{ledger: ledger, entries: map[string]visibleEntry{}}).visible
	if dir != nil {
		rp.local = rec.HandlerWithRemote(visible, rp.remoteListings, hopHeader)
	} else {
		rp.local = rec.Handler(visible)
	}
	rp.transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
	}
	rp.client = &http.Client{
		Transport:     rp.transport,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rp.proxy = &httputil.ReverseProxy{
		Rewrite:      rp.rewrite,
		Transport:    rp.transport,
		ErrorHandler: rp.proxyError,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if dir != nil {
		rp.wg.Add(1)
		go rp.noteLoop()
	}
	retention := "forever"
	if cfg.RecordingsRetention > 0 {
		retention = cfg.RecordingsRetention.String()
	}
	log.Info("recording every broadcast", "dir", path, "retention", retention)
	return rp, nil
}

// close stops the recorder (writers finish their broadcasts), then the
// directory notes. Call it after the HLS server stopped.
func (rp *replays) close() {
	if rp == nil {
		return
	}
	rp.rec.Close()
	close(rp.changes)
	rp.wg.Wait()
	rp.transport.CloseIdleConnections()
}

// changed is record.Config.OnChange: queue id for the directory, or drop
// it when the queue is full (the next change of id notes everything).
func (rp *replays) changed(id string) {
	select {
	case rp.changes <- id:
	default:
		rp.log.Warn("recording: the media directory is behind; a change was not noted", "fundraiser", id)
	}
}

func (rp *replays) noteLoop() {
	defer rp.wg.Done()
	for id := range rp.changes {
		rp.note(id)
	}
}

// note writes this node's broadcasts of id to the directory and drops the
// ones of this node it no longer keeps.
func (rp *replays) note(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var bs []mediadir.Broadcast
	have := map[string]bool{}
	for _, b := range rp.rec.Broadcasts(id) {
		have[b.Name] = true
		bs = append(bs, mediadir.Broadcast{Name: b.Name, StartedAt: b.StartedAt, Duration: b.Duration.Milliseconds(), Ended: b.Ended})
	}
	var gone []string
	listed, err := rp.dir.Broadcasts(ctx, id)
	if err == nil {
		for _, b := range listed {
			if b.Node == rp.dir.Self() && !have[b.Name] {
				gone = append(gone, b.Name)
			}
		}
	}
	if err == nil {
		err = rp.dir.NoteBroadcasts(ctx, id, bs, gone, rp.keep)
	}
	if err != nil {
		rp.log.Warn("recording: failed to tell the media directory; other nodes may not find this replay until the next change", "fundraiser", id, "err", err)
	}
}

// Replay is the snapshot's replay source (api.ReplaySource): this node's
// recordings, or in a cluster the directory's list of every node's.
func (rp *replays) Replay(ctx context.Context, id string) (api.ReplayInfo, bool) {
	if rp == nil {
		return api.ReplayInfo{}, false
	}
	s, ok := rp.rec.Summary(id)
	local := api.ReplayInfo{StartedAt: s.StartedAt, Duration: s.Duration, Available: s.Broadcasts > 0, Recording: s.Recording}
	if rp.dir == nil {
		return local, ok
	}
	bs, err := rp.dir.Broadcasts(ctx, id)
	if err != nil {
		return local, ok
	}
	if len(bs) == 0 {
		return local, ok
	}
	var info api.ReplayInfo
	for i, b := range bs {
		if i == 0 {
			info.StartedAt = b.StartedAt
		}
		info.Duration += time.Duration(b.Duration) * time.Millisecond
		info.Recording = info.Recording || !b.Ended
		info.Available = info.Available || b.Duration > 0
	}
	if local.Recording {
		info.Recording = true
	}
	return info, true
}

// replayTarget rides in the request context to rewrite.
type replayTarget struct {
	base *url.URL
	path string
}

type replayTargetKey struct{}

// ServeHTTP serves /replay/: the playlist from this node, listing every
// node's broadcasts (the others' from their listing.json); a broadcast's
// files from this node when it keeps them, else proxied to the node the
// directory names.
func (rp *replays) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rp.dir == nil || r.Header.Get(hopHeader) != "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		rp.local.ServeHTTP(w, r)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), viewerHostKey{}, r.Host))
	rest, _ := strings.CutPrefix(r.URL.Path, "/replay/")
	parts := strings.Split(rest, "/")
	if len(parts) < 2 {
		rp.local.ServeHTTP(w, r)
		return
	}
	id := parts[0]
	var node string
	if len(parts) == 3 && !rp.rec.Has(id, parts[1]) {
		node = rp.remote(r.Context(), id, parts[1])
	}
	if node == "" {
		rp.local.ServeHTTP(w, r)
		return
	}
	base, err := url.Parse(node)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		writeHLSProblem(w, r, http.StatusBadGateway, "the replay's node is unavailable")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), replayTargetKey{}, &replayTarget{base: base, path: r.URL.Path}), proxyTimeout)
	defer cancel()
	rp.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// remote is the other node that keeps broadcast name of id, or "".
func (rp *replays) remote(ctx context.Context, id, name string) string {
	bs, err := rp.dir.Broadcasts(ctx, id)
	if err != nil {
		return ""
	}
	for _, b := range bs {
		if b.Node != rp.dir.Self() && b.Name == name {
			return b.Node
		}
	}
	return ""
}

// viewerHostKey carries the viewer's Host to the listing requests, which
// other nodes' host guards (GIVELIVE_PUBLIC_URL) answer only for it.
type viewerHostKey struct{}

// maxListingNodes bounds the other nodes asked for one playlist.
const maxListingNodes = 8

// remoteListings is the playlist's record.Remote: the broadcasts of id
// the directory says other nodes keep, read from each node's listing.json.
// A node that does not answer is left out (and the error returned, for the
// log); the others still are listed.
func (rp *replays) remoteListings(ctx context.Context, id string) ([]record.Listing, bool, error) {
	bs, err := rp.dir.Broadcasts(ctx, id)
	if err != nil {
		return nil, false, err
	}
	recording := false
	var nodes []string
	want := map[string]map[string]bool{}
	for _, b := range bs {
		if b.Node == rp.dir.Self() {
			continue
		}
		recording = recording || !b.Ended
		if want[b.Node] == nil {
			if len(nodes) == maxListingNodes {
				continue
			}
			want[b.Node] = map[string]bool{}
			nodes = append(nodes, b.Node)
		}
		want[b.Node][b.Name] = true
	}
	var out []record.Listing
	var errs []error
	for _, node := range nodes {
		ls, err := rp.fetchListing(ctx, node, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, l := range ls {
			if want[node][l.Name] { // only what the directory says that node keeps
				out = append(out, l)
			}
		}
	}
	return out, recording, errors.Join(errs...)
}

func (rp *replays) fetchListing(ctx context.Context, node, id string) ([]record.Listing, error) {
	base, err := url.Parse(node)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New("the media directory names an unusable node URL")
	}
	base.Path = strings.TrimSuffix(base.Path, "/") + "/replay/" + id + "/listing.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String(), nil)
	if err != nil {
		return nil, err
	}
	if host, _ := ctx.Value(viewerHostKey{}).(string); host != "" {
		req.Host = host
	}
	req.Header.Set(hopHeader, "1")
	res, err := rp.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", base.Host, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("node %s answered %d for its listing", base.Host, res.StatusCode)
	}
	var ls []record.Listing
	if err := json.NewDecoder(io.LimitReader(res.Body, record.MaxListingBytes)).Decode(&ls); err != nil {
		return nil, fmt.Errorf("node %s: a listing that cannot be read: %w", base.Host, err)
	}
	return ls, nil
}

func (rp *replays) rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(replayTargetKey{}).(*replayTarget)
	pr.SetURL(t.base)
	pr.Out.URL.Path = strings.TrimSuffix(t.base.Path, "/") + t.path
	pr.Out.URL.RawPath = ""
	pr.SetXForwarded()
	pr.Out.Host = pr.In.Host
	pr.Out.Header.Set(hopHeader, "1")
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Cookie")
}

func (rp *replays) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	rp.log.Warn("failed to proxy a replay to the node that keeps it", "path", r.URL.Path, "err", err)
	writeHLSProblem(w, r, http.StatusBadGateway, "the replay's node is unavailable")
}

// visibleCache answers the replay handler's "may this fundraiser's
// recordings be served?" from the ledger, remembered for a few seconds:
// every player asks for a segment every few seconds.
type visibleCache struct {
	ledger store.Store

	mu      sync.Mutex
	entries map[string]visibleEntry
}

type visibleEntry struct {
	ok      bool
	expires time.Time
}

const (
	visibleFor      = 10 * time.Second
	maxVisibleCache = 10_000
)

func (c *visibleCache) visible(ctx context.Context, id string) (bool, error) {
	now := time.Now()
	c.mu.Lock()
	e, hit := c.entries[id]
	c.mu.Unlock()
	if hit && now.Before(e.expires) {
		return e.ok, nil
	}
	_, err := c.ledger.GetFundraiser(ctx, id)
	ok := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err // not remembered: the ledger may answer next time
	}
	c.mu.Lock()
	if len(c.entries) >= maxVisibleCache {
		clear(c.entries)
	}
	c.entries[id] = visibleEntry{ok: ok, expires: now.Add(visibleFor)}
	c.mu.Unlock()
	return ok, nil
}
