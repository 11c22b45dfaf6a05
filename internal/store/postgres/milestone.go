package postgres

import (
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

// toMilestones is the stored form, an integer[]; none is an empty array.
func toMilestones(ms []int) []int32 {
	out := make([]int32, len(ms))
	for i, p := range ms {
		out[i] = int32(p) // 1 to ledgerrules.MaxMilestone, checked on the way in
	}
	return out
}

// fromMilestones reads the stored form; an empty array is nil.
func fromMilestones(ms []int32) []int {
	if len(ms) == 0 {
		return nil
	}
	out := make([]int, len(ms))
	for i, p := range ms {
		out[i] = int(p)
	}
	return out
}

// reachMilestones records the milestones of f (as of its goal) whose amount
// lies in (from, to], ascending, and, if announce, enqueues a "milestone"
// event for each not recorded before. Milestones are recorded by amount, so
// each amount is announced once ever, even when refunds take the total
// below it and a later donation crosses it again. A goal of 0 has none.
// reached holds the amounts recorded before, as read under the
// fundraiser's row lock, which the caller holds: no other transaction
// records a milestone of f meanwhile. The inserts wait for the commit.
//
// Every milestone at or below the total is recorded (donations record what
// they cross, RaiseGoal what the total already passed), so a donation only
// needs to look between the old total and the new.
func reachMilestones(tx *wtx, f store.Fundraiser, reached map[int64]bool, from, to int64, announce bool) error {
	for _, amount := range ledgerrules.MilestonesCrossed(f, from, to) {
		if reached[amount] {
			continue
		}
		// No ON CONFLICT: a duplicate would mean the row lock did not
		// hold, and fails the transaction instead of announcing twice.
		tx.later(`INSERT INTO milestones_reached (fundraiser_id, amount) VALUES ($1, $2)`, f.ID, amount)
		if announce {
			err := tx.enqueue(f.ID, wire.TypeMilestone, ledgerrules.MilestoneData(f, amount))
			if err != nil {
				return err
			}
		}
	}
	return nil
}
