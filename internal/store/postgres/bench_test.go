package postgres

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/givelive/givelive/internal/store"
)

func openBench(b *testing.B) *Store {
	b.Helper()
	// The default pool: on a small machine a bigger one only adds
	// backends that queue for the same row lock (measured on 2 CPUs: 32
	// connections record a third as many donations to one fundraiser).
	s, err := Open(b.Context(), Config{URL: pg.Server(b).NewDatabase(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchFundraisers returns n live fundraisers with a goal no benchmark
// reaches, so no milestone is crossed.
func benchFundraisers(b *testing.B, s *Store, n int) []store.Fundraiser {
	b.Helper()
	ctx := b.Context()
	np, err := s.CreateNonprofit(ctx, store.NewNonprofit{Name: "n", RegistrationID: "r", Country: "GB"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.VerifyNonprofit(ctx, np.ID); err != nil {
		b.Fatal(err)
	}
	br, err := s.CreateBroadcaster(ctx, "b", []byte("hash"))
	if err != nil {
		b.Fatal(err)
	}
	out := make([]store.Fundraiser, n)
	for i := range out {
		f, err := s.CreateFundraiser(ctx, store.NewFundraiser{
			BroadcasterID: br.ID, NonprofitID: np.ID, Title: "t", GoalAmount: 1e15, Currency: "GBP",
			StreamKey: "k" + strconv.Itoa(i),
		})
		if err != nil {
			b.Fatal(err)
		}
		if out[i], err = s.SetFundraiserStatus(ctx, f.ID, store.StatusLive); err != nil {
			b.Fatal(err)
		}
	}
	return out
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

// benchParallel records succeeded donations from many goroutines at once,
// as HTTP servers do, spread over the fundraisers.
func benchParallel(b *testing.B, fundraisers int) {
	s := openBench(b)
	fs := benchFundraisers(b, s, fundraisers)
	var seq atomic.Int64
	b.SetParallelism(64) // goroutines per GOMAXPROCS
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			createDonation(b.Context(), b, s, benchDonation(fs[int(i)%len(fs)], i))
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "donations/s")
}

// BenchmarkCreateDonation: one fundraiser at its peak. Its row lock
// serialises the donations, so this measures one transaction's latency
// under contention.
func BenchmarkCreateDonation(b *testing.B) { benchParallel(b, 1) }

// BenchmarkCreateDonationManyFundraisers: 64 fundraisers at once, whose
// donations only contend for the pool and the server.
func BenchmarkCreateDonationManyFundraisers(b *testing.B) { benchParallel(b, 64) }

// BenchmarkCreateDonationSerial records one donation at a time.
func BenchmarkCreateDonationSerial(b *testing.B) {
	s := openBench(b)
	f := benchFundraisers(b, s, 1)[0]
	var i int64
	for b.Loop() {
		i++
		createDonation(b.Context(), b, s, benchDonation(f, i))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "donations/s")
}
