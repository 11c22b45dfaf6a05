package postgres

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/givelive/givelive/internal/store"
)

// TestCommitBatchIsAtomic checks that a deferred statement that fails
// takes the whole transaction with it, although COMMIT went out in the
// same batch: the statements before it, the events and the commit.
func TestCommitBatchIsAtomic(t *testing.T) {
	s := openFresh(t)
	err := s.inTx(t.Context(), func(tx *wtx) error {
		if _, err := tx.exec(`INSERT INTO sessions (id, name, created_at) VALUES ('u_now', 'a', $1)`, now()); err != nil {
			return err
		}
		tx.later(`INSERT INTO sessions (id, name, created_at) VALUES ('u_later', 'b', $1)`, now())
		tx.later(`INSERT INTO sessions (id, name, created_at) VALUES ('u_now', 'dup', $1)`, now())
		return tx.enqueue("f_1", "shoutout", map[string]int{"n": 1})
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("inTx with a failing deferred statement: err = %v, want a unique violation", err)
	}
	for _, id := range []string{"u_now", "u_later"} {
		if _, err := s.GetSession(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSession(%s) after the failed transaction: err = %v, want ErrNotFound", id, err)
		}
	}
	if evs, err := s.PendingEvents(t.Context(), 0); err != nil || len(evs) != 0 {
		t.Errorf("PendingEvents after the failed transaction = %v, %v; want none", evs, err)
	}

	// The connection is usable again: the next transaction commits.
	if _, err := s.CreateSession(t.Context(), "after", ""); err != nil {
		t.Fatalf("CreateSession after the failed transaction: %v", err)
	}
}
