package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/redisbroker"
	"github.com/givelive/givelive/internal/config"
)

// newBroker picks the hub's broker: in memory (one node) unless
// GIVELIVE_REDIS_URL names a Redis, shared by every node. With Redis it
// also returns the readiness check /readyz runs (nil without). The hub
// starts the broker and closes it at shutdown.
func newBroker(cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (hub.Broker, func(context.Context) error, error) {
	if cfg.RedisURL == "" {
		return nil, nil, nil // the hub's memory broker
	}
	b, err := redisbroker.New(redisbroker.Config{URL: cfg.RedisURL, Logger: log.With("component", "redis")})
	if err != nil {
		return nil, nil, fmt.Errorf("GIVELIVE_REDIS_URL: %w", err)
	}
	stats := func(pick func(redisbroker.Stats) uint64) func() float64 {
		return func() float64 { return float64(pick(b.Stats())) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "givelive_redis_dropped_total", Help: "Publications from Redis dropped on a full worker queue (the hub closes the gap with 4000).",
		}, stats(func(s redisbroker.Stats) uint64 { return s.Dropped })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "givelive_redis_reconnects_total", Help: "Times the Redis pub/sub connection came back after an error.",
		}, stats(func(s redisbroker.Stats) uint64 { return s.Reconnects })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "givelive_redis_stale_total", Help: "Times a silent Redis pub/sub connection was replaced.",
		}, stats(func(s redisbroker.Stats) uint64 { return s.Stale })),
	} {
		if err := reg.Register(c); err != nil {
			return nil, nil, fmt.Errorf("failed to register redis metrics: %w", err)
		}
	}
	log.Info("hub broker: redis", "url", redactURL(cfg.RedisURL))
	return b, b.Ping, nil
}

// redactURL hides a URL's password for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
