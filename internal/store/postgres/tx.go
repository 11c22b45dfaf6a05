package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maxAttempts is how many times inTx runs a transaction that fails with a
// deadlock or serialization error.
const maxAttempts = 5

// wtx is a write transaction on one pooled connection, built to spend few
// round trips while it holds row locks: BEGIN goes out with the first
// statement, and the statements deferred with later, the outbox events
// and COMMIT go out together in one batch at the end. Every round trip
// saved shortens the time a busy fundraiser's row stays locked.
type wtx struct {
	ctx      context.Context
	conn     *pgxpool.Conn
	begun    bool    // BEGIN has been sent
	deferred []stmt  // run at commit, before the events
	events   []event // inserted at commit, after the room locks
}

// stmt is a deferred statement.
type stmt struct {
	sql  string
	args []any
}

// event is an outbox row waiting for its transaction to commit.
type event struct {
	room, typ string
	data      []byte
	created   time.Time
}

// inTx runs fn in one transaction and commits it. fn must run its
// statements through tx. On a deadlock or serialization failure the whole
// transaction runs again, so fn must only assign its results, never
// accumulate them.
func (s *Store) inTx(ctx context.Context, fn func(tx *wtx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
	}
}

// tryTx runs fn in one transaction, once.
func (s *Store) tryTx(ctx context.Context, fn func(tx *wtx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The pool discards a connection returned mid-transaction or broken.
	defer conn.Release()
	t := &wtx{ctx: ctx, conn: conn}
	err = fn(t)
	if err == nil {
		err = t.commit()
	}
	if err != nil {
		t.rollback()
		return err
	}
	return nil
}

// exec runs a statement now.
func (t *wtx) exec(q string, args ...any) (pgconn.CommandTag, error) {
	if t.begun {
		return t.conn.Exec(t.ctx, q, args...)
	}
	var b pgx.Batch
	b.Queue(q, args...)
	br := t.sendBatch(&b)
	tag, err := br.Exec()
	return tag, closeBatch(br, err)
}

// queryRow runs a query now; its row is read with Scan.
func (t *wtx) queryRow(q string, args ...any) pgx.Row {
	if t.begun {
		return t.conn.QueryRow(t.ctx, q, args...)
	}
	var b pgx.Batch
	b.Queue(q, args...)
	br := t.sendBatch(&b)
	return batchRow{br}
}

// query runs a query now.
func (t *wtx) query(q string, args ...any) (pgx.Rows, error) {
	if !t.begun {
		if _, err := t.conn.Exec(t.ctx, "BEGIN"); err != nil {
			return nil, err
		}
		t.begun = true
	}
	return t.conn.Query(t.ctx, q, args...)
}

// sendBatch sends b, with BEGIN before it if the transaction has not
// begun. The caller reads b's results in order and closes them.
func (t *wtx) sendBatch(b *pgx.Batch) batchResults {
	if t.begun {
		return t.conn.SendBatch(t.ctx, b)
	}
	t.begun = true
	withBegin := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, b.Len()+1)}
	withBegin.Queue("BEGIN")
	withBegin.QueuedQueries = append(withBegin.QueuedQueries, b.QueuedQueries...)
	br := t.conn.SendBatch(t.ctx, withBegin)
	if _, err := br.Exec(); err != nil {
		return failedBatch{closeBatch(br, err)}
	}
	return br
}

// later defers a statement to the commit: statements whose results the
// transaction does not need wait there, to share its round trip. COMMIT
// goes out in the same batch, so nothing can be checked between the two:
// a deferred statement must express its conditions as errors (a failed
// statement makes the server skip the rest of the batch, COMMIT included,
// or turn COMMIT into ROLLBACK), not as a count of rows changed.
func (t *wtx) later(q string, args ...any) {
	t.deferred = append(t.deferred, stmt{sql: q, args: args})
}

// commit sends, in one batch, BEGIN if nothing was sent yet, the deferred
// statements, the advisory lock of every room the events go to (in room
// order) and the events' inserts (in the order they were enqueued), and
// COMMIT. The room locks are the last locks the transaction takes and are
// held only while it commits, so the transactions that write one room's
// events take their seqs and commit one at a time: within a room, seq
// order is commit order.
func (t *wtx) commit() error {
	if !t.begun && len(t.deferred) == 0 && len(t.events) == 0 {
		return nil // nothing was asked of the database
	}
	var b pgx.Batch
	for _, s := range t.deferred {
		b.Queue(s.sql, s.args...)
	}
	rooms := make([]string, 0, 1)
	for _, e := range t.events {
		rooms = append(rooms, e.room)
	}
	slices.Sort(rooms)
	for _, room := range slices.Compact(rooms) {
		b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, outboxLockClass, room)
	}
	for _, e := range t.events {
		b.Queue(`INSERT INTO outbox (room, type, data, created_at) VALUES ($1, $2, $3, $4)`,
			e.room, e.typ, e.data, e.created)
	}
	b.Queue("COMMIT")
	br := t.sendBatch(&b)
	for i := range b.Len() {
		tag, err := br.Exec()
		switch {
		case err != nil:
			br.Close()
			return err
		case i == b.Len()-1 && tag.String() != "COMMIT":
			br.Close()
			return fmt.Errorf("COMMIT answered %q", tag)
		}
	}
	return br.Close()
}

// rollback ends a failed transaction. Its own error is dropped: the
// caller reports the failure that caused it, and a rollback only fails on
// a broken connection, which the pool then discards (as it does one
// returned mid-transaction). ROLLBACK outside a transaction is harmless.
func (t *wtx) rollback() {
	if !t.begun || t.conn.Conn().IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	_, _ = t.conn.Exec(ctx, "ROLLBACK")
}

// closeBatch closes br and returns err, or else the error closing found.
func closeBatch(br batchResults, err error) error {
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRow is the row of a one-query batch: Scan reads it and closes the
// batch.
type batchRow struct{ br batchResults }

func (r batchRow) Scan(dest ...any) error {
	return closeBatch(r.br, r.br.QueryRow().Scan(dest...))
}

// batchResults is the part of pgx.BatchResults the store reads with.
type batchResults interface {
	Exec() (pgconn.CommandTag, error)
	QueryRow() pgx.Row
	Close() error
}

// failedBatch answers every read with the error that ended its batch.
type failedBatch struct{ err error }

func (f failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failedBatch) QueryRow() pgx.Row                { return errRow{f.err} }
func (f failedBatch) Close() error                     { return f.err }

// errRow is a row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
