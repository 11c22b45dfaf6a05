package testpg

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// query runs SELECT on url and returns the single integer it yields.
func query(t *testing.T, url, q string) (int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, q).Scan(&n)
	return n, err
}

func TestStartKillRestart(t *testing.T) {
	begin := time.Now()
	s := Start(t)
	t.Logf("started in %v", time.Since(begin))

	db := s.NewDatabase(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connect to %s: %v", db, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (n int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	// synchronous_commit is off: make the commit durable before the crash.
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	other := s.NewDatabase(t)
	if n, err := query(t, other, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"); err != nil || n != 0 {
		t.Errorf("a new database has %d tables (%v), want 0", n, err)
	}

	s.Kill()
	if _, err := query(t, db, "SELECT 1"); err == nil {
		t.Fatal("query after Kill succeeded")
	}
	begin = time.Now()
	s.Restart()
	t.Logf("restarted in %v", time.Since(begin))
	if n, err := query(t, db, "SELECT n FROM kept"); err != nil || n != 42 {
		t.Fatalf("after Restart: SELECT n = %d, %v; want 42", n, err)
	}
}

// TestShared checks that a Shared server makes databases quickly and
// leaves nothing behind once closed.
func TestShared(t *testing.T) {
	var sh Shared
	s := sh.Server(t)
	if again := sh.Server(t); again != s {
		t.Fatal("Shared.Server started a second server")
	}
	begin := time.Now()
	const n = 50
	for range n {
		s.NewDatabase(t)
	}
	t.Logf("NewDatabase: %v each", time.Since(begin)/n)
	sh.Close()
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s left behind after Close: %v", s.dir, err)
	}
}
