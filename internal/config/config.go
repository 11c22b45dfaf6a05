// Package config reads GiveLive's configuration from the environment.
//
// Every variable is optional; Load fills documented defaults. The names of
// the GIVELIVE_* variables in PROTOCOL.md section 7 are part of the public
// contract; the others are additions.
package config

import (
	"fmt"
	"os"
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
	Payments    string `env:"GIVELIVE_PAYMENTS" envDefault:"sandbox"`
	PublicURL   string `env:"GIVELIVE_PUBLIC_URL"`

	// Additions beyond the contract.
	LogLevel       string        `env:"GIVELIVE_LOG_LEVEL" envDefault:"info"`   // debug, info, warn, error
	LogFormat      string        `env:"GIVELIVE_LOG_FORMAT" envDefault:"text"`  // text or json
	CORSOrigins    []string      `env:"GIVELIVE_CORS_ORIGINS" envSeparator:","` // empty: same origin only
	WSOrigins      []string      `env:"GIVELIVE_WS_ORIGINS" envSeparator:","`   // host patterns; empty: same host only
	TrustProxy     bool          `env:"GIVELIVE_TRUST_PROXY" envDefault:"false"`
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

	// Stripe, when GIVELIVE_PAYMENTS=stripe: the secret (or restricted)
	// API key and the webhook endpoint's signing secret.
	StripeSecretKey     string `env:"GIVELIVE_STRIPE_SECRET_KEY"`
	StripeWebhookSecret string `env:"GIVELIVE_STRIPE_WEBHOOK_SECRET"`
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
		if c.StripeSecretKey == "" || c.StripeWebhookSecret == "" {
			return Config{}, fmt.Errorf("GIVELIVE_PAYMENTS=stripe needs GIVELIVE_STRIPE_SECRET_KEY and GIVELIVE_STRIPE_WEBHOOK_SECRET")
		}
	default:
		return Config{}, fmt.Errorf("GIVELIVE_PAYMENTS=%q: want sandbox or stripe", c.Payments)
	}
	if c.DonationMin < 1 || c.DonationMax < c.DonationMin {
		return Config{}, fmt.Errorf("GIVELIVE_DONATION_MIN=%d and GIVELIVE_DONATION_MAX=%d: want 1 <= min <= max", c.DonationMin, c.DonationMax)
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
