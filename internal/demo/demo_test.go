package demo_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/demo"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/sqlite"
)

func open(t *testing.T, path string) (*sqlite.Store, *auth.Service) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return st, a
}

// TestSeedIdempotent seeds, "restarts" on the same data dir and seeds
// again: the same records, and the token still works.
func TestSeedIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")

	st, a := open(t, path)
	first, err := demo.Seed(ctx, st, a)
	if err != nil {
		t.Fatal(err)
	}
	again, err := demo.Seed(ctx, st, a)
	if err != nil || again != first {
		t.Fatalf("second seed in one run: %+v, %v; want %+v", again, err, first)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, a = open(t, path)
	t.Cleanup(func() { _ = st.Close() })
	second, err := demo.Seed(ctx, st, a)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatalf("after restart: %+v, want %+v", second, first)
	}

	p, err := a.Authenticate(ctx, second.BroadcasterToken)
	if err != nil || p.Kind != auth.Broadcaster || p.ID != second.BroadcasterID {
		t.Fatalf("demo token: %+v, %v", p, err)
	}
	np, err := st.GetNonprofit(ctx, second.NonprofitID)
	if err != nil || !np.Verified {
		t.Errorf("nonprofit: %+v, %v", np, err)
	}
	f, err := st.GetFundraiser(ctx, second.FundraiserID)
	if err != nil || f.BroadcasterID != p.ID || f.NonprofitID != np.ID || f.Status != store.StatusScheduled ||
		f.GoalAmount != 500_000 || f.Currency != "USD" {
		t.Errorf("fundraiser: %+v, %v", f, err)
	}
	// Exactly one set of records.
	all, err := st.ListFundraisers(ctx, store.FundraiserFilter{})
	if err != nil || len(all) != 1 {
		t.Errorf("%d fundraisers, %v", len(all), err)
	}
}

func TestPrint(t *testing.T) {
	ctx := context.Background()
	st, a := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	t.Cleanup(func() { _ = st.Close() })
	info, err := demo.Seed(ctx, st, a)
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.GetFundraiser(ctx, info.FundraiserID)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	info.Print(&b, "http://localhost:8080/", "rtmp://localhost:1935/live/")
	out := b.String()
	for _, want := range []string{
		info.NonprofitID, info.BroadcasterID, info.BroadcasterToken,
		"curl -s http://localhost:8080/api/v1/fundraisers/" + info.FundraiserID,
		"ws://localhost:8080/ws",
		`{"op":"subscribe","id":1,"room":"` + info.FundraiserID + `"}`,
		"curl -s -X POST http://localhost:8080/api/v1/sessions",
		"/api/v1/fundraisers/" + info.FundraiserID + "/ingest -H 'Authorization: Bearer " + info.BroadcasterToken + "'",
		"http://localhost:8080/f/" + info.FundraiserID,
		"ffplay http://localhost:8080/hls/" + info.FundraiserID + "/index.m3u8",
		"http://localhost:8080/studio",
		"http://localhost:8080/overlay/" + info.FundraiserID,
		"-f flv rtmp://localhost:1935/live/$KEY\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, f.StreamKey) {
		t.Error("the stream key was printed")
	}
	b.Reset()
	info.Print(&b, "https://live.example.org", "rtmp://live.example.org/live")
	if !strings.Contains(b.String(), "wss://live.example.org/ws") {
		t.Errorf("https base: %s", b.String())
	}
}

func TestSeedNeedsDependencies(t *testing.T) {
	if _, err := demo.Seed(context.Background(), nil, nil); err == nil {
		t.Error("Seed(nil, nil) succeeded")
	}
}
