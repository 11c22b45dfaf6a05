// Package mediadir is the media directory of nodes sharing Redis: which
// node ingests each fundraiser's stream, and at which URL other nodes reach
// it. The node whose media server ingests a stream announces it under
// gl:{fundraiser}:media with a short expiry (TTL), refreshes it while the
// stream is live and withdraws it when the stream goes offline; every other
// node looks it up to proxy HLS there and to report the stream live.
//
// Entry points: New builds a Directory; Start runs its refresh loop and
// Close stops it. Announce, Withdraw and Lookup are called from anywhere.
//
// A node that dies without withdrawing leaves an entry that expires after
// TTL. Nodes that looked up another node's entry watch it; when it is gone
// without having been withdrawn, exactly one of them (the one whose claim
// script runs first) is told through Config.Gone, so the room hears one
// "offline".
//
// Concurrency: a Directory is safe for concurrent use. Its one goroutine
// (the refresh loop) never holds a lock across a Redis call.
package mediadir

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Config configures New. Zero values mean the defaults.
type Config struct {
	// URL is the Redis server, as redis.ParseURL reads it. Ignored when
	// Options is set. Unless the URL says otherwise, commands are not
	// retried and a failed dial is not retried either, so calls fail fast
	// while Redis is down (the refresh loop tries again soon).
	URL string
	// Options, when not nil, configure the client instead of URL.
	Options *redis.Options
	// Client, when not nil, is used instead of URL and Options (a Redis
	// Cluster client, say); the Directory closes it.
	Client redis.UniversalClient
	// Self is this node's URL as other nodes reach its HTTP server, such as
	// "http://10.0.0.5:8080". Required.
	Self string
	// Prefix starts every key (default "gl", as the hub's broker).
	Prefix string
	// TTL is how long an entry lives without a refresh (default 6s): how
	// long a dead node's streams still look live.
	TTL time.Duration
	// Refresh is how often the loop refreshes this node's entries and
	// checks the watched ones (default TTL/3).
	Refresh time.Duration
	// CacheTTL is how long Lookup remembers an entry found (default 1s).
	CacheTTL time.Duration
	// CacheSize bounds the lookup cache and the watch list (default 10000).
	CacheSize int
	// Gone is called, from the refresh loop, when a watched entry of
	// another node vanished without being withdrawn (its node died) and
	// this node claimed the news. Nil means nobody is told.
	Gone func(ctx context.Context, fundraiserID string)
	// Logger receives warnings (nil: discard).
	Logger *slog.Logger
}

// Entry is a directory entry: the stream's node and its publish session.
type Entry struct {
	// URL is the ingesting node's base URL (Config.Self there).
	URL string `json:"url"`
	// Session is random per announcement, so a withdrawal or an expiry is
	// told apart from a newer publish of the same fundraiser.
	Session string `json:"session"`
}

// Directory is the media directory. See the package doc for its lifecycle.
type Directory struct {
	cfg    Config
	log    *slog.Logger
	client redis.UniversalClient
	// missesBeforeGone is how many checks in a row must miss a watched
	// entry: enough to span its TTL and gonePeriods more refreshes.
	missesBeforeGone int

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	started bool
	closed  bool
	own     map[string]ownEntry   // fundraiser → what this node announced
	watched map[string]*watch     // fundraiser → another node's entry seen
	cache   map[string]cacheEntry // fundraiser → recent Lookup answer
}

type ownEntry struct {
	value   string // the JSON stored in Redis
	session string
}

type watch struct {
	session string
	misses  int // consecutive checks that found no entry
}

type cacheEntry struct {
	entry   Entry
	expires time.Time
}

// The told set (gl:{id}:media:told) holds the sessions whose end was told,
// so that neither a late refresh nor a watcher repeats one. It is a set,
// not the last session only: a watcher may have seen an earlier publish
// and missed later ones that began and ended between two of its checks.
// It expires markerTTL after its last change.
const markerTTL = time.Minute

// gonePeriods is how many refresh periods past the TTL a watched entry
// must stay missing before it counts as gone: a miss may be a Redis that
// restarted empty, whose owner's first refreshes after it fail (a pooled
// connection died with it) before one repairs the entry.
const gonePeriods = 1

// goneTimeout bounds one Config.Gone call.
const goneTimeout = 5 * time.Second

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("mediadir: directory closed")

// New returns a Directory. It connects lazily, so it does not fail when
// Redis is down.
func New(cfg Config) (*Directory, error) {
	if cfg.Self == "" {
		return nil, errors.New("mediadir: Config.Self is required")
	}
	client := cfg.Client
	if client == nil {
		opt := cfg.Options
		if opt == nil {
			var err error
			if opt, err = redis.ParseURL(cfg.URL); err != nil {
				return nil, fmt.Errorf("failed to parse redis url: %w", err)
			}
			if opt.MaxRetries == 0 {
				opt.MaxRetries = -1
			}
			if opt.DialerRetries == 0 {
				opt.DialerRetries = 1
			}
		}
		if opt.MaintNotificationsConfig == nil {
			// Plain Redis does not know the handshake; don't attempt it.
			opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		}
		client = redis.NewClient(opt)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gl"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 6 * time.Second
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = cfg.TTL / 3
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Second
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10_000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Directory{
		cfg:              cfg,
		log:              log,
		client:           client,
		missesBeforeGone: int((cfg.TTL+cfg.Refresh-1)/cfg.Refresh) + gonePeriods,
		ctx:              ctx,
		cancel:           cancel,
		own:              map[string]ownEntry{},
		watched:          map[string]*watch{},
		cache:            map[string]cacheEntry{},
	}, nil
}

// Self is this node's URL, as entries name it.
func (d *Directory) Self() string { return d.cfg.Self }

// Start starts the refresh loop. Call it once.
func (d *Directory) Start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.started {
		return errors.New("mediadir: started twice")
	}
	d.started = true
	d.wg.Go(d.loop)
	return nil
}

// Close stops the refresh loop, withdraws what this node still announces
// (best effort, within a second) and closes the Redis client.
func (d *Directory) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d.mu.Lock()
	own := d.own
	d.own = map[string]ownEntry{}
	d.mu.Unlock()
	for id, e := range own {
		if _, err := d.withdraw(ctx, id, e); err != nil {
			d.log.Warn("failed to withdraw a stream from the media directory at shutdown", "fundraiser", id, "err", err)
		}
	}
	return d.client.Close()
}

func (d *Directory) key(id string) string    { return d.cfg.Prefix + ":{" + id + "}:media" }
func (d *Directory) marker(id string) string { return d.cfg.Prefix + ":{" + id + "}:media:told" }

// Announce records that this node ingests fundraiserID's stream, taking
// over any other node's entry (the newest publisher wins). The loop keeps
// it fresh until Withdraw. When Redis fails the error is returned, and the
// loop keeps trying.
func (d *Directory) Announce(ctx context.Context, fundraiserID string) error {
	session := newSession()
	value, err := json.Marshal(Entry{URL: d.cfg.Self, Session: session})
	if err != nil {
		return fmt.Errorf("failed to encode media directory entry: %w", err)
	}
	e := ownEntry{value: string(value), session: session}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.own[fundraiserID] = e
	delete(d.watched, fundraiserID)
	delete(d.cache, fundraiserID)
	d.mu.Unlock()
	if err := d.client.Set(ctx, d.key(fundraiserID), e.value, d.cfg.TTL).Err(); err != nil {
		return fmt.Errorf("failed to announce stream %s in the media directory: %w", fundraiserID, err)
	}
	return nil
}

// Withdraw removes this node's entry for fundraiserID, unless another node
// has taken the stream over since: elsewhere then reports true, and the
// stream is still live there. Withdrawing what this node never announced
// does nothing.
func (d *Directory) Withdraw(ctx context.Context, fundraiserID string) (elsewhere bool, err error) {
	d.mu.Lock()
	e, ok := d.own[fundraiserID]
	delete(d.own, fundraiserID)
	delete(d.cache, fundraiserID)
	d.mu.Unlock()
	if !ok {
		return false, nil
	}
	return d.withdraw(ctx, fundraiserID, e)
}

// withdrawScript deletes the entry if it is still ours and adds the
// session to the told set. Returns 1 (deleted), 2 (there was none) or 0 (another
// node's entry; left alone).
var withdrawScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
if not v then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 2
end
return 0
`)

func (d *Directory) withdraw(ctx context.Context, id string, e ownEntry) (bool, error) {
	n, err := withdrawScript.Run(ctx, d.client, []string{d.key(id), d.marker(id)},
		e.value, e.session, markerTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("failed to withdraw stream %s from the media directory: %w", id, err)
	}
	return n == 0, nil
}

// refreshScript extends the entry if it is ours, or puts it back if it is
// missing (Redis restarted, or a refresh came late) unless it was
// withdrawn. Another node's entry is left alone. Returns 1 or 0.
var refreshScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or (not v and redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 1
end
return 0
`)

// claimScript claims the news that a vanished entry's stream is offline:
// only when there is no entry now and nobody told that session's end yet.
var claimScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`)

// Lookup returns fundraiserID's entry, if there is one. An entry found is
// remembered for CacheTTL (so a stream that just ended may still be found
// for that long); its absence and errors are not, so a stream that has just
// gone live is found at once. An entry of another node is watched from then
// on, so that its node's death is noticed (see Config.Gone).
func (d *Directory) Lookup(ctx context.Context, fundraiserID string) (Entry, bool, error) {
	now := time.Now()
	d.mu.Lock()
	c, ok := d.cache[fundraiserID]
	d.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.entry, true, nil
	}
	var e Entry
	raw, err := d.client.Get(ctx, d.key(fundraiserID)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		// Not cached: a viewer who has just heard "live" asks at once.
		return Entry{}, false, nil
	case err != nil:
		return Entry{}, false, fmt.Errorf("failed to look up stream %s in the media directory: %w", fundraiserID, err)
	default:
		if err := json.Unmarshal([]byte(raw), &e); err != nil || e.URL == "" {
			return Entry{}, false, fmt.Errorf("media directory entry of %s is malformed", fundraiserID)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cache) >= d.cfg.CacheSize {
		clear(d.cache)
	}
	d.cache[fundraiserID] = cacheEntry{entry: e, expires: now.Add(d.cfg.CacheTTL)}
	if e.URL != d.cfg.Self {
		if w := d.watched[fundraiserID]; w != nil {
			w.session, w.misses = e.Session, 0
		} else if len(d.watched) < d.cfg.CacheSize {
			d.watched[fundraiserID] = &watch{session: e.Session}
		}
	}
	return e, true, nil
}

// Elsewhere reports whether another node announces fundraiserID's stream
// (an entry naming this node is a leftover of its previous run).
func (d *Directory) Elsewhere(ctx context.Context, fundraiserID string) (bool, error) {
	e, found, err := d.Lookup(ctx, fundraiserID)
	return found && e.URL != d.cfg.Self, err
}

func (d *Directory) loop() {
	t := time.NewTicker(d.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Refresh)
		d.refresh(ctx)
		d.check(ctx)
		cancel()
	}
}

// refresh extends every entry this node announces, in one pipeline.
func (d *Directory) refresh(ctx context.Context) {
	d.mu.Lock()
	ids := make([]string, 0, len(d.own))
	entries := make([]ownEntry, 0, len(d.own))
	for id, e := range d.own {
		ids = append(ids, id)
		entries = append(entries, e)
	}
	d.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	pipe := d.client.Pipeline()
	cmds := make([]*redis.Cmd, len(ids))
	for i, id := range ids {
		// Eval, not Run: in a pipeline a NOSCRIPT cannot fall back.
		cmds[i] = refreshScript.Eval(ctx, pipe, []string{d.key(id), d.marker(id)},
			entries[i].value, entries[i].session, d.cfg.TTL.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		if d.ctx.Err() == nil {
			d.log.Warn("failed to refresh the media directory", "streams", len(ids), "err", err)
		}
		return
	}
	for i, c := range cmds {
		if n, _ := c.Int(); n == 0 {
			d.log.Debug("another node took this stream over in the media directory", "fundraiser", ids[i])
		}
	}
}

// check looks at every watched entry of another node; one missing on
// missesBeforeGone checks in a row is claimed, and if this node wins the
// claim, Gone is called.
func (d *Directory) check(ctx context.Context) {
	type item struct{ id, session string }
	d.mu.Lock()
	items := make([]item, 0, len(d.watched))
	for id, w := range d.watched {
		items = append(items, item{id, w.session})
	}
	d.mu.Unlock()
	if len(items) == 0 {
		return
	}
	pipe := d.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(items))
	for i, it := range items {
		cmds[i] = pipe.Get(ctx, d.key(it.id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		if d.ctx.Err() == nil {
			d.log.Warn("failed to check watched streams in the media directory", "streams", len(items), "err", err)
		}
		return
	}
	for i, it := range items {
		raw, err := cmds[i].Result()
		if err == nil {
			d.seen(it.id, raw)
			continue
		}
		if !errors.Is(err, redis.Nil) || !d.missed(it.id, it.session) {
			continue
		}
		claimed, err := claimScript.Run(ctx, d.client, []string{d.key(it.id), d.marker(it.id)},
			it.session, markerTTL.Milliseconds()).Int()
		if err != nil {
			d.log.Warn("failed to claim a vanished stream in the media directory", "fundraiser", it.id, "err", err)
			continue
		}
		d.mu.Lock()
		if w := d.watched[it.id]; w != nil && w.session == it.session {
			delete(d.watched, it.id)
		}
		delete(d.cache, it.id)
		d.mu.Unlock()
		if claimed == 1 && d.cfg.Gone != nil {
			d.log.Info("a stream's node stopped announcing it; telling its room it is offline", "fundraiser", it.id)
			goneCtx, cancel := context.WithTimeout(d.ctx, goneTimeout)
			d.cfg.Gone(goneCtx, it.id)
			cancel()
		}
	}
}

// seen updates a watch with the entry found now.
func (d *Directory) seen(id, raw string) {
	var e Entry
	_ = json.Unmarshal([]byte(raw), &e)
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.watched[id]
	switch {
	case w == nil:
	case e.URL == d.cfg.Self || e.Session == "":
		delete(d.watched, id) // ours now, or unreadable
	default:
		w.session, w.misses = e.Session, 0
	}
}

// missed counts a check that found no entry, and reports whether it is
// now gone.
func (d *Directory) missed(id, session string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.watched[id]
	if w == nil || w.session != session {
		return false
	}
	w.misses++
	return w.misses >= d.missesBeforeGone
}

func newSession() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}
