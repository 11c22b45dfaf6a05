// Package outbox publishes the events the ledger's transactions leave in
// its outbox to the hub, so that every announced change is committed first
// and every committed change is announced.
//
// Entry points: New, Dispatcher.Run, Dispatcher.Notify, Dispatcher.Drain.
//
// Delivery is at least once: an event is removed from the outbox only after
// the hub accepted it, so a crash between the two publishes it again at the
// next start (clients deduplicate donations by id). Events leave in the
// order their transactions committed.
//
// Concurrency: one Dispatcher per ledger runs Run in one goroutine; Notify
// and Drain may be called from any goroutine.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/internal/store"
)

// Ledger is the part of the store the dispatcher reads and trims.
type Ledger interface {
	PendingEvents(ctx context.Context, limit int) ([]store.OutboxEvent, error)
	MarkPublished(ctx context.Context, seqs []int64) error
}

// Publisher takes an event to a room; the hub implements it.
type Publisher interface {
	PublishRaw(ctx context.Context, room, typ string, data json.RawMessage) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, room, typ string, data json.RawMessage) error

// PublishRaw calls f.
func (f PublisherFunc) PublishRaw(ctx context.Context, room, typ string, data json.RawMessage) error {
	return f(ctx, room, typ, data)
}

// Config configures New. Ledger and Publisher are required.
type Config struct {
	Ledger    Ledger
	Publisher Publisher
	// Poll is how often Run looks for events nobody notified it of (written
	// by another process sharing the ledger). Default 1 s.
	Poll time.Duration
	// Batch is how many events one read takes. Default 256.
	Batch    int
	Logger   *slog.Logger
	Registry prometheus.Registerer // nil: metrics are kept but not registered
}

// Dispatcher moves events from the outbox to the hub.
type Dispatcher struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	mu sync.Mutex // one drain at a time, so events keep their order

	published prometheus.Counter
	failures  prometheus.Counter
	lag       prometheus.Histogram
}

// New returns a Dispatcher; call Run to start it.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Ledger == nil || cfg.Publisher == nil {
		return nil, errors.New("outbox: Config.Ledger and Config.Publisher are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{
		cfg:  cfg,
		log:  cfg.Logger,
		wake: make(chan struct{}, 1),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_outbox_published_total", Help: "Outbox events published to the hub.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_outbox_failures_total", Help: "Failed attempts to read, publish or trim outbox events (retried).",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "givelive_outbox_lag_seconds",
			Help:    "Time from an event's commit to its publication.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{d.published, d.failures, d.lag} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("outbox: failed to register metrics: %w", err)
			}
		}
	}
	return d, nil
}

// Notify tells the dispatcher that a transaction wrote events. It never
// blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run publishes what the outbox holds (what a crash left, first), then
// whatever is notified or found by polling, until ctx ends. Failures are
// logged and retried with backoff; Run returns only when ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	backoff := time.Duration(0)
	for {
		if err := d.Drain(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			d.log.Warn("outbox: will retry", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-poll.C:
		}
	}
}

// Drain publishes every event in the outbox, in order, and returns when it
// is empty or an attempt failed. A ledger that several processes share
// (store.EventClaimer) is drained through claims, so that each event is
// published by one of them, in its room's order.
func (d *Dispatcher) Drain(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.cfg.Ledger.(store.EventClaimer); ok {
		return d.drainClaims(ctx, c)
	}
	for {
		events, err := d.cfg.Ledger.PendingEvents(ctx, d.cfg.Batch)
		if err != nil {
			d.failures.Inc()
			return fmt.Errorf("failed to read the outbox: %w", err)
		}
		if len(events) == 0 {
			return nil
		}
		done, pubErr := d.publish(ctx, events)
		if done > 0 {
			// Trimming with a context that outlives ctx: the events are
			// out, so forgetting them now saves republishing them later.
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			seqs := make([]int64, done)
			for i, e := range events[:done] {
				seqs[i] = e.Seq
			}
			err := d.cfg.Ledger.MarkPublished(tctx, seqs)
			cancel()
			if err != nil {
				d.failures.Inc()
				return errors.Join(pubErr, fmt.Errorf("failed to trim the outbox: %w", err))
			}
		}
		if pubErr != nil {
			return pubErr
		}
		if len(events) < d.cfg.Batch {
			return nil
		}
	}
}

// drainClaims drains a shared outbox a claim at a time, until a claim
// finds nothing. A claim that finds only events another process holds, or
// that wait behind an earlier event of their room another process holds,
// comes back empty: that process takes them up when it claims again after
// publishing its own (which is why this claims until empty, not until a
// short batch).
func (d *Dispatcher) drainClaims(ctx context.Context, c store.EventClaimer) error {
	for {
		claimed, err := c.ClaimEvents(ctx, d.cfg.Batch, func(events []store.OutboxEvent) (int, error) {
			return d.publish(ctx, events)
		})
		if err != nil {
			if claimed == 0 {
				d.failures.Inc() // publish failures are counted where they happen
			}
			return fmt.Errorf("failed to drain the outbox: %w", err)
		}
		if claimed == 0 {
			return nil
		}
	}
}

// publish hands events to the hub in order, stopping at the first failure,
// and returns how many went out.
func (d *Dispatcher) publish(ctx context.Context, events []store.OutboxEvent) (int, error) {
	for i, e := range events {
		if err := d.cfg.Publisher.PublishRaw(ctx, e.Room, e.Type, e.Data); err != nil {
			d.failures.Inc()
			return i, fmt.Errorf("failed to publish outbox event %d (%s to %s): %w", e.Seq, e.Type, e.Room, err)
		}
		d.published.Inc()
		d.lag.Observe(time.Since(e.CreatedAt).Seconds())
	}
	return len(events), nil
}
