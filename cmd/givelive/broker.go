package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/redisbroker"
	"github.com/givelive/givelive/internal/config"
)

// newBroker picks the hub's broker: in memory (one node) unless
// GIVELIVE_REDIS_URL names a Redis, shared by every node, or several,
// comma-separated, that share the rooms (redisbroker.Ring), or the nodes
// of a Redis Cluster with GIVELIVE_REDIS_CLUSTER=true. With Redis it
// also returns the readiness check /readyz runs (nil without). The hub
// starts the broker and closes it at shutdown.
func newBroker(cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (hub.Broker, func(context.Context) error, error) {
	if cfg.RedisURL == "" {
		return nil, nil, nil // the hub's memory broker
	}
	var b interface {
		hub.Broker
		Ping(context.Context) error
		Stats() redisbroker.Stats
	}
	rcfg := redisbroker.Config{Logger: log.With("component", "redis")}
	urls := strings.Split(cfg.RedisURL, ",")
	var err error
	switch {
	case cfg.RedisCluster:
		rcfg.URL, rcfg.Cluster = cfg.RedisURL, true
		b, err = redisbroker.New(rcfg)
	case len(urls) == 1:
		rcfg.URL = urls[0]
		b, err = redisbroker.New(rcfg)
	default:
		b, err = redisbroker.NewRing(urls, rcfg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("GIVELIVE_REDIS_URL: %w", err)
	}
	for _, m := range []struct {
		name, help string
		pick       func(redisbroker.Stats) uint64
	}{
		{"givelive_redis_dropped_total", "Publications from Redis dropped on a full worker queue (delivered later from history).",
			func(s redisbroker.Stats) uint64 { return s.Dropped }},
		{"givelive_redis_reconnects_total", "Times the Redis pub/sub connection came back after an error.",
			func(s redisbroker.Stats) uint64 { return s.Reconnects }},
		{"givelive_redis_stale_total", "Times a silent Redis pub/sub connection was replaced.",
			func(s redisbroker.Stats) uint64 { return s.Stale }},
		{"givelive_redis_recovered_total", "Publications this node missed (disconnection, full queue) and delivered from history.",
			func(s redisbroker.Stats) uint64 { return s.Recovered }},
		{"givelive_redis_lost_total", "Times a room's missed publications were no longer in Redis (its viewers resume).",
			func(s redisbroker.Stats) uint64 { return s.Lost }},
		{"givelive_redis_pipelines_total", "Pipelines of publications sent to Redis.",
			func(s redisbroker.Stats) uint64 { return s.Batches }},
	} {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help},
			func() float64 { return float64(m.pick(b.Stats())) })
		if err := reg.Register(c); err != nil {
			return nil, nil, fmt.Errorf("failed to register redis metrics: %w", err)
		}
	}
	shown := make([]string, len(urls))
	for i, u := range urls {
		shown[i] = redactURL(u)
	}
	log.Info("hub broker: redis", "servers", shown, "cluster", cfg.RedisCluster)
	return b, b.Ping, nil
}

// redactURL hides a URL's password for logs: the user's, and any query
// parameter that may hold one (password=, sslpassword=, …).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			if l := strings.ToLower(k); strings.Contains(l, "password") || strings.Contains(l, "secret") || strings.Contains(l, "key") {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
