package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
)

// migrationLog is a Logger that counts applied migrations.
type migrationLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *migrationLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *migrationLog) applied() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), "applied ledger migration")
}

func (l *migrationLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// schemaVersion returns the newest applied migration in s's database.
func schemaVersion(t *testing.T, s *Store) int64 {
	t.Helper()
	var v int64
	if err := s.pool.QueryRow(t.Context(), `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		t.Fatalf("read schema version: %v", err)
	}
	return v
}

// TestMigrateFresh applies every migration to an empty database, then
// checks that opening it again applies nothing and that the migrations
// also go down and up again cleanly.
func TestMigrateFresh(t *testing.T) {
	url := pg.Server(t).NewDatabase(t)
	var log migrationLog
	s, err := Open(t.Context(), Config{URL: url, Logger: log.logger()})
	if err != nil {
		t.Fatalf("Open on a fresh database: %v", err)
	}
	files, _ := migrationFiles.ReadDir("migrations")
	if got := log.applied(); got != len(files) {
		t.Errorf("first Open applied %d migrations, want %d", got, len(files))
	}
	if v := schemaVersion(t, s); v != int64(len(files)) {
		t.Errorf("schema version %d, want %d", v, len(files))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	var again migrationLog
	s, err = Open(t.Context(), Config{URL: url, Logger: again.logger()})
	if err != nil {
		t.Fatalf("Open on an up-to-date database: %v", err)
	}
	defer s.Close()
	if got := again.applied(); got != 0 {
		t.Errorf("second Open applied %d migrations, want none", got)
	}

	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := migrator(db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 0); err != nil {
		t.Fatalf("migrations down: %v", err)
	}
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatalf("migrations up again: %v", err)
	}
}

// TestMigrateConcurrentOpens opens one fresh database from several
// "nodes" at once: all succeed and the migrations are applied once.
func TestMigrateConcurrentOpens(t *testing.T) {
	url := pg.Server(t).NewDatabase(t)
	const nodes = 4
	var (
		wg    sync.WaitGroup
		log   migrationLog
		start = make(chan struct{})
		errs  [nodes]error
	)
	for i := range nodes {
		wg.Go(func() {
			<-start
			var s *Store
			s, errs[i] = Open(context.Background(), Config{URL: url, Logger: log.logger()})
			if errs[i] == nil {
				errs[i] = s.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: Open: %v", i, err)
		}
	}
	files, _ := migrationFiles.ReadDir("migrations")
	if got := log.applied(); got != len(files) {
		t.Errorf("%d nodes applied %d migrations in all, want %d", nodes, got, len(files))
	}
}
