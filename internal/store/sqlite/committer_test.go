package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// block occupies the committer with a write that waits until release is
// called, so that the writes queued meanwhile form the next batch together.
func block(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, gate, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.inTx(context.Background(), func(*wtx) error {
			close(started)
			<-gate
			return nil
		})
	}()
	<-started
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(gate)
			if err := <-done; err != nil {
				t.Errorf("blocking write: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// queued waits until n writes wait in the committer's queue.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.commit.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10 s, want %d", len(s.commit.reqs), n)
		}
		runtime.Gosched()
	}
}

// insertSession is a write function that adds the session named name.
func insertSession(name string) func(tx *wtx) error {
	return func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO sessions (id, name, created_at) VALUES (?, ?, 0)`, "u_"+name, name)
		return err
	}
}

// sessionNames lists the sessions stored, by name.
func sessionNames(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(), `SELECT name FROM sessions ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// inBackground runs fn in a goroutine and returns a channel of its error.
func inBackground(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

// TestBatchSavepoints runs writes that fail, after writing, in the same
// batch as writes that succeed: only the failures are undone.
func TestBatchSavepoints(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	release := block(t, s)
	errBoom := errors.New("boom")
	var results []<-chan error
	for i, fail := range []bool{false, true, false, true, false} {
		name := fmt.Sprintf("s%d", i)
		results = append(results, inBackground(func() error {
			return s.inTx(ctx, func(tx *wtx) error {
				if err := insertSession(name)(tx); err != nil || !fail {
					return err
				}
				return errBoom
			})
		}))
		queued(t, s, i+1)
	}
	before := s.commit.batches.Load()
	release()
	for i, ch := range results {
		err := <-ch
		if fail := i%2 == 1; fail != errors.Is(err, errBoom) || (!fail && err != nil) {
			t.Errorf("write %d: err = %v", i, err)
		}
	}
	if n := s.commit.batches.Load() - before; n != 1 {
		t.Errorf("the five writes took %d transactions, want 1", n)
	}
	if d := cmp.Diff([]string{"s0", "s2", "s4"}, sessionNames(t, s)); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
}

// TestGroupCommit checks that writes queued together share a transaction,
// at most maxBatch to one.
func TestGroupCommit(t *testing.T) {
	s := openTemp(t)
	for _, n := range []int{100, maxBatch + 44} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			release := block(t, s)
			var results []<-chan error
			for i := range n {
				results = append(results, inBackground(func() error {
					return s.inTx(t.Context(), insertSession(fmt.Sprintf("%d-%04d", n, i)))
				}))
			}
			queued(t, s, min(n, maxBatch))
			before := s.commit.batches.Load()
			release()
			for _, ch := range results {
				if err := <-ch; err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			// All queued before the release: exactly the batches the cap
			// makes. Beyond the queue's capacity, writers still on their way
			// to it may come a batch or two later.
			batches := s.commit.batches.Load() - before
			lo := int64((n + maxBatch - 1) / maxBatch)
			hi := lo
			if n > maxBatch {
				hi += 2
			}
			if batches < lo || batches > hi {
				t.Errorf("%d writes took %d transactions, want %d to %d", n, batches, lo, hi)
			}
		})
	}
	if got := len(sessionNames(t, s)); got != 100+maxBatch+44 {
		t.Errorf("%d sessions stored, want %d", got, 100+maxBatch+44)
	}
}

// TestCancelWhileQueued checks that a write whose context ends while it
// waits returns at once and never runs.
func TestCancelWhileQueued(t *testing.T) {
	s := openTemp(t)
	release := block(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	ran := false
	result := inBackground(func() error {
		return s.inTx(ctx, func(tx *wtx) error {
			ran = true
			return insertSession("cancelled")(tx)
		})
	})
	queued(t, s, 1)
	cancel()
	// The committer is still busy: the caller must not wait for it.
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: err = %v, want context.Canceled", err)
	}
	release()
	if err := s.inTx(t.Context(), insertSession("after")); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the cancelled write's function ran")
	}
	if d := cmp.Diff([]string{"after"}, sessionNames(t, s)); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
}

// TestCancelWhileRunning checks that a write whose context ends while its
// function runs still commits and reports success.
func TestCancelWhileRunning(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := s.inTx(ctx, func(tx *wtx) error {
		cancel()
		// Statements run on the committer's context, unaffected.
		if err := insertSession("a")(tx); err != nil {
			return err
		}
		return insertSession("b")(tx)
	})
	if err != nil {
		t.Fatalf("write cancelled while running: %v", err)
	}
	if d := cmp.Diff([]string{"a", "b"}, sessionNames(t, s)); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
}

// TestWritePanics checks that a panic in a write function reaches its
// caller, undoes only that write, and leaves the committer running.
func TestWritePanics(t *testing.T) {
	s := openTemp(t)
	release := block(t, s)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		s.inTx(t.Context(), func(tx *wtx) error {
			if err := insertSession("panicked")(tx); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	queued(t, s, 1)
	neighbour := inBackground(func() error { return s.inTx(t.Context(), insertSession("neighbour")) })
	queued(t, s, 2)
	release()
	if v := <-panicked; v != "boom" {
		t.Errorf("caller recovered %v, want the function's panic", v)
	}
	if err := <-neighbour; err != nil {
		t.Errorf("write in the same batch as a panic: %v", err)
	}
	if err := s.inTx(t.Context(), insertSession("later")); err != nil {
		t.Errorf("write after a panic: %v", err)
	}
	if d := cmp.Diff([]string{"later", "neighbour"}, sessionNames(t, s)); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
}

// TestBrokenBatch checks that a batch whose transaction ends under it (here
// a write function that rolls it back itself) commits nothing and fails
// every write in it, and that the committer recovers.
func TestBrokenBatch(t *testing.T) {
	s := openTemp(t)
	release := block(t, s)
	fns := []func(tx *wtx) error{
		insertSession("before"),
		func(tx *wtx) error { _, err := tx.exec(`ROLLBACK`); return err },
		insertSession("after"),
	}
	var results []<-chan error
	for i, fn := range fns {
		results = append(results, inBackground(func() error { return s.inTx(t.Context(), fn) }))
		queued(t, s, i+1)
	}
	release()
	for i, ch := range results {
		if err := <-ch; err == nil {
			t.Errorf("write %d of a broken batch succeeded", i)
		}
	}
	if err := s.inTx(t.Context(), insertSession("later")); err != nil {
		t.Errorf("write after a broken batch: %v", err)
	}
	if d := cmp.Diff([]string{"later"}, sessionNames(t, s)); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
}

// TestCloseAnswersQueued checks that Close lets the batch in flight
// commit, fails the writes still queued and those asked later, and stops
// the committer (goleak checks the goroutine is gone).
func TestCloseAnswersQueued(t *testing.T) {
	s := openTemp(t)
	release := block(t, s)
	var results []<-chan error
	for i := range 3 {
		results = append(results, inBackground(func() error {
			return s.inTx(t.Context(), insertSession(fmt.Sprint(i)))
		}))
	}
	queued(t, s, 3)
	closed := inBackground(s.Close)
	<-s.commit.quit // Close has begun
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, ch := range results {
		if err := <-ch; !errors.Is(err, errClosed) {
			t.Errorf("queued write %d: err = %v, want %v", i, err, errClosed)
		}
	}
	if _, err := s.CreateSession(t.Context(), "late", ""); !errors.Is(err, errClosed) {
		t.Errorf("CreateSession after Close: err = %v, want %v", err, errClosed)
	}
}

// TestStatementsPrepared checks that write statements are prepared once
// and reused: the cache holds each query once, however many writes ran.
func TestStatementsPrepared(t *testing.T) {
	s := openTemp(t)
	for i := range 20 {
		if err := s.inTx(t.Context(), insertSession(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Read the cache from the committer's goroutine, its only user.
	var queries []string
	if err := s.inTx(t.Context(), func(tx *wtx) error {
		for q := range tx.c.stmts {
			queries = append(queries, q)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(queries)
	want := []string{`INSERT INTO sessions (id, name, created_at) VALUES (?, ?, 0)`, `RELEASE w`, `SAVEPOINT w`}
	if d := cmp.Diff(want, queries); d != "" {
		t.Errorf("prepared statements (-want +got):\n%s", d)
	}
}
