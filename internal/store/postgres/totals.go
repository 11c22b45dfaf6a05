package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/internal/store"
)

// totals is what a transaction that moves a fundraiser's money reads once
// it holds the fundraiser's row lock. Every transaction that changes the
// totals, the donor list or the reached milestones of a fundraiser holds
// that lock, so what it reads stays true until it commits, and the new
// totals can be worked out here rather than read back.
type totals struct {
	f           store.Fundraiser // ID, Status, GoalAmount, Currency, Raised, Donors, DonationCount, Milestones
	donorExists bool             // the donor entry asked for has a row
	reached     map[int64]bool   // milestone amounts already reached
}

const totalsColumns = `status, goal_amount, currency, raised, donors, donation_count, milestones`

// lockTotals sends in one round trip: BEGIN if needed; the lock and read of
// fundraiser id's totals; the read of its donor entry donorKey and reached
// milestones (a statement of its own, so that it sees what the
// transactions it waited for committed); and then, if not empty, with
// args. It returns the results positioned at then's, which the caller
// reads and closes. An unknown fundraiser is store.ErrNotFound.
func lockTotals(tx *wtx, id, donorKey, then string, args ...any) (totals, batchResults, error) {
	var b pgx.Batch
	b.Queue(`SELECT `+totalsColumns+` FROM fundraisers WHERE id = $1 FOR NO KEY UPDATE`, id)
	b.Queue(`SELECT EXISTS (SELECT 1 FROM donors WHERE fundraiser_id = $1 AND donor_key = $2),
		ARRAY(SELECT amount FROM milestones_reached WHERE fundraiser_id = $1)`, id, donorKey)
	if then != "" {
		b.Queue(then, args...)
	}
	br := tx.sendBatch(&b)
	t := totals{f: store.Fundraiser{ID: id}}
	var milestones []int32
	err := br.QueryRow().Scan(&t.f.Status, &t.f.GoalAmount, &t.f.Currency, &t.f.Raised, &t.f.Donors,
		&t.f.DonationCount, &milestones)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("fundraiser %s: %w", id, store.ErrNotFound)
	}
	var reached []int64
	if err == nil {
		err = br.QueryRow().Scan(&t.donorExists, &reached)
	}
	if err != nil {
		br.Close()
		return totals{}, nil, err
	}
	t.f.Milestones = fromMilestones(milestones)
	t.reached = make(map[int64]bool, len(reached))
	for _, a := range reached {
		t.reached[a] = true
	}
	return t, br, nil
}
