package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/internal/store"
)

// Payouts sums, per nonprofit and currency, the totals of its fundraisers
// that have had a succeeded donation (refunded ones included); Fundraisers
// counts those. Nonprofits without one are left out. The sums read the
// totals kept on each fundraiser, not the donations; only Direct, the part
// charged straight to the nonprofit's payout account, sums donations.
func (s *Store) Payouts(ctx context.Context) ([]store.Payout, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT n.id, n.name, f.currency, sum(f.raised)::bigint, sum(f.refunded)::bigint,
		        sum(f.donation_count)::bigint, count(*),
		        coalesce((SELECT sum(d.amount) FROM donations d JOIN fundraisers df ON df.id = d.fundraiser_id
		                  WHERE df.nonprofit_id = n.id AND d.currency = f.currency
		                    AND d.status = 'succeeded' AND d.destination <> ''), 0)::bigint
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
			&p.Donations, &p.Fundraisers, &p.Direct)
		return p, err
	})
	if err != nil {
		return nil, wrap("sum payouts", err)
	}
	return out, nil
}
