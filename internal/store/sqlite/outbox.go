package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/givelive/givelive/internal/store"
)

// defaultEventLimit is the page size of PendingEvents for a limit of 0 or
// less.
const defaultEventLimit = 100

// enqueue writes one event, its data encoded as JSON, to the outbox in tx.
// room is the fundraiser's id.
func enqueue(tx *wtx, room, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	return enqueueRaw(tx, room, typ, b, now())
}

func enqueueRaw(tx *wtx, room, typ string, data []byte, created int64) error {
	_, err := tx.exec(`INSERT INTO outbox (room, type, data, created_at) VALUES (?, ?, ?, ?)`,
		room, typ, data, created)
	return err
}

// Enqueue writes one event to the outbox. data must be valid JSON: it is
// published as it is, inside the event frame.
func (s *Store) Enqueue(ctx context.Context, room, typ string, data []byte) error {
	if !json.Valid(data) {
		return fmt.Errorf("failed to enqueue %s event: data is not valid JSON", typ)
	}
	// The caller may reuse data once Enqueue returns.
	data = append([]byte(nil), data...)
	created := now()
	err := s.inTx(ctx, func(tx *wtx) error { return enqueueRaw(tx, room, typ, data, created) })
	if err != nil {
		return wrap("enqueue event", err)
	}
	return nil
}

// PendingEvents returns up to limit unpublished events (100 for a limit of
// 0 or less), lowest Seq first.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]store.OutboxEvent, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	rows, err := s.read.QueryContext(ctx,
		`SELECT seq, room, type, data, created_at FROM outbox ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, wrap("read pending events", err)
	}
	defer rows.Close()
	var out []store.OutboxEvent
	for rows.Next() {
		var (
			e       store.OutboxEvent
			created int64
		)
		if err := rows.Scan(&e.Seq, &e.Room, &e.Type, &e.Data, &created); err != nil {
			return nil, wrap("read pending events", err)
		}
		e.CreatedAt = fromMillis(created)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read pending events", err)
	}
	return out, nil
}

// MarkPublished deletes the events with the given seqs; unknown seqs are
// ignored. One statement takes the whole list, as a JSON array.
func (s *Store) MarkPublished(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	list, err := json.Marshal(seqs)
	if err != nil {
		return wrap("mark events published", err)
	}
	err = s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?))`, string(list))
		return err
	})
	if err != nil {
		return wrap("mark events published", err)
	}
	return nil
}
