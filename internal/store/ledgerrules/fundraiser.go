package ledgerrules

import (
	"fmt"
	"math"
	"slices"

	"github.com/givelive/givelive/internal/store"
)

// StatusTransition reports whether a fundraiser may move from one status to
// another, and which time column of the fundraisers table records the move:
// "started_at" for scheduled to live, "ended_at" for scheduled or live to
// ended. Any other move, including to the status it has, is not ok.
func StatusTransition(from, to string) (column string, ok bool) {
	switch {
	case from == store.StatusScheduled && to == store.StatusLive:
		return "started_at", true
	case (from == store.StatusScheduled || from == store.StatusLive) && to == store.StatusEnded:
		return "ended_at", true
	}
	return "", false
}

// MaxMilestone is the highest milestone, in percent of the goal.
const MaxMilestone = 1000

// NormalizeMilestones returns the milestones to store for a new fundraiser:
// store.DefaultMilestones for nil, otherwise in sorted, without duplicates.
// An empty list is nil (no milestones); a milestone outside 1 to
// MaxMilestone is an error.
func NormalizeMilestones(in []int) ([]int, error) {
	if in == nil {
		return slices.Clone(store.DefaultMilestones), nil
	}
	for _, p := range in {
		if p < 1 || p > MaxMilestone {
			return nil, fmt.Errorf("milestone %d%% is outside 1 to %d", p, MaxMilestone)
		}
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MilestoneAmount is ceil(goal × percent / 100) without overflow, for a
// percent of 1 to MaxMilestone; ok is false when the amount does not fit
// in an int64 (no total can reach it).
func MilestoneAmount(goal int64, percent int) (amount int64, ok bool) {
	q, r := goal/100, goal%100
	p := int64(percent)
	if q > (math.MaxInt64-MaxMilestone)/p { // leaves room for the ceil of r × p / 100
		return 0, false
	}
	return q*p + (r*p+99)/100, true
}

// MilestonesCrossed returns the distinct amounts of f's milestones (as of
// its goal, f.Milestones ascending) that lie in (from, to], ascending: the
// milestones a total moving from from to to crosses. A goal of 0 or less
// has none, and an amount too large for an int64 is never crossed.
func MilestonesCrossed(f store.Fundraiser, from, to int64) []int64 {
	if f.GoalAmount <= 0 || to <= from {
		return nil
	}
	var out []int64
	last := int64(-1)
	for _, p := range f.Milestones {
		amount, ok := MilestoneAmount(f.GoalAmount, p)
		if !ok || amount > to {
			break // ascending: the rest are higher still
		}
		if amount <= from || amount == last {
			continue
		}
		last = amount
		out = append(out, amount)
	}
	return out
}

// GenerateSecret calls gen for a new value of the named secret, wrapping
// its error; an empty value is an error too.
func GenerateSecret(name string, gen func() ([]byte, error)) ([]byte, error) {
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("failed to generate secret %s: %w", name, err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("failed to generate secret %s: generator returned no bytes", name)
	}
	return fresh, nil
}
