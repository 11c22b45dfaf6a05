// Package config reads GiveLive's configuration from the environment.
//
// Every variable is optional; Load fills documented defaults. The names of
// the GIVELIVE_* variables in PROTOCOL.md section 7 are part of the public
// contract; the others are additions.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the whole server configuration. The zero value is not useful;
// call Load.
type Config struct {
	HTTPAddr    string `env:"GIVELIVE_HTTP_ADDR" envDefault:":8080"`
	RTMPAddr    string `env:"GIVELIVE_RTMP_ADDR" envDefault:":1935"`
	DataDir     string `env:"GIVELIVE_DATA_DIR" envDefault:"./data"`
	AdminToken  string `env:"GIVELIVE_ADMIN_TOKEN"` // empty: generated and logged at start-up
	DatabaseURL string `env:"GIVELIVE_DATABASE_URL"`
	RedisURL    string `env:"GIVELIVE_REDIS_URL"`
	// RedisCluster makes RedisURL's comma-separated list the seed nodes of
	// a Redis Cluster (sharded pub/sub) instead of independent servers
	// that share the rooms.
	RedisCluster bool   `env:"GIVELIVE_REDIS_CLUSTER" envDefault:"false"`
	Payments     string `env:"GIVELIVE_PAYMENTS" envDefault:"sandbox"`
	PublicURL    string `env:"GIVELIVE_PUBLIC_URL"`

	// Additions beyond the contract.
	LogLevel    string   `env:"GIVELIVE_LOG_LEVEL" envDefault:"info"`   // debug, info, warn, error
	LogFormat   string   `env:"GIVELIVE_LOG_FORMAT" envDefault:"text"`  // text or json
	CORSOrigins []string `env:"GIVELIVE_CORS_ORIGINS" envSeparator:","` // empty: same origin only
	WSOrigins   []string `env:"GIVELIVE_WS_ORIGINS" envSeparator:","`   // host patterns; empty: same host only
	TrustProxy  bool     `env:"GIVELIVE_TRUST_PROXY" envDefault:"false"`
	// WSPerAddress bounds the WebSockets one client address may hold open
	// (an IPv6 address counts by its /64); negative: no bound.
	WSPerAddress   int           `env:"GIVELIVE_WS_PER_ADDRESS" envDefault:"256"`
	ViewerTokenTTL time.Duration `env:"GIVELIVE_VIEWER_TOKEN_TTL" envDefault:"24h"`
	DrainTimeout   time.Duration `env:"GIVELIVE_DRAIN_TIMEOUT" envDefault:"10s"`
	// APIRate and APIBurst limit each client IP on /api/v1 (a negative
	// rate turns the limit off, for load tests on loopback).
	APIRate  float64 `env:"GIVELIVE_API_RATE" envDefault:"20"`
	APIBurst int     `env:"GIVELIVE_API_BURST" envDefault:"40"`

	// Donations: limits in minor units, the smallest gift whose message is
	// shown, and the words masked in messages (a comma-separated list, and
	// a file with one word per line).
	DonationMin      int64    `env:"GIVELIVE_DONATION_MIN" envDefault:"100"`
	DonationMax      int64    `env:"GIVELIVE_DONATION_MAX" envDefault:"1000000"`
	MessageMinAmount int64    `env:"GIVELIVE_DONATION_MESSAGE_MIN" envDefault:"0"`
	WordFilter       []string `env:"GIVELIVE_WORD_FILTER" envSeparator:","`
	WordFilterFile   string   `env:"GIVELIVE_WORD_FILTER_FILE"`

	// Media: the Low-Latency HLS segment minimum (segments are cut at the
	// first keyframe after it), part duration and window, the publish URL
	// shown to broadcasters when something else (mediamtx) takes RTMP,
	// where HLS comes from (empty: the embedded media server; a URL:
	// mediamtx's HLS server, and the embedded server is off), and the
	// secret mediamtx presents to the auth callback and hook.
	HLSSegment     time.Duration `env:"GIVELIVE_HLS_SEGMENT" envDefault:"1s"`
	HLSPart        time.Duration `env:"GIVELIVE_HLS_PART" envDefault:"200ms"`
	HLSWindow      int           `env:"GIVELIVE_HLS_WINDOW" envDefault:"7"`
	HLSSource      string        `env:"GIVELIVE_HLS_SOURCE"`
	IngestURL      string        `env:"GIVELIVE_INGEST_URL"`
	MediaMTXSecret string        `env:"GIVELIVE_MEDIAMTX_SECRET"`
	RTMPMaxStreams int           `env:"GIVELIVE_RTMP_MAX_STREAMS" envDefault:"64"`
	// WHIP (WebRTC publish from a browser or OBS 30+): ICE and media of
	// every session share one UDP port (and one TCP port, the same
	// number, for networks that block UDP). Empty or "off": no WHIP. The
	// public IPs replace the host's own in the candidates publishers are
	// told (a server behind a 1:1 NAT, such as a cloud instance).
	WebRTCAddr      string   `env:"GIVELIVE_WEBRTC_ADDR" envDefault:":8189"`
	WebRTCTCP       bool     `env:"GIVELIVE_WEBRTC_TCP" envDefault:"true"`
	WebRTCPublicIPs []string `env:"GIVELIVE_WEBRTC_PUBLIC_IP" envSeparator:","`
	// AdvertiseURL is this node's HTTP base URL as other nodes reach it
	// (http://10.0.0.5:8080), for HLS proxied from the node that ingests
	// a stream. Empty: derived from GIVELIVE_HTTP_ADDR (an unspecified
	// host becomes the machine's hostname). Used with GIVELIVE_REDIS_URL.
	AdvertiseURL string `env:"GIVELIVE_ADVERTISE_URL"`

	// Recordings: where every broadcast is recorded for its replay (empty:
	// {GIVELIVE_DATA_DIR}/recordings; "off": nothing is recorded), and how
	// long a broadcast is kept after it ended (0: forever).
	RecordingsDir       string        `env:"GIVELIVE_RECORDINGS_DIR"`
	RecordingsRetention time.Duration `env:"GIVELIVE_RECORDINGS_RETENTION" envDefault:"720h"`

	// Stripe, when GIVELIVE_PAYMENTS=stripe: the secret (or restricted)
	// API key, the webhook endpoint's signing secret, the publishable key
	// the page uses with Stripe.js, where the server reaches Stripe's API
	// and where the page loads Stripe.js (both replaceable by local
	// stand-ins in tests).
	StripeSecretKey      string `env:"GIVELIVE_STRIPE_SECRET_KEY"`
	StripeWebhookSecret  string `env:"GIVELIVE_STRIPE_WEBHOOK_SECRET"`
	StripePublishableKey string `env:"GIVELIVE_STRIPE_PUBLISHABLE_KEY"`
	StripeAPIURL         string `env:"GIVELIVE_STRIPE_API_URL" envDefault:"https://api.stripe.com"`
	StripeJSURL          string `env:"GIVELIVE_STRIPE_JS_URL" envDefault:"https://js.stripe.com/v3/"`
}

// Load reads the configuration from the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return Config{}, fmt.Errorf("failed to read configuration: %w", err)
	}
	switch c.Payments {
	case "sandbox":
	case "stripe":
		if c.StripeSecretKey == "" || c.StripeWebhookSecret == "" || c.StripePublishableKey == "" {
			return Config{}, fmt.Errorf("GIVELIVE_PAYMENTS=stripe needs GIVELIVE_STRIPE_SECRET_KEY, GIVELIVE_STRIPE_WEBHOOK_SECRET and GIVELIVE_STRIPE_PUBLISHABLE_KEY")
		}
		if !strings.HasPrefix(c.StripePublishableKey, "pk_test_") && !strings.HasPrefix(c.StripePublishableKey, "pk_live_") {
			return Config{}, fmt.Errorf("GIVELIVE_STRIPE_PUBLISHABLE_KEY: want Stripe's publishable key (pk_test_… or pk_live_…), never a secret one")
		}
		for name, v := range map[string]string{"GIVELIVE_STRIPE_API_URL": c.StripeAPIURL, "GIVELIVE_STRIPE_JS_URL": c.StripeJSURL} {
			if err := checkStripeURL(v); err != nil {
				return Config{}, fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	default:
		return Config{}, fmt.Errorf("GIVELIVE_PAYMENTS=%q: want sandbox or stripe", c.Payments)
	}
	if c.DonationMin < 1 || c.DonationMax < c.DonationMin {
		return Config{}, fmt.Errorf("GIVELIVE_DONATION_MIN=%d and GIVELIVE_DONATION_MAX=%d: want 1 <= min <= max", c.DonationMin, c.DonationMax)
	}
	if c.HLSSegment < 500*time.Millisecond || c.HLSSegment > 30*time.Second {
		return Config{}, fmt.Errorf("GIVELIVE_HLS_SEGMENT=%s: want 500ms to 30s", c.HLSSegment)
	}
	if c.HLSPart < 50*time.Millisecond || c.HLSPart > c.HLSSegment {
		return Config{}, fmt.Errorf("GIVELIVE_HLS_PART=%s: want 50ms to GIVELIVE_HLS_SEGMENT (%s)", c.HLSPart, c.HLSSegment)
	}
	if c.HLSWindow < 7 || c.HLSWindow > 60 {
		return Config{}, fmt.Errorf("GIVELIVE_HLS_WINDOW=%d: want 7 to 60 segments (Low-Latency HLS needs 7)", c.HLSWindow)
	}
	if c.RecordingsRetention < 0 {
		return Config{}, fmt.Errorf("GIVELIVE_RECORDINGS_RETENTION=%s: want a duration of 0 (keep forever) or more, such as 720h", c.RecordingsRetention)
	}
	if c.RecordingsRetention > 0 && c.RecordingsRetention < time.Minute {
		return Config{}, fmt.Errorf("GIVELIVE_RECORDINGS_RETENTION=%s: want at least 1m (or 0 to keep forever)", c.RecordingsRetention)
	}
	if c.RTMPMaxStreams < 1 {
		return Config{}, fmt.Errorf("GIVELIVE_RTMP_MAX_STREAMS=%d: want at least 1", c.RTMPMaxStreams)
	}
	if c.WebRTCAddr == "off" {
		c.WebRTCAddr = ""
	}
	if c.WebRTCAddr != "" {
		if _, _, err := net.SplitHostPort(c.WebRTCAddr); err != nil {
			return Config{}, fmt.Errorf("GIVELIVE_WEBRTC_ADDR=%q: want host:port such as :8189 (or off)", c.WebRTCAddr)
		}
	}
	for _, ip := range c.WebRTCPublicIPs {
		if net.ParseIP(strings.TrimSpace(ip)) == nil {
			return Config{}, fmt.Errorf("GIVELIVE_WEBRTC_PUBLIC_IP=%q: want the public IP address(es) publishers reach this server at, comma-separated", ip)
		}
	}
	if c.HLSSource != "" {
		u, err := url.Parse(c.HLSSource)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("GIVELIVE_HLS_SOURCE=%q: want mediamtx's HLS server as an http(s) URL, such as http://127.0.0.1:8888", c.HLSSource)
		}
	}
	if c.AdvertiseURL != "" {
		u, err := url.Parse(c.AdvertiseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
			return Config{}, fmt.Errorf("GIVELIVE_ADVERTISE_URL=%q: want this node's base URL as other nodes reach it, such as http://10.0.0.5:8080", c.AdvertiseURL)
		}
		c.AdvertiseURL = u.Scheme + "://" + u.Host
	}
	if c.IngestURL != "" {
		u, err := url.Parse(c.IngestURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return Config{}, fmt.Errorf("GIVELIVE_INGEST_URL=%q: want an absolute URL such as rtmp://media.example.org/live", c.IngestURL)
		}
	}
	if c.MediaMTXSecret != "" && len(c.MediaMTXSecret) < 16 {
		return Config{}, errors.New("GIVELIVE_MEDIAMTX_SECRET: use at least 16 random characters")
	}
	if c.WordFilterFile != "" {
		b, err := os.ReadFile(c.WordFilterFile)
		if err != nil {
			return Config{}, fmt.Errorf("GIVELIVE_WORD_FILTER_FILE: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
				c.WordFilter = append(c.WordFilter, w)
			}
		}
	}
	return c, nil
}

// checkStripeURL accepts an https URL, or http on a loopback address (a
// local stand-in of Stripe for tests): card details must never cross a
// network in the clear.
func checkStripeURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("want an absolute https URL")
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return errors.New("want https (plain http only on a loopback address, for a local stand-in)")
		}
	}
	return nil
}

// RecordingsPath is where broadcasts are recorded: GIVELIVE_RECORDINGS_DIR,
// else {GIVELIVE_DATA_DIR}/recordings; "" when it is "off".
func (c Config) RecordingsPath() string {
	switch c.RecordingsDir {
	case "off":
		return ""
	case "":
		return filepath.Join(c.DataDir, "recordings")
	}
	return c.RecordingsDir
}
