package storetest

import (
	"slices"
	"testing"

	"github.com/givelive/givelive/internal/store"
)

func testListFundraisers(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		n := mustNonprofit(t, s, "n", true)
		b1 := mustBroadcaster(t, s, "b1")
		b2 := mustBroadcaster(t, s, "b2")

		if list, err := s.ListFundraisers(t.Context(), store.FundraiserFilter{}); err != nil || len(list) != 0 {
			t.Fatalf("ListFundraisers on an empty store = %v, %v; want none, nil", list, err)
		}

		// Created in index order, alternating broadcasters; several share a
		// millisecond, so ties must still come newest first.
		f := make([]store.Fundraiser, 6)
		for i := range f {
			b := b1
			if i%2 == 1 {
				b = b2
			}
			f[i] = mustFundraiser(t, s, b, n, "f"+string(rune('0'+i)))
		}
		f[0] = mustStatus(t, s, f[0], store.StatusLive)
		f[1] = mustStatus(t, s, f[1], store.StatusEnded)
		f[3] = mustStatus(t, s, f[3], store.StatusLive)

		for _, c := range []struct {
			name   string
			filter store.FundraiserFilter
			want   []store.Fundraiser
		}{
			{"all", store.FundraiserFilter{}, []store.Fundraiser{f[5], f[4], f[3], f[2], f[1], f[0]}},
			{"scheduled", store.FundraiserFilter{Status: store.StatusScheduled}, []store.Fundraiser{f[5], f[4], f[2]}},
			{"live", store.FundraiserFilter{Status: store.StatusLive}, []store.Fundraiser{f[3], f[0]}},
			{"ended", store.FundraiserFilter{Status: store.StatusEnded}, []store.Fundraiser{f[1]}},
			{"broadcaster", store.FundraiserFilter{BroadcasterID: b1.ID}, []store.Fundraiser{f[4], f[2], f[0]}},
			{"broadcaster and status", store.FundraiserFilter{BroadcasterID: b2.ID, Status: store.StatusLive}, []store.Fundraiser{f[3]}},
			{"limit", store.FundraiserFilter{Limit: 2}, []store.Fundraiser{f[5], f[4]}},
			{"limit 1", store.FundraiserFilter{Limit: 1}, []store.Fundraiser{f[5]}},
			{"limit and filter", store.FundraiserFilter{BroadcasterID: b1.ID, Limit: 2}, []store.Fundraiser{f[4], f[2]}},
			{"limit above count", store.FundraiserFilter{Limit: 50}, []store.Fundraiser{f[5], f[4], f[3], f[2], f[1], f[0]}},
			{"unknown broadcaster", store.FundraiserFilter{BroadcasterID: "b_0190f0f0f0f07000800000000000dead"}, nil},
			{"unknown status", store.FundraiserFilter{Status: "paused"}, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.ListFundraisers(t.Context(), c.filter)
				if err != nil {
					t.Fatalf("ListFundraisers(%+v): %v", c.filter, err)
				}
				diffList(t, "ListFundraisers", c.want, got)
			})
		}
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		s := open(t)
		n := mustNonprofit(t, s, "n", true)
		b := mustBroadcaster(t, s, "b")
		created := make([]store.Fundraiser, 101)
		for i := range created {
			created[i] = mustFundraiser(t, s, b, n, "f")
		}
		newest := slices.Clone(created)
		slices.Reverse(newest)

		got, err := s.ListFundraisers(t.Context(), store.FundraiserFilter{})
		if err != nil {
			t.Fatalf("ListFundraisers: %v", err)
		}
		diff(t, "ListFundraisers with Limit 0 (the newest 100)", newest[:100], got)

		got, err = s.ListFundraisers(t.Context(), store.FundraiserFilter{Limit: 101})
		if err != nil {
			t.Fatalf("ListFundraisers: %v", err)
		}
		diff(t, "ListFundraisers with Limit 101", newest, got)
	})
}
