package sqlite

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// maxMilestone is the highest milestone, in percent of the goal.
const maxMilestone = 1000

// normalizeMilestones returns the milestones to store for a new fundraiser:
// store.DefaultMilestones for nil, otherwise in sorted, without duplicates.
// An empty list is nil (no milestones).
func normalizeMilestones(in []int) ([]int, error) {
	if in == nil {
		return slices.Clone(store.DefaultMilestones), nil
	}
	for _, p := range in {
		if p < 1 || p > maxMilestone {
			return nil, fmt.Errorf("milestone %d%% is outside 1 to %d", p, maxMilestone)
		}
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out), nil
}

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

// milestoneAmount is ceil(goal × percent / 100) without overflow; ok is
// false when the amount does not fit in an int64 (no total can reach it).
func milestoneAmount(goal int64, percent int) (amount int64, ok bool) {
	q, r := goal/100, goal%100
	p := int64(percent)
	if q > (math.MaxInt64-maxMilestone)/p { // leaves room for the ceil of r × p / 100
		return 0, false
	}
	return q*p + (r*p+99)/100, true
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
	if f.GoalAmount <= 0 || to <= from {
		return nil
	}
	last := int64(-1)
	for _, p := range f.Milestones {
		amount, ok := milestoneAmount(f.GoalAmount, p)
		if !ok || amount > to {
			break // ascending: the rest are higher still
		}
		if amount <= from || amount == last {
			continue
		}
		last = amount
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
			err := enqueue(tx, f.ID, wire.TypeMilestone, wire.MilestoneData{Amount: amount, Currency: f.Currency})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
