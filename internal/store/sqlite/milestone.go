package sqlite

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

// formatMilestones is the stored form: "25,50,75,100", or "" for none.
func formatMilestones(ms []int) string {
	var b strings.Builder
	for i, p := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}

// parseMilestones reads the stored form; "" is nil.
func parseMilestones(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]int, 0, strings.Count(s, ",")+1)
	for f := range strings.SplitSeq(s, ",") {
		p, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("bad stored milestones %q: %w", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// reachMilestones records the milestones of f (as of its goal) whose amount
// lies in (from, to], ascending, and, if announce, writes a "milestone"
// event for each not recorded before. Milestones are recorded by amount, so
// each amount is announced once ever, even when refunds take the total
// below it and a later donation crosses it again. A goal of 0 has none.
//
// Every milestone at or below the total is recorded (donations record what
// they cross, RaiseGoal what the total already passed), so a donation only
// needs to look between the old total and the new.
func reachMilestones(tx *wtx, f store.Fundraiser, from, to int64, announce bool) error {
	for _, amount := range ledgerrules.MilestonesCrossed(f, from, to) {
		res, err := tx.exec(
			`INSERT INTO milestones_reached (fundraiser_id, amount) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			f.ID, amount)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 && announce {
			err := enqueue(tx, f.ID, wire.TypeMilestone, ledgerrules.MilestoneData(f, amount))
			if err != nil {
				return err
			}
		}
	}
	return nil
}
