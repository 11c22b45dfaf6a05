package sqlite

import (
	"database/sql"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/internal/store"
)

// schema lists the database's tables, indexes and the columns of
// fundraisers, to compare schemas before and after migrations.
func schema(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	rows, err := db.QueryContext(t.Context(),
		`SELECT type || ' ' || name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	cols, err := db.QueryContext(t.Context(), `SELECT 'fundraisers.' || name FROM pragma_table_info('fundraisers')`)
	if err != nil {
		t.Fatal(err)
	}
	defer cols.Close()
	for cols.Next() {
		var s string
		if err := cols.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := cols.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestMigrateDownUp takes the latest migration down and up again on a
// ledger with data: down restores the previous schema and keeps the older
// tables' rows; up again gives the same schema as a fresh database.
func TestMigrateDownUp(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s := openAt(t, path)
	fresh := schema(t, s.write)
	n, err := s.CreateNonprofit(ctx, store.NewNonprofit{Name: "n", RegistrationID: "r", Country: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyNonprofit(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateBroadcaster(ctx, "b", []byte("hash"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.CreateFundraiser(ctx, store.NewFundraiser{
		BroadcasterID: b.ID, NonprofitID: n.ID, Title: "t", GoalAmount: 100, Currency: "EUR", StreamKey: "k",
		Milestones: []int{10},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateDonation(ctx, store.NewDonation{
		FundraiserID: f.ID, IdempotencyKey: "k", Amount: 50, Currency: "EUR", Provider: "sandbox",
		Status: store.DonationSucceeded,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BanUser(ctx, f.ID, "u_1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	p, err := migrator(db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatalf("down to version 1: %v", err)
	}
	var v1 []string
	for _, s := range fresh {
		switch s {
		case "table donations", "table donors", "table milestones_reached", "table provider_events",
			"table bans", "table outbox", "index donations_by_provider_ref", "index donations_by_fundraiser",
			"index donations_recent", "index donations_by_user", "index donors_by_amount",
			"fundraisers.raised", "fundraisers.refunded", "fundraisers.donors", "fundraisers.donation_count",
			"fundraisers.milestones", "fundraisers.slow_mode_seconds",
			"fundraisers.chat_donors_only", "fundraisers.chat_wait_seconds", "fundraisers.thanks",
			"index bans_by_device", "index sessions_by_device":
			continue
		}
		v1 = append(v1, s)
	}
	if d := cmp.Diff(v1, schema(t, db)); d != "" {
		t.Errorf("schema after down (-want +got):\n%s", d)
	}
	var title string
	if err := db.QueryRowContext(ctx, `SELECT title FROM fundraisers WHERE id = ?`, f.ID).Scan(&title); err != nil {
		t.Errorf("fundraiser after down: %v", err)
	}

	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if d := cmp.Diff(fresh, schema(t, db)); d != "" {
		t.Errorf("schema after down and up (-want +got):\n%s", d)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Totals went with the columns; the fundraiser comes back with the
	// defaults and takes donations again.
	s = openAt(t, path)
	got, err := s.GetFundraiser(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Raised != 0 || !slices.Equal(got.Milestones, store.DefaultMilestones) {
		t.Errorf("fundraiser after down and up: raised %d, milestones %v", got.Raised, got.Milestones)
	}
	if _, _, err := s.CreateDonation(ctx, store.NewDonation{
		FundraiserID: f.ID, IdempotencyKey: "k", Amount: 50, Currency: "EUR", Provider: "sandbox",
		Status: store.DonationSucceeded,
	}); err != nil {
		t.Errorf("CreateDonation after down and up: %v", err)
	}
}
