package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/internal/store"
)

// defaultEventLimit is the page size of PendingEvents and ClaimEvents for
// a limit of 0 or less.
const defaultEventLimit = 100

// outboxLockClass is the first key of the transaction-scoped advisory
// lock each room's outbox writers take ("outb" in ASCII); the second is
// hashtext(room). Two-key advisory locks never collide with one-key ones
// such as the migration lock.
const outboxLockClass int32 = 0x6f75_7462

// enqueue queues one event, its data encoded as JSON, for the outbox; it
// is inserted when tx commits (see wtx.commit). room is the fundraiser's id.
func (t *wtx) enqueue(room, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	t.events = append(t.events, event{room: room, typ: typ, data: b, created: now()})
	return nil
}

// Enqueue writes one event to the outbox. data must be valid JSON: it is
// published as it is, inside the event frame.
func (s *Store) Enqueue(ctx context.Context, room, typ string, data []byte) error {
	if !json.Valid(data) {
		return fmt.Errorf("failed to enqueue %s event: data is not valid JSON", typ)
	}
	// The caller may reuse data once Enqueue returns.
	e := event{room: room, typ: typ, data: clone(data), created: now()}
	err := s.inTx(ctx, func(tx *wtx) error {
		tx.events = []event{e}
		return nil
	})
	if err != nil {
		return wrap("enqueue event", err)
	}
	return nil
}

func scanEvent(r pgx.Row) (store.OutboxEvent, error) {
	var e store.OutboxEvent
	if err := r.Scan(&e.Seq, &e.Room, &e.Type, &e.Data, &e.CreatedAt); err != nil {
		return store.OutboxEvent{}, err
	}
	e.CreatedAt = e.CreatedAt.UTC()
	return e, nil
}

// PendingEvents returns up to limit unpublished events (100 for a limit of
// 0 or less), lowest Seq first. It neither takes nor respects the locks of
// ClaimEvents: use one or the other.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]store.OutboxEvent, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	rows, err := s.pool.Query(ctx,
		`SELECT seq, room, type, data, created_at FROM outbox ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("read pending events", err)
	}
	out, err := collect(rows, scanEvent)
	if err != nil {
		return nil, wrap("read pending events", err)
	}
	return out, nil
}

// MarkPublished deletes the events with the given seqs; unknown seqs are
// ignored.
func (s *Store) MarkPublished(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE seq = ANY($1)`, seqs); err != nil {
		return wrap("mark events published", err)
	}
	return nil
}
