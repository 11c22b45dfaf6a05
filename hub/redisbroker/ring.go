package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// Ring is a hub.Broker over several independent Redis servers: each room
// lives on one of them, chosen by rendezvous hashing of the room against
// each server's name, so the servers share rooms (and their pub/sub
// traffic) about evenly, and adding or removing one server moves only the
// rooms that belonged to it, or now belong to it (about 1/n of them).
//
// Every node must list the same servers (in any order; host case, a
// default port or database written out or not make no difference): a room's publications, history and viewer counts are on the one
// server every node picks for it. Each server is a Broker of its own, with
// its own pub/sub connection and pipelines.
type Ring struct {
	names  []string
	shards []*Broker
}

var (
	_ hub.Broker        = (*Ring)(nil)
	_ hub.ViewerCounter = (*Ring)(nil)
)

// NewRing returns a Ring over one Broker per URL, each configured as
// template (whose URL and Options are ignored). A server's name, which
// decides its rooms, is its URL without credentials.
func NewRing(urls []string, template Config) (*Ring, error) {
	if len(urls) == 0 {
		return nil, errors.New("redisbroker: no redis url")
	}
	r := &Ring{}
	seen := make(map[string]bool)
	for _, u := range urls {
		name, err := shardName(u)
		if err != nil {
			r.Close()
			return nil, err
		}
		if seen[name] {
			r.Close()
			return nil, fmt.Errorf("redisbroker: redis %s listed twice", name)
		}
		seen[name] = true
		cfg := template
		cfg.URL, cfg.Options = u, nil
		if cfg.Logger != nil {
			cfg.Logger = cfg.Logger.With("redis", name)
		}
		b, err := New(cfg)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("redisbroker: %s: %w", name, err)
		}
		r.names, r.shards = append(r.names, name), append(r.shards, b)
	}
	return r, nil
}

// shardName is a Redis URL without its credentials or query, in one
// spelling, so nodes that write a server's URL differently agree on it.
func shardName(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("redisbroker: bad redis url: %w", err)
	}
	switch u.Scheme {
	case "redis", "rediss":
		// Spelled one way whatever the URL's: host in lower case, the
		// default port and database written out.
		db := strings.Trim(u.Path, "/")
		if db == "" {
			db = "0"
		}
		port := u.Port()
		if port == "" {
			port = "6379"
		}
		host := strings.ToLower(u.Hostname())
		return u.Scheme + "://" + net.JoinHostPort(host, port) + "/" + db, nil
	case "unix":
		return "unix://" + u.Path, nil
	default:
		return "", fmt.Errorf("redisbroker: redis url scheme %q: want redis, rediss or unix", u.Scheme)
	}
}

// Shard returns the name of the server that holds room.
func (r *Ring) Shard(room string) string { return r.names[r.pick(room)] }

// pick is rendezvous (highest random weight) hashing: the room goes to the
// server whose name hashed with it scores highest.
func (r *Ring) pick(room string) int {
	best, bestScore := 0, uint64(0)
	for i, name := range r.names {
		if s := score(name, room); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// score is FNV-1a over name, a separator and room, with a final mix so
// nearby inputs spread over the whole range.
func score(name, room string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	h = (h ^ 0xff) * 1099511628211
	for i := 0; i < len(room); i++ {
		h = (h ^ uint64(room[i])) * 1099511628211
	}
	// splitmix64's finaliser
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

func (r *Ring) shard(room string) *Broker { return r.shards[r.pick(room)] }

// Start implements hub.Broker: every server's broker delivers to h.
func (r *Ring) Start(h hub.PublicationHandler) error {
	for i, b := range r.shards {
		if err := b.Start(h); err != nil {
			return fmt.Errorf("redis %s: %w", r.names[i], err)
		}
	}
	return nil
}

// Publish implements hub.Broker.
func (r *Ring) Publish(ctx context.Context, room string, p hub.Publication) (wire.Position, error) {
	return r.shard(room).Publish(ctx, room, p)
}

// Subscribe implements hub.Broker.
func (r *Ring) Subscribe(ctx context.Context, room string) error {
	return r.shard(room).Subscribe(ctx, room)
}

// Unsubscribe implements hub.Broker.
func (r *Ring) Unsubscribe(ctx context.Context, room string) error {
	return r.shard(room).Unsubscribe(ctx, room)
}

// History implements hub.Broker.
func (r *Ring) History(ctx context.Context, room string, since *wire.Position) (hub.History, error) {
	return r.shard(room).History(ctx, room, since)
}

// CountViewers implements hub.ViewerCounter.
func (r *Ring) CountViewers(ctx context.Context, room string, local int64) (int64, bool, error) {
	return r.shard(room).CountViewers(ctx, room, local)
}

// Ping checks every server: the node is ready only when all answer, since
// each holds some rooms.
func (r *Ring) Ping(ctx context.Context) error {
	var errs []error
	for i, b := range r.shards {
		if err := b.Ping(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.names[i], err))
		}
	}
	return errors.Join(errs...)
}

// Stats returns the servers' counters, summed.
func (r *Ring) Stats() Stats {
	var s Stats
	for _, b := range r.shards {
		t := b.Stats()
		s.Dropped += t.Dropped
		s.Reconnects += t.Reconnects
		s.Stale += t.Stale
		s.Batches += t.Batches
		s.SubscribeCommands += t.SubscribeCommands
		s.Recovered += t.Recovered
		s.Lost += t.Lost
	}
	return s
}

// Close implements hub.Broker: it closes every server's broker.
func (r *Ring) Close() error {
	var errs []error
	for _, b := range r.shards {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}
