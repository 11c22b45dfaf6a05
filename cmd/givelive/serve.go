package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/demo"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/moderation"
	"github.com/givelive/givelive/internal/outbox"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/payment/stripe"
	"github.com/givelive/givelive/internal/streams"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	withDemo := fs.Bool("demo", false, "seed a verified nonprofit, a broadcaster and a fundraiser, and print how to use them")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(stderr, "givelive:", err)
		return 2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "givelive:", err)
		return 2
	}
	if err := runServer(ctx, cfg, *withDemo, log, stdout); err != nil {
		log.Error("server failed", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("GIVELIVE_LOG_LEVEL=%q: want debug, info, warn or error", cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("GIVELIVE_LOG_FORMAT=%q: want text or json", cfg.LogFormat)
	}
}

// runServer runs until ctx is cancelled (SIGTERM), then drains: new
// connections are refused, WebSockets are closed with 1001, and it returns
// nil once everything has stopped.
func runServer(ctx context.Context, cfg config.Config, withDemo bool, log *slog.Logger, stdout io.Writer) error {
	if cfg.AdminToken == "" {
		cfg.AdminToken = randomToken()
		log.Warn("GIVELIVE_ADMIN_TOKEN is not set; generated an admin token for this run", "admin_token", cfg.AdminToken)
	}

	ledger, err := openLedger(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer ledger.Close()

	tokens, err := auth.New(auth.Config{AdminToken: cfg.AdminToken, Store: ledger, ViewerTTL: cfg.ViewerTokenTTL})
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	provider, webhooks, err := paymentProvider(cfg, log)
	if err != nil {
		return err
	}
	policy := moderation.NewPolicy(ledger, 0)
	var dispatcher *outbox.Dispatcher // set below; the service only wakes it
	donations, err := donation.New(donation.Config{
		Store:            ledger,
		Provider:         provider,
		MinAmount:        cfg.DonationMin,
		MaxAmount:        cfg.DonationMax,
		Filter:           moderation.NewFilter(cfg.WordFilter),
		MessageMinAmount: cfg.MessageMinAmount,
		Policy:           policy,
		Notify:           func() { dispatcher.Notify() },
		Logger:           log.With("component", "donations"),
	})
	if err != nil {
		return err
	}

	broker, ready, err := newBroker(cfg, reg, log)
	if err != nil {
		return err
	}
	rooms, err := hub.New(hub.Config{
		Broker:          broker,
		Auth:            hubAuth{tokens},
		Rooms:           roomDirectory{ledger},
		Donors:          donations,
		Policy:          policy,
		Logger:          log.With("component", "hub"),
		Metrics:         reg,
		OriginPatterns:  cfg.WSOrigins,
		MaxConnsPerAddr: cfg.WSPerAddress,
	})
	if err != nil {
		return err
	}

	// The dispatcher first publishes what a crash left in the outbox, then
	// every committed change as it is notified.
	dispatcher, err = outbox.New(outbox.Config{
		Ledger:    ledger,
		Publisher: hubPublisher{rooms},
		Logger:    log.With("component", "outbox"),
		Registry:  reg,
	})
	if err != nil {
		return err
	}
	dispatchCtx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	dispatched := make(chan struct{})
	go func() { defer close(dispatched); dispatcher.Run(dispatchCtx) }()
	defer func() { stopDispatch(); <-dispatched }()

	// The media side: stream status per fundraiser, RTMP in and HLS out
	// (or mediamtx's HLS, proxied). With Redis, the media directory tells
	// the other nodes which streams this node ingests, and this node where
	// theirs are.
	var (
		med     *media
		tracker *streams.Tracker
	)
	dir, err := newMediaDirectory(cfg, func(ctx context.Context, id string) { tracker.Vanished(ctx, id) }, log)
	if err != nil {
		return err
	}
	streamsCfg := streams.Config{
		Ledger:    ledger,
		Publisher: rooms,
		Notify:    func() { dispatcher.Notify() },
		Stop:      func(id string) bool { return med.stopPublish(id) },
		Logger:    log.With("component", "streams"),
	}
	if dir != nil {
		streamsCfg.Directory = dir
		// Closed after the media server stopped and withdrew its streams.
		defer dir.Close()
	}
	if tracker, err = streams.New(streamsCfg); err != nil {
		return err
	}
	if dir != nil {
		if err := dir.Start(); err != nil {
			return err
		}
	}
	med, err = startMedia(cfg, ledger, tracker, dir, reg, log)
	if err != nil {
		return err
	}
	defer med.stop() // on early returns; the drain below stops it first

	srv, err := api.New(api.Config{
		Store:          ledger,
		Donations:      donations,
		Webhooks:       webhooks,
		Auth:           tokens,
		Rooms:          rooms,
		Chat:           rooms,
		Audience:       rooms,
		Streams:        tracker,
		StreamHealth:   med,
		Replays:        med.replaySource(),
		MediaMTXSecret: cfg.MediaMTXSecret,
		IngestURL:      cfg.IngestURL,
		WHIPPath:       med.whipURLPath(),
		Payments:       api.Payments{PublishableKey: cfg.StripePublishableKey, StripeJSURL: cfg.StripeJSURL},
		WebSocket:      rooms,
		Registry:       reg,
		Ready:          ready,
		ReadyName:      "redis",
		PublicURL:      cfg.PublicURL,
		RTMPAddr:       cfg.RTMPAddr,
		CORSOrigins:    cfg.CORSOrigins,
		TrustProxy:     cfg.TrustProxy,
		RateLimit:      apiRateLimit(cfg),
		Logger:         log.With("component", "api"),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", cfg.HTTPAddr, err)
	}
	httpSrv := &http.Server{
		Handler:           srv.HostGuard(routeWeb(newWebApp(cfg, ledger, tracker, log), routeHLS(med.hls, med.replayHandler(), med.routeWHIP(med.routeAPI(srv.Handler()))))),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	log.Info("givelive listening", "http", ln.Addr().String(), "data_dir", cfg.DataDir)

	if withDemo {
		info, err := demo.Seed(ctx, ledger, tokens)
		if err != nil {
			return err
		}
		info.Print(stdout, baseURL(cfg.PublicURL, ln.Addr()), demoIngestURL(cfg, med))
	}

	select {
	case err := <-served:
		return fmt.Errorf("failed to serve http: %w", err)
	case <-ctx.Done():
	}
	log.Info("draining: refusing new connections and closing WebSockets with 1001", "timeout", cfg.DrainTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancel()
	// Publishers first, so each stream goes offline while the hub can
	// still say so; then HTTP, so no donation is being recorded; then what
	// the outbox holds goes out (whatever does not is published at the next
	// start); then the WebSockets close.
	med.stop()
	httpErr := httpSrv.Shutdown(drainCtx)
	outboxErr := dispatcher.Drain(drainCtx)
	hubErr := rooms.Shutdown(drainCtx)
	if err := errors.Join(httpErr, outboxErr, hubErr); err != nil {
		log.Warn("drain did not finish cleanly", "err", err)
	}
	log.Info("stopped")
	return nil
}

// paymentProvider builds the provider GIVELIVE_PAYMENTS names and the
// webhooks it serves.
func paymentProvider(cfg config.Config, log *slog.Logger) (payment.Provider, map[string]payment.Webhook, error) {
	if cfg.Payments != "stripe" {
		return payment.Sandbox{}, nil, nil
	}
	p, err := stripe.New(stripe.Config{
		SecretKey:     cfg.StripeSecretKey,
		WebhookSecret: cfg.StripeWebhookSecret,
		APIURL:        cfg.StripeAPIURL,
		Logger:        log.With("component", "stripe"),
	})
	if err != nil {
		return nil, nil, err
	}
	return p, map[string]payment.Webhook{p.Name(): p}, nil
}

// baseURL is how a person on this machine reaches the server.
func baseURL(public string, addr net.Addr) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// demoIngestURL is where a person on this machine publishes.
func demoIngestURL(cfg config.Config, med *media) string {
	if cfg.IngestURL != "" {
		return cfg.IngestURL
	}
	host := "localhost"
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	if med.ln == nil {
		return "rtmp://" + host + "/live"
	}
	_, port, _ := net.SplitHostPort(med.ln.Addr().String())
	if port == "1935" {
		return "rtmp://" + host + "/live"
	}
	return "rtmp://" + net.JoinHostPort(host, port) + "/live"
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "gla_" + base64.RawURLEncoding.EncodeToString(b)
}

// apiRateLimit maps GIVELIVE_API_RATE/BURST to the API's limit: a negative
// rate turns it off (for load tests on loopback).
func apiRateLimit(cfg config.Config) api.RateLimit {
	if cfg.APIRate < 0 {
		return api.RateLimit{Disabled: true}
	}
	return api.RateLimit{PerSecond: cfg.APIRate, Burst: cfg.APIBurst}
}
