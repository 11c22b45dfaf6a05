package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles holds the schema, one goose SQL file per version. Never
// edit a released file: add the next one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the session advisory lock that serialises the
// migrations of every node opening the database ("givelive" in ASCII).
const migrationLockID int64 = 0x6769_7665_6c69_7665

// migrate applies pending migrations through a database/sql view of pool,
// with a goose Provider (no goose global state). goose holds the
// migration lock on one connection while it checks and applies, so a node
// that opens the database while another migrates waits, then finds nothing
// pending. Each migration runs in its own transaction with its version row.
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // leaves the pool open
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
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// migrator returns a goose Provider for the embedded migrations on db.
func migrator(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(sessionLocker{}),
		goose.WithSlog(log),
	)
}

// sessionLocker is a goose lock.SessionLocker that waits in
// pg_advisory_lock until the lock is free. goose's own Postgres locker
// polls pg_try_advisory_lock every 5 seconds, which makes every node but
// the first wait 5 seconds when several start at once.
type sessionLocker struct{}

var _ lock.SessionLocker = sessionLocker{}

// SessionLock waits for the migration lock; ctx bounds the wait.
func (sessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		return fmt.Errorf("take migration lock %d: %w", migrationLockID, err)
	}
	return nil
}

// SessionUnlock releases the migration lock. Ending the session would
// release it too, so a failure here cannot leave it held for good.
func (sessionLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", migrationLockID).Scan(&released)
	if err == nil && !released {
		err = errors.New("lock was not held")
	}
	if err != nil {
		return fmt.Errorf("release migration lock %d: %w", migrationLockID, err)
	}
	return nil
}
