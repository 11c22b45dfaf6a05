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
	"sort"
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
	rec     *record.Recorder
	local   http.Handler
	visible record.Visible      // may fundraiser id's replay be seen
	dir     *mediadir.Directory // nil on one node
	keep    time.Duration       // how long the directory keeps a fundraiser's list
	log     *slog.Logger

	proxy     *httputil.ReverseProxy
	transport *http.Transport
	client    *http.Client // asks other nodes for their listings

	// Changes to tell the directory: the writers add a fundraiser to
	// pending (a set, so a change is never dropped, only merged with the
	// next of the same fundraiser) and one goroutine notes them (a writer
	// never waits on Redis).
	mu      sync.Mutex
	pending map[string]struct{}
	wake    chan struct{} // one token: pending has something
	stop    chan struct{} // closed by close: note what is pending, then return
	wg      sync.WaitGroup

	// Short-lived memories of the directory's list and other nodes'
	// listings: every player of a replay asks every few seconds.
	cache *replayCache
}

// newReplays starts recording under cfg.RecordingsPath(), or returns nil
// when recording is off.
func newReplays(cfg config.Config, ledger store.Store, dir *mediadir.Directory, reg prometheus.Registerer, log *slog.Logger) (*replays, error) {
	path := cfg.RecordingsPath()
	if path == "" {
		log.Info("recording is off (GIVELIVE_RECORDINGS_DIR=off): ended fundraisers have no replay")
		return nil, nil
	}
	return newReplaysWith(cfg, ledger, dir, reg, log, nil)
}

// newReplaysWith is newReplays with a last word on the recorder's config
// (tests make its disk fail).
func newReplaysWith(cfg config.Config, ledger store.Store, dir *mediadir.Directory, reg prometheus.Registerer, log *slog.Logger, tweak func(*record.Config)) (*replays, error) {
	path := cfg.RecordingsPath()
	rp := &replays{dir: dir, log: log, pending: map[string]struct{}{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), cache: newReplayCache()}
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
	if tweak != nil {
		tweak(&rcfg)
	}
	rec, err := record.New(rcfg)
	if err != nil {
		return nil, err
	}
	rp.rec = rec
	rp.visible = (&visibleCache{ledger: ledger, entries: map[string]visibleEntry{}}).visible
	if dir != nil {
		rp.local = rec.HandlerWithRemote(rp.visible, rp.remoteListings, hopHeader)
	} else {
		rp.local = rec.Handler(rp.visible)
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
	close(rp.stop)
	rp.wg.Wait()
	rp.transport.CloseIdleConnections()
}

// changed is record.Config.OnChange: mark id for the directory. Never
// dropped: a fundraiser already pending is noted once with its latest state.
func (rp *replays) changed(id string) {
	rp.mu.Lock()
	rp.pending[id] = struct{}{}
	rp.mu.Unlock()
	select {
	case rp.wake <- struct{}{}:
	default:
	}
}

// takePending returns the fundraisers to note, sorted, and empties the set.
func (rp *replays) takePending() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	ids := make([]string, 0, len(rp.pending))
	for id := range rp.pending {
		ids = append(ids, id)
	}
	clear(rp.pending)
	sort.Strings(ids)
	return ids
}

func (rp *replays) noteLoop() {
	defer rp.wg.Done()
	for {
		select {
		case <-rp.wake:
		case <-rp.stop:
			for _, id := range rp.takePending() { // the writers' last changes
				rp.note(id)
			}
			return
		}
		for _, id := range rp.takePending() {
			rp.note(id)
		}
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
	rp.cache.forget(id)
	if err != nil {
		rp.log.Warn("recording: failed to tell the media directory; other nodes may not find this replay until the next change", "fundraiser", id, "err", err)
	}
}

// Replay is the snapshot's replay source (api.ReplaySource): this node's
// recordings, or in a cluster the directory's list of every node's. A
// broadcast of another node counts as recording only while that node
// announces the fundraiser's live stream (a node that died mid-broadcast
// never left it "recording").
func (rp *replays) Replay(ctx context.Context, id string) (api.ReplayInfo, bool) {
	if rp == nil || !record.ValidID(id) {
		return api.ReplayInfo{}, false
	}
	s, ok := rp.rec.Summary(id)
	local := api.ReplayInfo{StartedAt: s.StartedAt, Duration: s.Duration, Available: s.Broadcasts > 0, Recording: s.Recording}
	if rp.dir == nil {
		return local, ok
	}
	bs, err := rp.dirBroadcasts(ctx, id)
	if err != nil || len(bs) == 0 {
		return local, ok
	}
	var info api.ReplayInfo
	for i, b := range bs {
		if i == 0 {
			info.StartedAt = b.StartedAt
		}
		info.Duration += time.Duration(b.Duration) * time.Millisecond
		info.Available = info.Available || b.Duration > 0
	}
	info.Recording = local.Recording || rp.recordingElsewhere(ctx, id, bs)
	return info, true
}

// recordingElsewhere reports whether another node writes a broadcast of
// id now: one it lists as not ended, while it is the fundraiser's live
// node.
func (rp *replays) recordingElsewhere(ctx context.Context, id string, bs []mediadir.Broadcast) bool {
	open := map[string]bool{}
	for _, b := range bs {
		if b.Node != rp.dir.Self() && !b.Ended {
			open[b.Node] = true
		}
	}
	if len(open) == 0 {
		return false
	}
	e, found, err := rp.dir.Lookup(ctx, id)
	if err != nil {
		return true // cannot tell: as the node said
	}
	return found && open[e.URL]
}

// dirBroadcasts is the directory's list of id's broadcasts, remembered a
// few seconds (errors are not).
func (rp *replays) dirBroadcasts(ctx context.Context, id string) ([]mediadir.Broadcast, error) {
	if bs, ok := rp.cache.dir(id); ok {
		return bs, nil
	}
	bs, err := rp.dir.Broadcasts(ctx, id)
	if err != nil {
		return nil, err
	}
	// Only a finished list is remembered: one with a broadcast being
	// written changes at its end, which must not be read stale (a VOD
	// playlist without its last segments).
	final := true
	for _, b := range bs {
		final = final && b.Ended
	}
	if final {
		rp.cache.putDir(id, bs)
	}
	return bs, nil
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
	// Only a well-formed file of a fundraiser whose replay may be seen,
	// which this node does not keep, is looked up in the directory.
	if len(parts) == 3 && record.ValidFile(id, parts[1], parts[2]) && !rp.rec.Has(id, parts[1]) {
		if ok, err := rp.visible(r.Context(), id); ok && err == nil {
			node = rp.remote(r.Context(), id, parts[1])
		}
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
	bs, err := rp.dirBroadcasts(ctx, id)
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

// maxListingNodes bounds the other nodes asked for one playlist;
// listingTimeout bounds asking them all (in parallel); maxListingBytes
// bounds one node's answer (8 MiB: about 100,000 segments, over two days
// at 2 s).
const (
	maxListingNodes = 8
	listingTimeout  = 3 * time.Second
	maxListingBytes = min(8<<20, record.MaxListingBytes)
)

// remoteListings is the playlist's record.Remote: the broadcasts of id
// the directory says other nodes keep, read from each node's listing.json
// (all at once, under one deadline; each remembered a few seconds). A node
// that does not answer is left out (and the error returned, for the log);
// the others still are listed.
func (rp *replays) remoteListings(ctx context.Context, id string) ([]record.Listing, bool, error) {
	bs, err := rp.dirBroadcasts(ctx, id)
	if err != nil {
		return nil, false, err
	}
	var nodes []string
	want := map[string]map[string]bool{}
	fp := map[string]string{} // what the directory says of each node's broadcasts
	for _, b := range bs {
		if b.Node == rp.dir.Self() {
			continue
		}
		if want[b.Node] == nil {
			if len(nodes) == maxListingNodes {
				continue
			}
			want[b.Node] = map[string]bool{}
			nodes = append(nodes, b.Node)
		}
		want[b.Node][b.Name] = true
		fp[b.Node] += fmt.Sprintf("%s/%d/%t ", b.Name, b.Duration, b.Ended)
	}
	recording := rp.recordingElsewhere(ctx, id, bs)
	ctx, cancel := context.WithTimeout(ctx, listingTimeout)
	defer cancel()
	got := make([][]record.Listing, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		if ls, ok := rp.cache.listing(node, id, fp[node]); ok {
			got[i] = ls
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = rp.fetchListing(ctx, node, id)
			if errs[i] != nil {
				return
			}
			// Remembered only when every broadcast wanted of it ended.
			final := true
			for _, l := range got[i] {
				if want[node][l.Name] {
					final = final && l.Ended
				}
			}
			if final {
				rp.cache.putListing(node, id, fp[node], got[i])
			}
		}()
	}
	wg.Wait()
	var out []record.Listing
	for i, node := range nodes {
		for _, l := range got[i] {
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
	if err := json.NewDecoder(io.LimitReader(res.Body, maxListingBytes)).Decode(&ls); err != nil {
		return nil, fmt.Errorf("node %s: a listing that cannot be read: %w", base.Host, err)
	}
	return ls, nil
}

// replayCache remembers the directory's list of a fundraiser's broadcasts
// and other nodes' listings for a few seconds, bounded: only finished ones
// (every broadcast ended), so a replay still growing is always read fresh
// and a finished one is never read stale.
type replayCache struct {
	mu       sync.Mutex
	dirs     map[string]cachedDir
	listings map[string]cachedListing // by node + " " + fundraiser
	now      func() time.Time
}

type cachedDir struct {
	bs      []mediadir.Broadcast
	expires time.Time
}

type cachedListing struct {
	ls      []record.Listing
	fp      string // the directory's word on that node's broadcasts then
	expires time.Time
}

const (
	replayCacheFor  = 3 * time.Second
	maxReplayCached = 10_000
)

func newReplayCache() *replayCache {
	return &replayCache{dirs: map[string]cachedDir{}, listings: map[string]cachedListing{}, now: time.Now}
}

func (c *replayCache) dir(id string) ([]mediadir.Broadcast, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.dirs[id]
	return e.bs, ok && c.now().Before(e.expires)
}

func (c *replayCache) putDir(id string, bs []mediadir.Broadcast) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dirs) >= maxReplayCached {
		clear(c.dirs)
	}
	c.dirs[id] = cachedDir{bs: bs, expires: c.now().Add(replayCacheFor)}
}

// forget drops id's directory list: this node just changed it.
func (c *replayCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.dirs, id)
}

// listing is node's remembered listing of id, if the directory still
// says of that node's broadcasts what it said then (fp).
func (c *replayCache) listing(node, id, fp string) ([]record.Listing, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.listings[node+" "+id]
	return e.ls, ok && e.fp == fp && c.now().Before(e.expires)
}

func (c *replayCache) putListing(node, id, fp string, ls []record.Listing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.listings) >= maxReplayCached {
		clear(c.listings)
	}
	c.listings[node+" "+id] = cachedListing{ls: ls, fp: fp, expires: c.now().Add(replayCacheFor)}
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
