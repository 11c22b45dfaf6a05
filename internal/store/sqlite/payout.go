package sqlite

import (
	"context"

	"github.com/givelive/givelive/internal/store"
)

// Payouts sums, per nonprofit and currency, the totals of its fundraisers
// that have had a succeeded donation (refunded ones included); Fundraisers
// counts those. Nonprofits without one are left out. The sums read the
// totals kept on each fundraiser, not the donations; only Direct, the part
// charged straight to the nonprofit's payout account, sums donations.
func (s *Store) Payouts(ctx context.Context) ([]store.Payout, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT n.id, n.name, f.currency, sum(f.raised), sum(f.refunded), sum(f.donation_count), count(*),
		        coalesce((SELECT sum(d.amount) FROM donations d JOIN fundraisers df ON df.id = d.fundraiser_id
		                  WHERE df.nonprofit_id = n.id AND d.currency = f.currency
		                    AND d.status = 'succeeded' AND d.destination <> ''), 0)
		 FROM fundraisers f JOIN nonprofits n ON n.id = f.nonprofit_id
		 WHERE f.donation_count > 0 OR f.refunded > 0
		 GROUP BY n.id, f.currency
		 ORDER BY n.name, n.id, f.currency`)
	if err != nil {
		return nil, wrap("sum payouts", err)
	}
	defer rows.Close()
	var out []store.Payout
	for rows.Next() {
		var p store.Payout
		err := rows.Scan(&p.NonprofitID, &p.NonprofitName, &p.Currency, &p.Raised, &p.Refunded,
			&p.Donations, &p.Fundraisers, &p.Direct)
		if err != nil {
			return nil, wrap("sum payouts", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("sum payouts", err)
	}
	return out, nil
}
