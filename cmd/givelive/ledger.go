package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/postgres"
	"github.com/givelive/givelive/internal/store/sqlite"
)

// openLedger opens the PostgreSQL ledger GIVELIVE_DATABASE_URL names,
// which every node shares, or else the SQLite file in GIVELIVE_DATA_DIR
// (one node). Either applies its migrations first.
func openLedger(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	if cfg.DatabaseURL == "" {
		return sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(cfg.DataDir, "givelive.db"), Logger: log})
	}
	if !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
		return nil, fmt.Errorf("GIVELIVE_DATABASE_URL must be a postgres:// URL (got scheme %q)", scheme(cfg.DatabaseURL))
	}
	s, err := postgres.Open(ctx, postgres.Config{URL: cfg.DatabaseURL, Logger: log.With("component", "ledger")})
	if err != nil {
		return nil, fmt.Errorf("GIVELIVE_DATABASE_URL: %w", err)
	}
	log.Info("ledger: postgresql", "url", redactURL(cfg.DatabaseURL))
	return s, nil
}

// scheme is what comes before "://", or "" without one.
func scheme(raw string) string {
	s, _, ok := strings.Cut(raw, "://")
	if !ok || len(s) > 16 {
		return ""
	}
	return s
}
