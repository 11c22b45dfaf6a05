package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

// migrationFiles holds the schema, one goose SQL file per version. Never edit
// a released file: add the next one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies pending migrations through db, the single writer
// connection, using a goose Provider so no goose global state is touched.
// Each migration runs in its own transaction together with its version row.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	p, err := migrator(db, log)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			log.InfoContext(ctx, "applied ledger migration",
				"version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
	}
	if err == nil {
		return nil
	}
	// SQLite has no advisory lock for goose to take, so another process
	// opening the same new file at the same moment can apply a migration
	// between our check and our attempt, which then fails (the table
	// already exists). If nothing is pending any more, that process did the
	// work and the schema is current.
	pending, perr := p.HasPending(ctx)
	if perr == nil && !pending {
		log.InfoContext(ctx, "ledger migrations applied concurrently by another opener", "error", err)
		return nil
	}
	return errors.Join(fmt.Errorf("migrations: %w", err), perr)
}

// migrator returns a goose Provider for the embedded migrations on db.
func migrator(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log),
	)
}
