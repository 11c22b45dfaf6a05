// Package config reads GiveLive's configuration from the environment.
//
// Every variable is optional; Load fills documented defaults. The names of
// the GIVELIVE_* variables in PROTOCOL.md section 7 are part of the public
// contract; the others are additions.
package config

import (
	"fmt"
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
}

// Load reads the configuration from the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return Config{}, fmt.Errorf("failed to read configuration: %w", err)
	}
	switch c.Payments {
	case "sandbox", "stripe":
	default:
		return Config{}, fmt.Errorf("GIVELIVE_PAYMENTS=%q: want sandbox or stripe", c.Payments)
	}
	return c, nil
}
