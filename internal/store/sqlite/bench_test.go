package sqlite

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/givelive/givelive/internal/store"
)

// benchFundraiser returns a live fundraiser with a goal no benchmark
// reaches, so no milestone is crossed.
func benchFundraiser(b *testing.B, s *Store) store.Fundraiser {
	b.Helper()
	ctx := b.Context()
	n, err := s.CreateNonprofit(ctx, store.NewNonprofit{Name: "n", RegistrationID: "r", Country: "GB"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.VerifyNonprofit(ctx, n.ID); err != nil {
		b.Fatal(err)
	}
	br, err := s.CreateBroadcaster(ctx, "b", []byte("hash"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := s.CreateFundraiser(ctx, store.NewFundraiser{
		BroadcasterID: br.ID, NonprofitID: n.ID, Title: "t", GoalAmount: 1e15, Currency: "GBP", StreamKey: "k",
	})
	if err != nil {
		b.Fatal(err)
	}
	if f, err = s.SetFundraiserStatus(ctx, f.ID, store.StatusLive); err != nil {
		b.Fatal(err)
	}
	return f
}

// benchDonation is a succeeded donation as the sandbox provider records
// it: decided at once, one transaction.
func benchDonation(f store.Fundraiser, i int64) store.NewDonation {
	key := strconv.FormatInt(i, 10)
	return store.NewDonation{
		FundraiserID:   f.ID,
		IdempotencyKey: key,
		RequestHash:    []byte("0123456789abcdef0123456789abcdef"),
		UserID:         "u_" + key,
		Amount:         500,
		Currency:       "GBP",
		Name:           "Ada",
		Message:        "Keep going!",
		PublicMessage:  "Keep going!",
		Provider:       "sandbox",
		Status:         store.DonationSucceeded,
		ProviderRef:    "sbx_" + key,
	}
}

func createDonation(ctx context.Context, b *testing.B, s *Store, d store.NewDonation) {
	if _, created, err := s.CreateDonation(ctx, d); err != nil || !created {
		b.Errorf("CreateDonation = created %v, %v", created, err)
	}
}

// BenchmarkCreateDonation records succeeded donations from many goroutines
// at once, as an HTTP server does: the group commit shares each fsync
// between every donation waiting for it.
func BenchmarkCreateDonation(b *testing.B) {
	s := openTemp(b)
	f := benchFundraiser(b, s)
	var seq atomic.Int64
	b.SetParallelism(64) // goroutines per GOMAXPROCS
	batches := s.commit.batches.Load()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			createDonation(b.Context(), b, s, benchDonation(f, seq.Add(1)))
		}
	})
	reportDonations(b, s.commit.batches.Load()-batches)
}

func reportDonations(b *testing.B, batches int64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "donations/s")
	b.ReportMetric(float64(b.N)/float64(batches), "donations/commit")
}

// BenchmarkCreateDonationSerial records one donation at a time: every
// donation waits for its own commit and fsync.
func BenchmarkCreateDonationSerial(b *testing.B) {
	s := openTemp(b)
	f := benchFundraiser(b, s)
	var i int64
	batches := s.commit.batches.Load()
	for b.Loop() {
		i++
		createDonation(b.Context(), b, s, benchDonation(f, i))
	}
	reportDonations(b, s.commit.batches.Load()-batches)
}
