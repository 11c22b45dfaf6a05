package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
)

// maxBatch caps how many write functions share one transaction, bounding
// both the queue and how long one commit keeps its callers waiting.
const maxBatch = 256

// maxStmts caps the prepared-statement cache. Write statements are
// constants in this package, far fewer than this; the cap only guards
// against a future query built from data.
const maxStmts = 256

// errClosed answers writes asked of, or still queued in, a closed Store.
var errClosed = errors.New("ledger is closed")

// Request states. A request is queued until the committer claims it to run
// or its caller abandons it; exactly one of the two wins.
const (
	stateQueued int32 = iota
	stateClaimed
	stateAbandoned
)

// writeReq is one caller's write function waiting for the committer.
type writeReq struct {
	ctx   context.Context // the caller's: checked before fn runs, never passed to SQLite
	fn    func(tx *wtx) error
	state atomic.Int32
	done  chan error // buffered: the committer never waits for the caller
}

// wtx is the write transaction a write function runs in. Its statements
// run with the committer's context, never a caller's: SQLite answers an
// interrupted write by rolling back the whole transaction, which here holds
// other callers' work too. They use the committer's prepared statements
// where it has them (see committer.stmts).
type wtx struct {
	tx  *sql.Tx
	ctx context.Context
	c   *committer
}

// stmt returns query's prepared statement bound to the transaction, or nil
// if it is not prepared yet; then the committer prepares it after this
// batch.
func (t *wtx) stmt(query string) *sql.Stmt {
	if ps, ok := t.c.stmts[query]; ok {
		return t.tx.StmtContext(t.ctx, ps)
	}
	if len(t.c.stmts)+len(t.c.unprepared) < maxStmts {
		t.c.unprepared[query] = true
	}
	return nil
}

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *wtx) queryRow(query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

// panicked carries a write function's panic back to its caller's goroutine.
type panicked struct{ value any }

func (p *panicked) Error() string { return fmt.Sprintf("write function panicked: %v", p.value) }

// committer runs every write of one Store in batches: see the package
// documentation. do is safe for concurrent use; stop is called once, by
// Store.Close.
type committer struct {
	db      *sql.DB // the single writer connection
	log     *slog.Logger
	reqs    chan *writeReq
	quit    chan struct{} // closed by stop
	stopped chan struct{} // closed when run returns

	// stmts holds the write statements prepared so far, by query text:
	// SQLite spends more time parsing a statement than running most of
	// these. A statement is prepared on the connection between batches
	// (preparing needs the connection, which a batch holds), after its
	// first use; database/sql prepares it again should the connection be
	// replaced. Only the committer goroutine touches these maps.
	stmts      map[string]*sql.Stmt
	unprepared map[string]bool // used in the last batch, to prepare after it

	batches atomic.Int64 // transactions begun, for tests (and metrics to come)
}

func newCommitter(db *sql.DB, log *slog.Logger) *committer {
	c := &committer{
		db:      db,
		log:     log,
		reqs:    make(chan *writeReq, maxBatch),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),

		stmts:      make(map[string]*sql.Stmt),
		unprepared: make(map[string]bool),
	}
	go c.run()
	return c
}

// stop lets the batch in flight commit, then stops the committer and waits
// for it. Requests still queued are answered errClosed by their callers.
// Call it once.
func (c *committer) stop() {
	close(c.quit)
	<-c.stopped
}

// do runs fn in a write transaction shared with other callers' functions,
// inside a savepoint of its own: an error from fn undoes fn's statements
// only. do returns once the transaction has committed (nil, or fn's error)
// or failed to commit (that error).
//
// If ctx ends before fn starts, fn never runs and do returns ctx.Err(). Once
// fn has started, do waits for the commit whatever ctx does, so a caller
// never mistakes a committed write for a failed one. Values fn stores for
// its caller may be read once do returns nil.
func (c *committer) do(ctx context.Context, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return errClosed
	}
	var err error
	select {
	case err = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return ctx.Err()
		}
		err = <-r.done
	case <-c.stopped:
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return errClosed
		}
		err = <-r.done
	}
	if p, ok := err.(*panicked); ok {
		panic(p.value)
	}
	return err
}

// run is the committer goroutine: it takes the first waiting request, every
// other one already queued (up to maxBatch), and commits them together.
func (c *committer) run() {
	defer close(c.stopped)
	defer func() {
		for _, ps := range c.stmts {
			ps.Close()
		}
	}()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-c.quit: // before more work, however much is queued
			return
		default:
		}
		select {
		case <-c.quit:
			return
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.commit(batch)
		clear(batch) // drop references to finished requests
		c.prepare()
	}
}

// prepare prepares the statements the last batch ran unprepared. A query
// SQLite refuses to prepare is left to fail where it runs.
func (c *committer) prepare() {
	for q := range c.unprepared {
		delete(c.unprepared, q)
		ps, err := c.db.PrepareContext(context.Background(), q)
		if err != nil {
			c.log.Debug("ledger statement not prepared", "query", q, "error", err)
			continue
		}
		c.stmts[q] = ps
	}
}

// commit runs one batch in one transaction and answers its requests.
func (c *committer) commit(batch []*writeReq) {
	// The transaction's context is not any caller's (see wtx); nothing
	// cancels a batch once begun.
	ctx := context.Background()
	c.batches.Add(1)
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			if r.state.CompareAndSwap(stateQueued, stateClaimed) {
				r.done <- fmt.Errorf("begin: %w", err)
			}
		}
		return
	}
	t := &wtx{tx: tx, ctx: ctx, c: c}
	ran := batch[:0:0] // the requests that ran, to answer after COMMIT
	var results []error
	for _, r := range batch {
		if !r.state.CompareAndSwap(stateQueued, stateClaimed) {
			continue // abandoned: the caller has gone
		}
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		ferr, broken := c.runOne(t, r.fn)
		if broken != nil {
			// The transaction is no longer ours to commit: fail everything
			// in it, this request included.
			err := errors.Join(broken, ignoreDone(tx.Rollback()))
			for _, r := range ran {
				r.done <- err
			}
			r.done <- err
			c.failRest(batch, r, err)
			return
		}
		ran = append(ran, r)
		results = append(results, ferr)
	}
	if len(ran) == 0 {
		err = tx.Rollback()
	} else {
		err = tx.Commit()
	}
	if err != nil {
		err = fmt.Errorf("commit: %w", err)
		if len(ran) > 0 {
			c.log.Error("ledger commit failed", "writes", len(ran), "error", err)
		}
	}
	for i, r := range ran {
		if err != nil {
			r.done <- err
		} else {
			r.done <- results[i]
		}
	}
}

// failRest answers, with err, the requests of batch after last that were
// not yet claimed.
func (c *committer) failRest(batch []*writeReq, last *writeReq, err error) {
	after := false
	for _, r := range batch {
		if after && r.state.CompareAndSwap(stateQueued, stateClaimed) {
			r.done <- err
		}
		after = after || r == last
	}
}

// runOne runs fn inside a savepoint. ferr is fn's own error (its work is
// undone); broken is non-nil when the savepoint itself failed, which means
// SQLite rolled back the whole transaction (as it does on some I/O and
// out-of-memory errors): then nothing in the batch may commit.
func (c *committer) runOne(t *wtx, fn func(tx *wtx) error) (ferr, broken error) {
	if _, err := t.exec(`SAVEPOINT w`); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	ferr = c.call(t, fn)
	if ferr != nil {
		if _, err := t.exec(`ROLLBACK TO w`); err != nil {
			return ferr, fmt.Errorf("roll back to savepoint after %w: %w", ferr, err)
		}
	}
	// RELEASE of a savepoint that is gone fails, so an error that rolled
	// back the transaction but that fn swallowed is caught here too.
	if _, err := t.exec(`RELEASE w`); err != nil {
		return ferr, fmt.Errorf("release savepoint: %w", err)
	}
	return ferr, nil
}

// call runs fn, turning a panic into a *panicked that do re-raises in the
// caller's goroutine, so a bug in one write function does not kill the
// committer, and the others in its batch still commit.
func (c *committer) call(t *wtx, fn func(tx *wtx) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("ledger write function panicked", "panic", v, "stack", string(debug.Stack()))
			err = &panicked{value: v}
		}
	}()
	return fn(t)
}
