package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/sqlite"
)

const adminToken = "test-admin-token-0123456789abcdef"

// env is one server on loopback over a fresh SQLite ledger.
type env struct {
	t     *testing.T
	srv   *api.Server
	ts    *httptest.Server
	store *recordingStore
	auth  *auth.Service
	logs  *syncBuffer
	clock *clock
	rooms *fixedRooms
	// donations is the money path over the same ledger, with the sandbox
	// provider unless edit replaced it.
	donations *donation.Service
}

// newEnv starts a server; edit adjusts its Config (rate limit off unless
// edit turns it on).
func newEnv(t testing.TB, edit ...func(*api.Config)) *env {
	t.Helper()
	return newEnvWithDonations(t, nil, edit...)
}

// newEnvWithDonations is newEnv with the donation service's Config
// adjusted by money (nil: the sandbox provider and defaults).
func newEnvWithDonations(t testing.TB, money func(*donation.Config), edit ...func(*api.Config)) *env {
	t.Helper()
	e := &env{logs: &syncBuffer{}, clock: &clock{now: time.Now()}}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatalf("open ledger: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.store = &recordingStore{Store: st}
	e.rooms = &fixedRooms{store: e.store, pos: wire.Position{Epoch: "ep1", Offset: 7}}
	e.auth, err = auth.New(auth.Config{AdminToken: adminToken, Store: e.store, Now: e.clock.Now})
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dcfg := donation.Config{Provider: payment.Sandbox{}}
	if money != nil {
		money(&dcfg)
	}
	e.donations = e.newDonations(t, dcfg, log)
	cfg := api.Config{
		Store:     e.store,
		Donations: e.donations,
		Auth:      e.auth,
		Rooms:     e.rooms,
		Logger:    log,
		RateLimit: api.RateLimit{Disabled: true},
	}
	for _, f := range edit {
		f(&cfg)
	}
	e.donations = cfg.Donations
	e.srv, err = api.New(cfg)
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

// newDonations builds a donation service over the env's ledger from cfg
// (its Store is set here).
func (e *env) newDonations(t testing.TB, cfg donation.Config, log *slog.Logger) *donation.Service {
	t.Helper()
	cfg.Store = e.store
	cfg.Logger = log
	d, err := donation.New(cfg)
	if err != nil {
		t.Fatalf("donation.New: %v", err)
	}
	return d
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// problemDoc is a problem+json body as a client sees it.
type problemDoc struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Checks map[string]string `json:"checks"`
}

// do sends a request. body is sent as is when it is a string, else as JSON;
// nil sends none.
func (e *env) do(t testing.TB, method, path, token string, body any, headers ...string) response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// json decodes the body into v, failing the test if it cannot.
func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem checks that r is a well-formed problem with status and returns it.
func (r response) problem(t testing.TB, status int) problemDoc {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.body)
	}
	var p problemDoc
	r.json(t, &p)
	if p.Status != status || p.Title == "" || p.Type == "" || p.Detail == "" || p.Instance == "" {
		t.Fatalf("incomplete problem: %s", r.body)
	}
	if p.RequestID == "" || p.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("problem request_id %q, header %q", p.RequestID, r.header.Get("X-Request-Id"))
	}
	return p
}

// want fails the test unless r has status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// Fixtures.

func (e *env) nonprofit(t testing.TB, verified bool) string {
	t.Helper()
	var n struct{ ID string }
	e.do(t, "POST", "/api/v1/nonprofits", adminToken, map[string]any{
		"name": "Water for All", "registration_id": "1234567", "country": "GB",
	}).want(t, 201).json(t, &n)
	if verified {
		e.do(t, "POST", "/api/v1/nonprofits/"+n.ID+"/verify", adminToken, nil).want(t, 200)
	}
	return n.ID
}

func (e *env) broadcaster(t testing.TB, name string) (id, token string) {
	t.Helper()
	var b struct{ ID, Token string }
	e.do(t, "POST", "/api/v1/broadcasters", adminToken, map[string]any{"name": name}).want(t, 201).json(t, &b)
	return b.ID, b.Token
}

type createdFundraiser struct {
	ID        string `json:"id"`
	StreamKey string `json:"stream_key"`
	IngestURL string `json:"ingest_url"`
	Status    string `json:"status"`
}

func (e *env) fundraiser(t testing.TB, token, nonprofitID string) createdFundraiser {
	t.Helper()
	var f createdFundraiser
	e.do(t, "POST", "/api/v1/fundraisers", token, map[string]any{
		"title": "Speedruns for water", "nonprofit_id": nonprofitID,
		"goal": map[string]any{"amount": 500000, "currency": "USD"},
	}).want(t, 201).json(t, &f)
	return f
}

func (e *env) viewer(t testing.TB, name string) string {
	t.Helper()
	var s struct{ Token string }
	e.do(t, "POST", "/api/v1/sessions", "", map[string]any{"name": name}).want(t, 201).json(t, &s)
	return s.Token
}

// recordingStore is the real ledger with a record of the calls that
// matter to the tests: writes (to prove a refused request recorded
// nothing) and the order of snapshot reads. panicOn makes a method panic.
type recordingStore struct {
	store.Store

	mu      sync.Mutex
	writes  int
	calls   []string
	panicOn string
}

func (s *recordingStore) note(call string, write bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if write {
		s.writes++
	}
	s.calls = append(s.calls, call)
	if s.panicOn == call {
		panic("test panic in " + call)
	}
}

func (s *recordingStore) writeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (s *recordingStore) takeCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func (s *recordingStore) setPanic(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.panicOn = call
}

func (s *recordingStore) CreateNonprofit(ctx context.Context, n store.NewNonprofit) (store.Nonprofit, error) {
	s.note("CreateNonprofit", true)
	return s.Store.CreateNonprofit(ctx, n)
}

func (s *recordingStore) VerifyNonprofit(ctx context.Context, id string) (store.Nonprofit, error) {
	s.note("VerifyNonprofit", true)
	return s.Store.VerifyNonprofit(ctx, id)
}

func (s *recordingStore) ListNonprofits(ctx context.Context, verifiedOnly bool) ([]store.Nonprofit, error) {
	s.note("ListNonprofits", false)
	return s.Store.ListNonprofits(ctx, verifiedOnly)
}

func (s *recordingStore) CreateBroadcaster(ctx context.Context, name string, hash []byte) (store.Broadcaster, error) {
	s.note("CreateBroadcaster", true)
	return s.Store.CreateBroadcaster(ctx, name, hash)
}

func (s *recordingStore) CreateFundraiser(ctx context.Context, f store.NewFundraiser) (store.Fundraiser, error) {
	s.note("CreateFundraiser", true)
	return s.Store.CreateFundraiser(ctx, f)
}

func (s *recordingStore) GetFundraiser(ctx context.Context, id string) (store.Fundraiser, error) {
	s.note("GetFundraiser", false)
	return s.Store.GetFundraiser(ctx, id)
}

func (s *recordingStore) SetFundraiserStatus(ctx context.Context, id, status string) (store.Fundraiser, error) {
	s.note("SetFundraiserStatus", true)
	return s.Store.SetFundraiserStatus(ctx, id, status)
}

// CreateDonation counts as a write only when it recorded one: the ledger
// itself refuses an ended fundraiser, in its transaction.
func (s *recordingStore) CreateDonation(ctx context.Context, d store.NewDonation) (store.Donation, bool, error) {
	don, created, err := s.Store.CreateDonation(ctx, d)
	s.note("CreateDonation", err == nil && created)
	return don, created, err
}

func (s *recordingStore) SetDonationPayment(ctx context.Context, id, ref, secret string) (store.Donation, error) {
	s.note("SetDonationPayment", true)
	return s.Store.SetDonationPayment(ctx, id, ref, secret)
}

func (s *recordingStore) SettleDonation(ctx context.Context, id, status, reason string, ev *store.ProviderEvent) (store.Donation, bool, error) {
	s.note("SettleDonation", true)
	return s.Store.SettleDonation(ctx, id, status, reason, ev)
}

func (s *recordingStore) RefundDonation(ctx context.Context, id string, ev *store.ProviderEvent) (store.Donation, bool, error) {
	s.note("RefundDonation", true)
	return s.Store.RefundDonation(ctx, id, ev)
}

func (s *recordingStore) Enqueue(ctx context.Context, room, typ string, data []byte) error {
	s.note("Enqueue", true)
	return s.Store.Enqueue(ctx, room, typ, data)
}

func (s *recordingStore) CreateSession(ctx context.Context, name, device string) (store.Session, error) {
	s.note("CreateSession", true)
	return s.Store.CreateSession(ctx, name, device)
}

// fixedRooms stands in for the hub, which is not part of this package's
// tests: every room is at pos. It notes its calls in the store's call log
// so tests can check the order of reads.
type fixedRooms struct {
	store *recordingStore
	pos   wire.Position

	mu    sync.Mutex
	err   error
	block bool // wait for the request's deadline
}

func (r *fixedRooms) Position(ctx context.Context, room string) (wire.Position, error) {
	r.store.note("Position", false)
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block {
		<-ctx.Done()
		return wire.Position{}, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos, r.err
}

func (r *fixedRooms) hang() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.block = true
}

func (r *fixedRooms) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// clock is an adjustable time source for token expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
