package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/ledgerrules"
)

// applySucceeded adds a donation that has just succeeded to its donor and
// its fundraiser's totals, then writes the "donation" event with the new
// total and a "milestone" event for each milestone crossed, in that order.
// f is the fundraiser as read in tx.
func applySucceeded(tx *wtx, f store.Fundraiser, d store.Donation) error {
	var donations int64
	err := tx.queryRow(
		`INSERT INTO donors (fundraiser_id, donor_key, name, amount, donations) VALUES (?, ?, ?, ?, 1)
		 ON CONFLICT (fundraiser_id, donor_key) DO UPDATE
		 SET name = excluded.name, amount = amount + excluded.amount, donations = donations + 1
		 RETURNING donations`,
		f.ID, ledgerrules.DonorKey(d), ledgerrules.DonorName(d), d.Amount).Scan(&donations)
	if err != nil {
		return fmt.Errorf("add to donor: %w", err)
	}
	newDonor := int64(0)
	if donations == 1 {
		newDonor = 1
	}
	old := f.Raised
	err = tx.queryRow(
		`UPDATE fundraisers SET raised = raised + ?, donation_count = donation_count + 1, donors = donors + ?
		 WHERE id = ? RETURNING raised, donors, donation_count`,
		d.Amount, newDonor, f.ID).Scan(&f.Raised, &f.Donors, &f.DonationCount)
	if err != nil {
		return fmt.Errorf("add to totals: %w", err)
	}
	err = enqueue(tx, f.ID, wire.TypeDonation, ledgerrules.DonationData(f, d))
	if err != nil {
		return err
	}
	return reachMilestones(tx, f, old, f.Raised, true)
}

// applyRefunded takes a donation that has just been refunded out of its
// donor and its fundraiser's totals, and writes "donation.refunded" with
// the new total. Milestones stay reached.
func applyRefunded(tx *wtx, d store.Donation) error {
	key := ledgerrules.DonorKey(d)
	// The entry goes with its last donation (amount and count must stay
	// positive); otherwise it shrinks.
	res, err := tx.exec(`DELETE FROM donors WHERE fundraiser_id = ? AND donor_key = ? AND donations = 1`,
		d.FundraiserID, key)
	if err != nil {
		return err
	}
	gone, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if gone == 0 {
		res, err := tx.exec(
			`UPDATE donors SET amount = amount - ?, donations = donations - 1
			 WHERE fundraiser_id = ? AND donor_key = ?`,
			d.Amount, d.FundraiserID, key)
		if err != nil {
			return fmt.Errorf("take from donor: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(fmt.Errorf("donor %s of donation %s is missing", key, d.ID), err)
		}
		if err := renameDonor(tx, d, key); err != nil {
			return err
		}
	}
	var f store.Fundraiser
	err = tx.queryRow(
		`UPDATE fundraisers SET raised = raised - ?, refunded = refunded + ?,
		 donation_count = donation_count - 1, donors = donors - ?
		 WHERE id = ? RETURNING id, raised, donors, goal_amount, currency`,
		d.Amount, d.Amount, gone, d.FundraiserID).Scan(&f.ID, &f.Raised, &f.Donors, &f.GoalAmount, &f.Currency)
	if err != nil {
		return fmt.Errorf("take from totals: %w", err)
	}
	return enqueue(tx, f.ID, wire.TypeDonationRefunded, ledgerrules.RefundedData(f, d))
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
		 WHERE fundraiser_id = ? AND user_id = ? AND status = 'succeeded' AND anonymous = 0
		 ORDER BY settled_at DESC, id DESC LIMIT 1`,
		d.FundraiserID, d.UserID).Scan(&name)
	if err != nil {
		return fmt.Errorf("find donor's latest donation: %w", err)
	}
	latest := store.Donation{UserID: d.UserID, Name: name}
	_, err = tx.exec(`UPDATE donors SET name = ? WHERE fundraiser_id = ? AND donor_key = ?`,
		ledgerrules.DonorName(latest), d.FundraiserID, key)
	return err
}

// TopDonors returns up to limit (100 for 0 or less) donor-list entries,
// largest amount first; ties come in no particular but stable order. An
// unknown fundraiser is store.ErrNotFound.
func (s *Store) TopDonors(ctx context.Context, fundraiserID string, limit int) ([]store.Donor, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	rows, err := s.read.QueryContext(ctx,
		`SELECT name, amount, donations FROM donors WHERE fundraiser_id = ?
		 ORDER BY amount DESC, donor_key LIMIT ?`, fundraiserID, limit)
	if err != nil {
		return nil, wrap("read top donors", err)
	}
	defer rows.Close()
	var out []store.Donor
	for rows.Next() {
		var d store.Donor
		if err := rows.Scan(&d.Name, &d.Amount, &d.Donations); err != nil {
			return nil, wrap("read top donors", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read top donors", err)
	}
	if len(out) == 0 {
		if err := s.fundraiserExists(ctx, fundraiserID); err != nil {
			return nil, wrap("read top donors", err)
		}
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
		rows, err := s.read.QueryContext(ctx,
			`SELECT donor_key FROM donors WHERE fundraiser_id = ? AND donor_key IN (?, ?)`,
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
