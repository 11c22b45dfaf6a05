package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/internal/store"
)

// Payouts sums, per nonprofit and currency, the totals of its fundraisers
// that have had a succeeded donation (refunded ones included); Fundraisers
// counts those. Nonprofits without one are left out. The sums read the
// totals kept on each fundraiser, not the donations.
func (s *Store) Payouts(ctx context.Context) ([]store.Payout, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT n.id, n.name, f.currency, sum(f.raised)::bigint, sum(f.refunded)::bigint,
		        sum(f.donation_count)::bigint, count(*)
		 FROM fundraisers f JOIN nonprofits n ON n.id = f.nonprofit_id
		 WHERE f.donation_count > 0 OR f.refunded > 0
		 GROUP BY n.id, f.currency
		 ORDER BY n.name, n.id, f.currency COLLATE "C"`)
	if err != nil {
		return nil, wrap("sum payouts", err)
	}
	out, err := collect(rows, func(r pgx.Row) (store.Payout, error) {
		var p store.Payout
		err := r.Scan(&p.NonprofitID, &p.NonprofitName, &p.Currency, &p.Raised, &p.Refunded,
			&p.Donations, &p.Fundraisers)
		return p, err
	})
	if err != nil {
		return nil, wrap("sum payouts", err)
	}
	return out, nil
}
