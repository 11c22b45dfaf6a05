package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/givelive/givelive/internal/store"
)

// busyTimeout is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY. Within one process the single writer
// connection already serialises writes, so this only matters when two
// processes share the file (for instance an old and a new process during a
// restart).
const busyTimeout = 5 * time.Second

// Config configures Open.
type Config struct {
	// Path is the database file. Its parent directory is created (mode 0700,
	// since the ledger holds signing secrets) if it does not exist.
	// Required.
	Path string
	// Logger receives migration and secret-creation events. Nil discards them.
	Logger *slog.Logger
}

// Store is the SQLite ledger. It implements store.Store.
//
// All methods are safe for concurrent use. Close lets the batch of writes
// in flight commit, answers writes still queued with an error, and closes
// the database; calling it again returns nil.
type Store struct {
	write  *sql.DB // exactly one connection: SQLite has one writer
	read   *sql.DB // query_only connections for reads outside transactions
	log    *slog.Logger
	commit *committer // runs every write, on write

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at cfg.Path, applies any
// pending migrations and returns the ready Store. Opening an up-to-date
// database applies nothing, so Open is safe to call on every start.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("failed to open ledger: Config.Path is empty")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("failed to open ledger: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("failed to open ledger: %w", err)
	}
	s, err := open(ctx, path, log)
	if err != nil {
		return nil, fmt.Errorf("failed to open ledger %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	if err := connectWriter(ctx, write); err != nil {
		return nil, errors.Join(fmt.Errorf("writer: %w", err), write.Close())
	}
	if err := migrate(ctx, write, log); err != nil {
		return nil, errors.Join(err, write.Close())
	}

	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, errors.Join(err, write.Close())
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	if err := read.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("readers: %w", err), read.Close(), write.Close())
	}
	return &Store{write: write, read: read, log: log, commit: newCommitter(write, log)}, nil
}

// connectWriter opens the writer's connection, which applies the DSN
// pragmas, and checks that the file is in WAL mode: journal_mode=WAL
// silently keeps the old mode where WAL is impossible (some network file
// systems).
//
// Switching a new file to WAL takes an exclusive lock, and when another
// process is opening the same new file SQLite can report SQLITE_BUSY at once
// rather than wait out busy_timeout (it refuses to wait where waiting could
// deadlock). So a busy database is retried, with backoff, for up to
// busyTimeout.
func connectWriter(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("journal_mode is %q, not wal", mode)
			}
			return nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		wait := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		case <-wait.C:
		}
	}
}

// dsn returns the modernc.org/sqlite data source name for the file at the
// absolute path. The pragmas apply to every new connection. Writers begin
// transactions with BEGIN IMMEDIATE, taking the write lock up front so a
// transaction that reads before it writes cannot deadlock on the upgrade.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		// WAL is a property of the file, set by the writer; query_only
		// makes an accidental write through this pool an error. It is
		// applied after the _pragma list.
		q.Set("_query_only", "1")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
		// Every write runs in a savepoint (see the package documentation),
		// and a savepoint keeps the original of each page it changes in a
		// statement journal. SQLite spills that journal to a temporary
		// file past 64 KiB, after which every changed page costs a write
		// system call; in memory it costs a copy.
		q.Add("_pragma", "temp_store(MEMORY)")
	}
	// A file: URI keeps characters such as '?' and '#' in the path intact.
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Ping reports whether both connection pools reach the database file.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range []*sql.DB{s.write, s.read} {
		var v int
		if err := db.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v); err != nil {
			return fmt.Errorf("failed to ping ledger: %w", err)
		}
	}
	return nil
}

// Close stops the committer (see Store) and closes both connection pools.
// Calls after the first return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.commit.stop()
		err = errors.Join(s.read.Close(), s.write.Close())
	})
	if err != nil {
		return fmt.Errorf("failed to close ledger: %w", err)
	}
	return nil
}

// inTx runs fn as one atomic, durable change: in a savepoint of a
// transaction the committer shares between concurrent callers (see the
// package documentation). fn's statements must go through tx, which runs
// them with the committer's context, not ctx; ctx only decides whether fn
// runs at all. fn runs on the committer's goroutine: it must not call a
// Store method (a write would wait for itself, and a read through s.read
// would not see the batch's changes).
func (s *Store) inTx(ctx context.Context, fn func(tx *wtx) error) error {
	return s.commit.do(ctx, fn)
}

// ignoreDone drops the error Rollback returns when the transaction already
// ended, as it does after its context was cancelled.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// wrap adds "failed to op" to err unless err already carries a store
// sentinel, which is an answer for the caller rather than a failure.
func wrap(op string, err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrNotVerified) || errors.Is(err, store.ErrDuplicateEvent) {
		return err
	}
	return fmt.Errorf("failed to %s: %w", op, err)
}

// isUnique reports whether err is a UNIQUE constraint violation.
func isUnique(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// rowScanner is the Scan method shared by *sql.Row and *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// now returns the current time as stored: Unix milliseconds.
func now() int64 { return time.Now().UnixMilli() }

// fromMillis converts a stored time back to a UTC time.Time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// fromNullMillis converts a nullable stored time; NULL is the zero time.
func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}
