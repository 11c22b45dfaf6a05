package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

func testConcurrentDonations(t *testing.T, open func(t *testing.T) store.Store) {
	// Many donors at once, as during a live stream's peak: some retry with
	// a key another request is using at the same moment, some are
	// declined. The totals must be exact and every donation announced
	// once, with the total as of its own transaction.
	t.Run("ManyDonors", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000_000_000, nil)
		const workers, each = 32, 50
		type result struct {
			key     string
			d       store.Donation
			created bool
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results [workers][each]result
		)
		for w := range workers {
			wg.Go(func() {
				<-start
				for i := range each {
					in := gift(f, int64(100+w*each+i))
					if i%5 == 0 {
						// Shared with every other worker at this step.
						in.IdempotencyKey = fmt.Sprintf("shared-%d", i)
					}
					if w%2 == 0 {
						in.UserID = fmt.Sprintf("u_%d", w%8) // four viewers, many gifts each
					}
					if (w+i)%7 == 0 {
						in.Status, in.FailureReason = store.DonationFailed, "declined"
					}
					d, created, err := s.CreateDonation(t.Context(), in)
					if err != nil {
						t.Errorf("worker %d: CreateDonation: %v", w, err)
						return
					}
					results[w][i] = result{in.IdempotencyKey, d, created}
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}

		byKey := make(map[string]store.Donation)
		created := make(map[string]store.Donation) // by id
		for w := range workers {
			for _, r := range results[w] {
				if first, ok := byKey[r.key]; ok {
					diff(t, "donation for key "+r.key, first, r.d)
				} else {
					byKey[r.key] = r.d
				}
				if r.created {
					if _, dup := created[r.d.ID]; dup {
						t.Errorf("donation %s created twice", r.d.ID)
					}
					created[r.d.ID] = r.d
				}
			}
		}
		if len(created) != len(byKey) {
			t.Errorf("%d donations created for %d keys", len(created), len(byKey))
		}

		var want totals
		donors := make(map[string]bool)
		for _, d := range created {
			if d.Status != store.DonationSucceeded {
				continue
			}
			want.Raised += d.Amount
			want.DonationCount++
			if d.UserID == "" {
				want.Donors++
			} else {
				donors[d.UserID] = true
			}
		}
		want.Donors += int64(len(donors))
		checkTotals(t, s, f, want)

		// One event per succeeded donation, in commit order: each total is
		// the previous one plus the donation.
		announced := make(map[string]bool)
		raised := int64(0)
		for _, e := range drain(t, s) {
			if e.Type != wire.TypeDonation {
				continue
			}
			data := e.Data.(wire.DonationData)
			d, ok := created[data.ID]
			switch {
			case !ok || d.Status != store.DonationSucceeded:
				t.Errorf("event for donation %s, which did not succeed", data.ID)
			case announced[data.ID]:
				t.Errorf("donation %s announced twice", data.ID)
			case data.Total.Raised != raised+d.Amount:
				t.Errorf("donation %s of %d announced a total of %d after %d", data.ID, d.Amount, data.Total.Raised, raised)
			}
			announced[data.ID] = true
			raised = data.Total.Raised
		}
		if int64(len(announced)) != want.DonationCount || raised != want.Raised {
			t.Errorf("%d donations announced, last total %d; want %d, %d",
				len(announced), raised, want.DonationCount, want.Raised)
		}

		listed := 0
		for filter := (store.DonationFilter{FundraiserID: f.ID, Limit: 500}); ; {
			page, err := s.ListDonations(t.Context(), filter)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			listed += len(page)
			filter.Before = page[len(page)-1].ID
		}
		if listed != len(created) {
			t.Errorf("ListDonations lists %d donations, want %d", listed, len(created))
		}
	})

	// Requests that fail (an ended or unknown fundraiser, a duplicate
	// provider ref) alongside ones that succeed: a backend that batches
	// writes must not let one failure undo the others.
	t.Run("FailuresDoNotSpread", func(t *testing.T) {
		s := open(t)
		live := liveFundraiser(t, s, 1_000_000_000, nil)
		ended := liveFundraiser(t, s, 1_000_000_000, nil)
		mustStatus(t, s, ended, store.StatusEnded)
		taken := gift(live, 1)
		taken.ProviderRef = "sbx_taken"
		mustCreate(t, s, taken)
		drain(t, s)

		const workers, each = 16, 25
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			mu    sync.Mutex
			sum   int64
			n     int64
		)
		for w := range workers {
			wg.Go(func() {
				<-start
				for i := range each {
					var (
						in   store.NewDonation
						want error
					)
					switch (w + i) % 4 {
					case 0:
						in = gift(ended, 10)
						want = store.ErrEnded
					case 1:
						in = gift(store.Fundraiser{ID: unknownFundraiser, Currency: currency}, 10)
						want = store.ErrNotFound
					case 2:
						in = gift(live, 10)
						in.ProviderRef = "sbx_taken"
						want = store.ErrConflict
					default:
						in = gift(live, int64(w*each+i+1))
					}
					_, _, err := s.CreateDonation(t.Context(), in)
					if want != nil {
						wantErr(t, "CreateDonation", err, want)
						continue
					}
					if err != nil {
						t.Errorf("CreateDonation: %v", err)
						continue
					}
					mu.Lock()
					sum += in.Amount
					n++
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		checkTotals(t, s, live, totals{Raised: 1 + sum, Donors: 1 + n, DonationCount: 1 + n})
		checkTotals(t, s, ended, totals{})
		if events := drain(t, s); int64(len(events)) != n {
			t.Errorf("%d events, want %d (one per donation)", len(events), n)
		}
	})
}
