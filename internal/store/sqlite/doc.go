// Package sqlite is the SQLite backend of the ledger (package store), built on
// the pure-Go modernc.org/sqlite driver.
//
// Entry points: Open, which takes a Config, creates the database file if
// needed, applies the embedded migrations and returns a *Store that
// implements store.Store; and Store.Close.
//
// Concurrency: every method of *Store is safe to call from many goroutines.
// Reads use a pool of read-only connections that WAL lets run beside the
// writer. SQLite allows one writer at a time, so every write goes to one
// committer goroutine, which owns the single writer connection.
//
// Group commit: with synchronous=FULL each commit waits for an fsync, so
// committing each write alone caps the ledger at a few thousand writes a
// second however many callers wait. Instead the committer takes the first
// waiting write and every other one already queued (up to 256), runs them
// in one transaction, each in its own SAVEPOINT, and commits once: one
// fsync for the whole batch. A write whose function fails is rolled back to
// its savepoint, so it leaves no trace and the others still commit. Callers
// are answered only after COMMIT returns, so a write that returns nil is
// durable, and a failed COMMIT fails every write in the batch. Batches form
// by themselves: the writes that arrive while one batch commits make the
// next, so a lone write waits for nothing but its own commit.
//
// Cancellation: a caller whose context ends while its write is still queued
// gets ctx.Err() and its write never runs. Once the write has started it
// runs and commits whatever the caller's context does, and the caller
// waits for the outcome: statements inside a batch never see a caller's
// context, since SQLite answers an interrupted write by rolling back the
// whole transaction, other callers' writes included.
//
// Close lets the batch in flight commit, then stops the committer; writes
// still queued, and later ones, fail with an error.
//
// Events: the methods that announce a change write its events to the
// outbox table in the same savepoint as the change, so an event exists if
// and only if its change committed; a dispatcher publishes them
// (PendingEvents) and deletes them (MarkPublished).
package sqlite
