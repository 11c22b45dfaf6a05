package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

// applySucceeded adds a donation that has just succeeded to its donor and
// its fundraiser's totals, then enqueues the "donation" event with the new
// total and a "milestone" event for each milestone crossed, in that order.
// t was read under the fundraiser's row lock with d's donor key, so the
// new totals are worked out here and the updates wait for the commit.
func applySucceeded(tx *wtx, t totals, d store.Donation) error {
	f := t.f
	tx.later(
		`INSERT INTO donors AS o (fundraiser_id, donor_key, name, amount, donations) VALUES ($1, $2, $3, $4, 1)
		 ON CONFLICT (fundraiser_id, donor_key) DO UPDATE
		 SET name = excluded.name, amount = o.amount + excluded.amount, donations = o.donations + 1`,
		f.ID, ledgerrules.DonorKey(d), ledgerrules.DonorName(d), d.Amount)
	newDonor := int64(0)
	if !t.donorExists {
		newDonor = 1
	}
	// The row is locked by this transaction and fundraisers are never
	// deleted, so the update finds it.
	tx.later(
		`UPDATE fundraisers SET raised = raised + $1, donation_count = donation_count + 1, donors = donors + $2
		 WHERE id = $3`,
		d.Amount, newDonor, f.ID)
	old := f.Raised
	f.Raised += d.Amount
	f.DonationCount++
	f.Donors += newDonor
	err := tx.enqueue(f.ID, wire.TypeDonation, ledgerrules.DonationData(f, d))
	if err != nil {
		return err
	}
	return reachMilestones(tx, f, t.reached, old, f.Raised, true)
}

// applyRefunded takes a donation that has just been refunded out of its
// donor and its fundraiser's totals, and enqueues "donation.refunded" with
// the new total. Milestones stay reached. The caller holds the
// fundraiser's row lock.
func applyRefunded(tx *wtx, d store.Donation) error {
	key := ledgerrules.DonorKey(d)
	// The entry goes with its last donation (amount and count must stay
	// positive); otherwise it shrinks.
	tag, err := tx.exec(`DELETE FROM donors WHERE fundraiser_id = $1 AND donor_key = $2 AND donations = 1`,
		d.FundraiserID, key)
	if err != nil {
		return err
	}
	gone := tag.RowsAffected()
	if gone == 0 {
		tag, err := tx.exec(
			`UPDATE donors SET amount = amount - $1, donations = donations - 1
			 WHERE fundraiser_id = $2 AND donor_key = $3`,
			d.Amount, d.FundraiserID, key)
		if err != nil {
			return fmt.Errorf("take from donor: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("donor %s of donation %s is missing", key, d.ID)
		}
		if err := renameDonor(tx, d, key); err != nil {
			return err
		}
	}
	var f store.Fundraiser
	err = tx.queryRow(
		`UPDATE fundraisers SET raised = raised - $1, refunded = refunded + $1,
		 donation_count = donation_count - 1, donors = donors - $2
		 WHERE id = $3 RETURNING id, raised, donors, goal_amount, currency`,
		d.Amount, gone, d.FundraiserID).Scan(&f.ID, &f.Raised, &f.Donors, &f.GoalAmount, &f.Currency)
	if err != nil {
		return fmt.Errorf("take from totals: %w", err)
	}
	return tx.enqueue(f.ID, wire.TypeDonationRefunded, ledgerrules.RefundedData(f, d))
}

// renameDonor gives a signed-in viewer's named entry, after one of its
// donations was refunded, the name of its latest donation still standing.
func renameDonor(tx *wtx, d store.Donation, key string) error {
	if d.UserID == "" || d.Anonymous {
		return nil // 'd:' entries have one donation; 'a:' ones are always Anonymous
	}
	var name string
	err := tx.queryRow(
		`SELECT name FROM donations
		 WHERE fundraiser_id = $1 AND user_id = $2 AND status = 'succeeded' AND NOT anonymous
		 ORDER BY settled_at DESC, id DESC LIMIT 1`,
		d.FundraiserID, d.UserID).Scan(&name)
	if err != nil {
		return fmt.Errorf("find donor's latest donation: %w", err)
	}
	latest := store.Donation{UserID: d.UserID, Name: name}
	_, err = tx.exec(`UPDATE donors SET name = $1 WHERE fundraiser_id = $2 AND donor_key = $3`,
		ledgerrules.DonorName(latest), d.FundraiserID, key)
	return err
}

func scanDonor(r pgx.Row) (store.Donor, error) {
	var d store.Donor
	err := r.Scan(&d.Name, &d.Amount, &d.Donations)
	return d, err
}

// TopDonors returns up to limit (100 for 0 or less) donor-list entries,
// largest amount first; ties come in no particular but stable order. An
// unknown fundraiser is store.ErrNotFound.
func (s *Store) TopDonors(ctx context.Context, fundraiserID string, limit int) ([]store.Donor, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	rows, err := s.pool.Query(ctx,
		`SELECT name, amount, donations FROM donors WHERE fundraiser_id = $1
		 ORDER BY amount DESC, donor_key LIMIT $2`, fundraiserID, limit)
	if err != nil {
		return nil, wrap("read top donors", err)
	}
	out, err := collect(rows, scanDonor)
	if err == nil && len(out) == 0 {
		err = s.fundraiserExists(ctx, fundraiserID)
	}
	if err != nil {
		return nil, wrap("read top donors", err)
	}
	return out, nil
}

// DonorStatus tells whether the signed-in viewer userID has a succeeded,
// unrefunded donation to the fundraiser, and whether one is named. An
// unknown fundraiser is store.ErrNotFound.
func (s *Store) DonorStatus(ctx context.Context, fundraiserID, userID string) (store.DonorStatus, error) {
	var st store.DonorStatus
	if userID != "" {
		named, anon := ledgerrules.DonorKeys(userID)
		rows, err := s.pool.Query(ctx,
			`SELECT donor_key FROM donors WHERE fundraiser_id = $1 AND donor_key IN ($2, $3)`,
			fundraiserID, named, anon)
		if err != nil {
			return st, wrap("check donor", err)
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				return st, wrap("check donor", err)
			}
			st.Donated = true
			st.Named = st.Named || key == named
		}
		if err := rows.Err(); err != nil {
			return st, wrap("check donor", err)
		}
	}
	if !st.Donated {
		if err := s.fundraiserExists(ctx, fundraiserID); err != nil {
			return st, wrap("check donor", err)
		}
	}
	return st, nil
}
