package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/givelive/givelive/internal/testpg"
)

// TestServerCrash kills PostgreSQL under an open Store: calls fail with an
// error (not a hang), and once the server is back the same Store works
// again, its pool replacing the dead connections.
func TestServerCrash(t *testing.T) {
	srv := testpg.Start(t)
	s := openURL(t, srv.NewDatabase(t))
	if _, err := s.CreateSession(t.Context(), "before", ""); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}

	srv.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with the server down returned nil")
	}
	if _, err := s.CreateSession(ctx, "during", ""); err == nil {
		t.Error("CreateSession with the server down returned nil")
	}
	if ctx.Err() != nil {
		t.Fatal("calls with the server down waited for their deadline instead of failing")
	}

	srv.Restart()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	u, err := s.CreateSession(t.Context(), "after", "")
	if err != nil {
		t.Fatalf("CreateSession after the restart: %v", err)
	}
	if _, err := s.GetSession(t.Context(), u.ID); err != nil {
		t.Errorf("GetSession after the restart: %v", err)
	}
}
