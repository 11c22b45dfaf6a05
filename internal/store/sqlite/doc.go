// Package sqlite is the SQLite backend of the ledger (package store), built on
// the pure-Go modernc.org/sqlite driver.
//
// Entry points: Open, which takes a Config, creates the database file if
// needed, applies the embedded migrations and returns a *Store that
// implements store.Store; and Store.Close.
//
// Concurrency: every method of *Store is safe to call from many goroutines.
// SQLite allows one writer at a time, so all writes go through a pool of
// exactly one connection and queue in Go rather than failing with
// SQLITE_BUSY; reads use a separate pool of read-only connections that WAL
// lets run beside the writer. Each state change is one transaction, committed
// with synchronous=FULL: once a method returns, its change survives a crash
// or power loss.
package sqlite
