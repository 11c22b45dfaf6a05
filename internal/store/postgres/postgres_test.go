package postgres

import (
	"context"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/storetest"
	"github.com/givelive/givelive/internal/testpg"
)

// pg is the PostgreSQL server every test of the package shares; tests that
// kill the server start their own.
var pg testpg.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// openURL opens the ledger at url and closes it when t ends.
func openURL(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{URL: url})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openFresh opens a ledger in a new, empty database of the shared server.
func openFresh(t testing.TB) *Store {
	t.Helper()
	return openURL(t, pg.Server(t).NewDatabase(t))
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}
