package postgres

import (
	"context"
	"fmt"

	"github.com/givelive/givelive/internal/store"
)

// ClaimEvents lets any number of dispatchers, in any number of processes,
// drain the outbox together (see store.EventClaimer). In one transaction
// it locks the lowest-seq events no other transaction holds (FOR UPDATE
// SKIP LOCKED), leaves out every event of a room that has an earlier
// event still pending that it did not lock (another dispatcher holds it,
// or failed to publish it), hands the rest to publish, deletes the first
// done of them and commits. Events left out stay locked until the commit
// and are claimed again later.
//
// A room's order holds across dispatchers: the writers of a room commit
// in seq order (see wtx.commit), so an event this transaction sees has
// every earlier event of its room either visible or already deleted, and
// an earlier event still pending makes its room wait.
//
// Delivery is at least once: if the commit fails after publish, the
// events stay and are published again. The transaction is never retried,
// so publish runs at most once per call. limit 0 or less means 100.
func (s *Store) ClaimEvents(ctx context.Context, limit int, publish func([]store.OutboxEvent) (done int, err error)) (int, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	var (
		claimed int
		pubErr  error
	)
	err := s.tryTx(ctx, func(tx *wtx) error {
		rows, err := tx.query(
			`SELECT seq, room, type, data, created_at FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		events, err := collect(rows, scanEvent)
		if err != nil || len(events) == 0 {
			return err
		}
		if events, err = inRoomOrder(tx, events); err != nil || len(events) == 0 {
			return err
		}
		claimed = len(events)
		done, err := publish(events)
		done = min(max(done, 0), len(events))
		pubErr = err
		if done == 0 {
			return nil
		}
		seqs := make([]int64, done)
		for i, e := range events[:done] {
			seqs[i] = e.Seq
		}
		_, err = tx.exec(`DELETE FROM outbox WHERE seq = ANY($1)`, seqs)
		return err
	})
	if err != nil {
		return claimed, wrap("claim outbox events", err)
	}
	if pubErr != nil {
		return claimed, fmt.Errorf("failed to publish claimed outbox events: %w", pubErr)
	}
	return claimed, nil
}

// inRoomOrder drops from events (locked by tx, in seq order) those of
// each room that has a pending event before them that tx did not lock.
func inRoomOrder(tx *wtx, events []store.OutboxEvent) ([]store.OutboxEvent, error) {
	rooms := make([]string, 0, len(events))
	seqs := make([]int64, len(events))
	for i, e := range events {
		rooms = append(rooms, e.Room)
		seqs[i] = e.Seq
	}
	rows, err := tx.query(
		`SELECT room, min(seq) FROM outbox
		 WHERE room = ANY($1) AND seq < $2 AND seq <> ALL($3)
		 GROUP BY room`,
		rooms, seqs[len(seqs)-1], seqs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	blocked := make(map[string]int64)
	for rows.Next() {
		var (
			room string
			seq  int64
		)
		if err := rows.Scan(&room, &seq); err != nil {
			return nil, err
		}
		blocked[room] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(blocked) == 0 {
		return events, nil
	}
	kept := events[:0]
	for _, e := range events {
		if first, ok := blocked[e.Room]; !ok || e.Seq < first {
			kept = append(kept, e)
		}
	}
	return kept, nil
}
