// Package postgres is the PostgreSQL backend of the ledger (package store),
// built on pgx and its connection pool. Many GiveLive nodes may share one
// database.
//
// Entry points: Open, which takes a Config, applies the embedded migrations
// (under an advisory lock, so nodes starting together are safe) and returns
// a *Store that implements store.Store and store.EventClaimer; and
// Store.Close.
//
// Concurrency: every method of *Store is safe to call from many goroutines
// and many processes. Each state change is one transaction at READ
// COMMITTED that locks what it changes before reading it: the donation row
// first (FOR UPDATE, after recording the provider event if any), then the
// fundraiser row (FOR NO KEY UPDATE), then the rows that hang off the
// fundraiser. Every writer takes its locks in that
// order, so writers of one fundraiser queue behind each other instead of
// deadlocking, and totals are never lost to a race. Idempotency keys,
// provider events, bans and secrets rely on unique constraints with ON
// CONFLICT, which wait for a concurrent inserter's outcome. A transaction
// that still fails with a deadlock or serialization error is retried a few
// times.
//
// Round trips: a busy fundraiser's row stays locked for as long as the
// transaction that holds it talks to the server, so transactions send BEGIN
// with their first statement, defer the statements whose results they do
// not need (donor list, totals, milestones) and send those, the outbox
// events and COMMIT as one batch. A donation to a live fundraiser takes two
// round trips: one that locks the fundraiser, reads what the donation
// needs and inserts it, and one that writes the rest and commits. The
// totals a donation announces are worked out from what it read under the
// lock, which no other writer can change before it commits. Within one
// process, donations to one fundraiser also take turns before they take a
// connection (Store.queue), so that they do not pile up on its row lock.
//
// Records: times are stored as timestamptz, truncated to the millisecond,
// and returned in UTC. Text cannot hold NUL characters in PostgreSQL: a
// string with one is refused with an error (SQLite would keep it).
//
// Cancellation: a caller whose context ends makes its statement fail and
// its transaction roll back; a change that returned nil has committed.
// A context that ends during COMMIT leaves the outcome unknown to the
// caller, as with any network database.
//
// Events: the methods that announce a change write its events to the
// outbox table in the same transaction. Just before inserting them the
// transaction takes a transaction-scoped advisory lock on the room (after
// every row lock it takes), so within a room events commit in seq order.
// A single dispatcher may publish them with PendingEvents and
// MarkPublished; several may share the work with ClaimEvents (FOR UPDATE
// SKIP LOCKED), which never hands out an event twice or a room's events
// out of order.
package postgres
