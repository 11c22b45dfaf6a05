package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openAt opens the ledger at path and closes it when t ends.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Path: path})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func openTemp(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "ledger.db"))
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// TestReopen checks that every kind of record survives Close and a new Open
// of the same file, as after a restart.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	hash := sha256.Sum256([]byte("token"))
	n, err := s.CreateNonprofit(ctx, store.NewNonprofit{Name: "n", RegistrationID: "r", Country: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err = s.VerifyNonprofit(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateBroadcaster(ctx, "b", hash[:])
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.CreateFundraiser(ctx, store.NewFundraiser{
		BroadcasterID: b.ID, NonprofitID: n.ID, Title: "t", GoalAmount: 10, Currency: "EUR", StreamKey: "key",
	})
	if err != nil {
		t.Fatal(err)
	}
	if f, err = s.SetFundraiserStatus(ctx, f.ID, store.StatusLive); err != nil {
		t.Fatal(err)
	}
	d, _, err := s.CreateDonation(ctx, store.NewDonation{
		FundraiserID: f.ID, IdempotencyKey: "k", UserID: "u_1", Amount: 7, Currency: "EUR",
		Name: "Ada", Provider: "sandbox", Status: store.DonationSucceeded, ProviderRef: "sbx_1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BanUser(ctx, f.ID, "u_2", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if f, err = s.SetSlowMode(ctx, f.ID, 10); err != nil {
		t.Fatal(err)
	}
	// Going live, the donation, the milestones of 3 and 5 (25 and 50 % of
	// 10), the ban.
	events, err := s.PendingEvents(ctx, 100)
	if err != nil || len(events) != 5 {
		t.Fatalf("PendingEvents = %d events, %v; want 5", len(events), err)
	}
	u, err := s.CreateSession(ctx, "viewer", "")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := s.Secret(ctx, "jwt", func() ([]byte, error) { return []byte("s3cret"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if f.Raised != 7 || f.Donors != 1 || f.DonationCount != 1 || f.SlowModeSeconds != 10 {
		t.Fatalf("fundraiser before the restart = %+v", f)
	}

	s = openAt(t, path)
	check := func(what string, want any, get func() (any, error)) {
		t.Helper()
		got, err := get()
		if err != nil {
			t.Fatalf("%s after reopening: %v", what, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s after reopening (-want +got):\n%s", what, d)
		}
	}
	check("nonprofit", n, func() (any, error) { return s.GetNonprofit(ctx, n.ID) })
	check("broadcaster", b, func() (any, error) { return s.BroadcasterByTokenHash(ctx, hash[:]) })
	check("fundraiser", f, func() (any, error) { return s.FundraiserByStreamKey(ctx, "key") })
	check("donation", d, func() (any, error) { return s.DonationByProviderRef(ctx, "sandbox", "sbx_1") })
	check("donors", []store.Donor{{Name: "Ada", Amount: 7, Donations: 1}},
		func() (any, error) { return s.TopDonors(ctx, f.ID, 10) })
	check("ban", true, func() (any, error) { return s.IsBanned(ctx, f.ID, "u_2") })
	check("outbox", events, func() (any, error) { return s.PendingEvents(ctx, 100) })
	check("session", u, func() (any, error) { return s.GetSession(ctx, u.ID) })
	check("secret", secret, func() (any, error) {
		return s.Secret(ctx, "jwt", func() ([]byte, error) {
			t.Error("gen called for a secret stored before the restart")
			return nil, nil
		})
	})
}

// migrationRows counts goose's version rows per applied version.
func migrationRows(t *testing.T, s *Store) map[int64]int {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(),
		`SELECT version_id, count(*) FROM goose_db_version WHERE is_applied GROUP BY version_id`)
	if err != nil {
		t.Fatalf("query goose_db_version: %v", err)
	}
	defer rows.Close()
	got := make(map[int64]int)
	for rows.Next() {
		var v int64
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		got[v] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// wantMigrations is one row per version: the zero row goose writes, and
// each file in migrations/.
func wantMigrations(t *testing.T) map[int64]int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files: %v", err)
	}
	want := map[int64]int{0: 1}
	for i := range files {
		want[int64(i+1)] = 1
	}
	return want
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	first := openAt(t, path)
	if _, err := first.CreateSession(t.Context(), "kept", ""); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, path)
	if d := cmp.Diff(wantMigrations(t), migrationRows(t, second)); d != "" {
		t.Errorf("goose_db_version rows (-want +got):\n%s", d)
	}

	// A third store open on the same file at the same time sees the
	// second's writes.
	third := openAt(t, path)
	u, err := second.CreateSession(t.Context(), "shared", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := third.GetSession(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("GetSession through another Store: %v", err)
	}
	if d := cmp.Diff(u, got); d != "" {
		t.Errorf("session read through another Store (-want +got):\n%s", d)
	}
}

// TestConcurrentOpen opens a new file from several goroutines at once, as
// two processes starting together would; each must end up with the schema
// applied exactly once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	const openers = 4
	var (
		wg     sync.WaitGroup
		stores [openers]*Store
		errs   [openers]error
	)
	for i := range openers {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), Config{Path: path}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() {
			if err := stores[i].Close(); err != nil {
				t.Errorf("Close %d: %v", i, err)
			}
		})
		if _, err := stores[i].CreateSession(t.Context(), "v", ""); err != nil {
			t.Errorf("CreateSession through store %d: %v", i, err)
		}
	}
	if errs[0] == nil {
		if d := cmp.Diff(wantMigrations(t), migrationRows(t, stores[0])); d != "" {
			t.Errorf("goose_db_version rows (-want +got):\n%s", d)
		}
	}
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "ledger.db")
	s := openAt(t, path)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestOpenWithoutPath(t *testing.T) {
	if s, err := Open(t.Context(), Config{}); err == nil {
		s.Close()
		t.Fatal("Open with an empty Path succeeded")
	}
}

// pragma reads one integer or text PRAGMA on conn.
func pragma(t *testing.T, conn *sql.Conn, name string) string {
	t.Helper()
	var v string
	if err := conn.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// TestPragmas checks the settings on every connection of both pools, since
// most pragmas are per connection.
func TestPragmas(t *testing.T) {
	s := openTemp(t)
	for _, pool := range []struct {
		name      string
		db        *sql.DB
		conns     int
		queryOnly string
		tempStore string
	}{
		{"write", s.write, 1, "0", "2"}, // MEMORY: savepoints' journals
		{"read", s.read, s.read.Stats().MaxOpenConnections, "1", "0"},
	} {
		// Hold every connection at once so each is a distinct one.
		for i := range pool.conns {
			conn, err := pool.db.Conn(t.Context())
			if err != nil {
				t.Fatalf("%s pool: Conn %d: %v", pool.name, i, err)
			}
			defer conn.Close()
			for name, want := range map[string]string{
				"journal_mode": "wal",
				"synchronous":  "2", // FULL
				"foreign_keys": "1",
				"busy_timeout": "5000",
				"query_only":   pool.queryOnly,
				"temp_store":   pool.tempStore,
			} {
				if got := pragma(t, conn, name); got != want {
					t.Errorf("%s pool, connection %d: PRAGMA %s = %s, want %s", pool.name, i, name, got, want)
				}
			}
		}
	}
	if n := s.write.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("write pool allows %d connections, want 1", n)
	}
}

// TestSchemaConstraints checks what the database itself refuses, beneath
// the checks the Store makes first.
func TestSchemaConstraints(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
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
		BroadcasterID: b.ID, NonprofitID: n.ID, Title: "t", Currency: "EUR", StreamKey: "k",
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := s.CreateDonation(ctx, store.NewDonation{
		FundraiserID: f.ID, IdempotencyKey: "k", Amount: 5, Currency: "EUR", Provider: "sandbox",
		Status: store.DonationPending, ProviderRef: "ref",
	})
	if err != nil {
		t.Fatal(err)
	}
	// key, amount, status, provider ref, settled_at
	insertDonation := `INSERT INTO donations (id, fundraiser_id, idempotency_key, amount, currency, name, message,
		public_message, anonymous, status, provider, provider_ref, created_at, settled_at)
		VALUES ('d_x', '` + f.ID + `', '%s', %d, 'EUR', '', '', '', 0, '%s', 'sandbox', '%s', 0, %s)`
	if _, err := s.write.ExecContext(ctx, fmt.Sprintf(insertDonation, "k2", 1, "pending", "", "NULL")+
		`; DELETE FROM donations WHERE id = 'd_x'`); err != nil {
		t.Fatalf("the valid donation the cases below vary: %v", err)
	}
	for name, stmt := range map[string]string{
		"zero donation":                  fmt.Sprintf(insertDonation, "k2", 0, "pending", "", "NULL"),
		"unknown donation status":        fmt.Sprintf(insertDonation, "k2", 1, "paid", "", "0"),
		"pending with a settlement time": fmt.Sprintf(insertDonation, "k2", 1, "pending", "", "0"),
		"settled without a time":         fmt.Sprintf(insertDonation, "k2", 1, "succeeded", "", "NULL"),
		"provider ref in use":            fmt.Sprintf(insertDonation, "k2", 1, "pending", "ref", "NULL"),
		"idempotency key in use":         fmt.Sprintf(insertDonation, "k", 1, "pending", "", "NULL"),
		"refunded without a time":        `UPDATE donations SET status = 'refunded', settled_at = 0 WHERE id = '` + d.ID + `'`,
		"negative total":                 `UPDATE fundraisers SET raised = -1 WHERE id = '` + f.ID + `'`,
		"negative slow mode":             `UPDATE fundraisers SET slow_mode_seconds = -1 WHERE id = '` + f.ID + `'`,
		"donation to no fundraiser":      `UPDATE donations SET fundraiser_id = 'f_missing' WHERE id = '` + d.ID + `'`,
		"empty donor":                    `INSERT INTO donors VALUES ('` + f.ID + `', 'd:x', 'n', 0, 1)`,
		"unknown broadcaster": `INSERT INTO fundraisers (id, broadcaster_id, nonprofit_id, title, goal_amount, currency, stream_key, created_at)
			VALUES ('f_x', 'b_missing', '` + n.ID + `', 't', 1, 'EUR', 'k2', 0)`,
		"unknown nonprofit": `INSERT INTO fundraisers (id, broadcaster_id, nonprofit_id, title, goal_amount, currency, stream_key, created_at)
			VALUES ('f_x', '` + b.ID + `', 'np_missing', 't', 1, 'EUR', 'k2', 0)`,
		"deleting a referenced nonprofit": `DELETE FROM nonprofits WHERE id = '` + n.ID + `'`,
		"unknown status":                  `UPDATE fundraisers SET status = 'paused' WHERE id = '` + f.ID + `'`,
		"negative goal":                   `UPDATE fundraisers SET goal_amount = -1 WHERE id = '` + f.ID + `'`,
		"text in an integer column":       `UPDATE fundraisers SET goal_amount = 'lots' WHERE id = '` + f.ID + `'`,
		"verified without a time":         `UPDATE nonprofits SET verified_at = NULL WHERE id = '` + n.ID + `'`,
	} {
		if _, err := s.write.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s: statement succeeded, want a constraint error", name)
		}
	}

	// The read pool cannot write.
	if _, err := s.read.ExecContext(ctx, `DELETE FROM sessions`); err == nil {
		t.Error("write through the read pool succeeded")
	}
}

// TestSecretIsBlob checks that secrets round-trip as arbitrary bytes.
func TestSecretIsBlob(t *testing.T) {
	s := openTemp(t)
	want := []byte{0, 1, 2, 0xff, 0, 'a'}
	got, err := s.Secret(t.Context(), "k", func() ([]byte, error) { return want, nil })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Secret = %x, want %x", got, want)
	}
}

// BenchmarkCreateSession measures durable inserts: each one is a commit
// that SQLite fsyncs before returning (synchronous=FULL).
func BenchmarkCreateSession(b *testing.B) {
	s := openTemp(b)
	ctx := b.Context()
	for b.Loop() {
		if _, err := s.CreateSession(ctx, "viewer", ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
}
