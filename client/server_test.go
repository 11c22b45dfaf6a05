package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/client"
	"github.com/givelive/givelive/client/apiclient"
	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/moderation"
	"github.com/givelive/givelive/internal/outbox"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/sqlite"
)

// The tests run the real thing in process, wired as cmd/givelive wires it:
// the SQLite ledger, tokens, the sandbox money path, the outbox dispatcher,
// the hub and the API, on a loopback port. Only the hub can be swapped
// (stopHub, startHub) to play a server restart.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	adminToken = "test-admin-token-0123456789abcdef"
	// waitFor bounds every wait: generous, it only decides when a broken
	// test gives up.
	waitFor = 10 * time.Second
)

// server is GiveLive on loopback.
type server struct {
	URL       string
	admin     *client.API
	ledger    *sqlite.Store
	donations *donation.Service
	clock     *clock
	tokens    *auth.Service
	policy    *moderation.Policy
	dials     atomic.Int64 // WebSocket handshakes received

	mu     sync.Mutex
	hub    *hub.Hub
	broker *hub.MemoryBroker
}

// clock is the token service's clock, which tests move forward.
type clock struct{ skew atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *clock) Advance(d time.Duration) { c.skew.Add(int64(d)) }

func startServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	s := &server{clock: &clock{}}
	var err error
	s.ledger, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatalf("open ledger: %v", err)
	}
	t.Cleanup(func() { _ = s.ledger.Close() })
	s.tokens, err = auth.New(auth.Config{AdminToken: adminToken, Store: s.ledger, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.policy = moderation.NewPolicy(s.ledger, 0)
	var dispatcher *outbox.Dispatcher
	s.donations, err = donation.New(donation.Config{
		Store:    s.ledger,
		Provider: payment.Sandbox{},
		Policy:   s.policy,
		Notify:   func() { dispatcher.Notify() },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.broker = hub.NewMemoryBroker(hub.MemoryConfig{})
	s.hub = s.newHub(t, s.broker)

	dispatcher, err = outbox.New(outbox.Config{
		Ledger: s.ledger,
		Publisher: outbox.PublisherFunc(func(ctx context.Context, room, typ string, data json.RawMessage) error {
			_, err := s.currentHub().Publish(ctx, room, typ, data)
			return err
		}),
		Poll: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	dctx, stop := context.WithCancel(ctx)
	dispatched := make(chan struct{})
	go func() { defer close(dispatched); dispatcher.Run(dctx) }()
	t.Cleanup(func() { stop(); <-dispatched })

	srv, err := api.New(api.Config{
		Store:     s.ledger,
		Donations: s.donations,
		Auth:      s.tokens,
		Rooms:     rooms{s},
		WebSocket: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.dials.Add(1)
			s.currentHub().ServeHTTP(w, r)
		}),
		RateLimit: api.RateLimit{Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = s.currentHub().Shutdown(ctx)
	})
	s.URL = ts.URL
	s.admin, err = client.NewAPI(ts.URL, &client.APIOptions{Token: adminToken, HTTPClient: ts.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *server) newHub(t *testing.T, broker *hub.MemoryBroker) *hub.Hub {
	t.Helper()
	h, err := hub.New(hub.Config{
		Broker:         broker,
		Auth:           hubAuth{s.tokens},
		Rooms:          roomDirectory{s.ledger},
		Donors:         s.donations,
		Policy:         s.policy,
		ViewerInterval: time.Hour, // no viewer counts between the events under test
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (s *server) currentHub() *hub.Hub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hub
}

// stopHub drains the hub as SIGTERM does: its WebSockets close with 1001,
// and new handshakes get 503 until startHub. Publications still reach the
// broker's history.
func (s *server) stopHub(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := s.currentHub().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// startHub replaces the stopped hub with a new one: over the same broker
// (the rooms' history survives, so clients resume), or over a new one (new
// epochs: clients fall back to snapshots).
func (s *server) startHub(t *testing.T, keepHistory bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !keepHistory {
		s.broker = hub.NewMemoryBroker(hub.MemoryConfig{})
	}
	s.hub = s.newHub(t, s.broker)
}

// position returns the room's position in the current broker.
func (s *server) position(t *testing.T, room string) wire.Position {
	t.Helper()
	pos, err := s.currentHub().Position(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

// waitPosition waits until the room's stream reaches offset: the outbox
// has published what the ledger committed.
func (s *server) waitPosition(t *testing.T, room string, offset uint64) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for s.position(t, room).Offset < offset {
		if time.Now().After(deadline) {
			t.Fatalf("room %s stuck at %+v, want offset %d", room, s.position(t, room), offset)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// publish sends an event to a room straight through the hub, as the
// outbox does.
func (s *server) publish(t *testing.T, room, typ string, data any) {
	t.Helper()
	if _, err := s.currentHub().Publish(context.Background(), room, typ, data); err != nil {
		t.Fatal(err)
	}
}

// fundraiser creates a verified nonprofit, a broadcaster and a fundraiser
// with a USD goal, and returns the fundraiser id and the owner's token.
func (s *server) fundraiser(t *testing.T) (id, ownerToken string) {
	t.Helper()
	ctx := t.Context()
	np, err := s.admin.CreateNonprofit(ctx, client.NonprofitRequest{Name: "Water for All", RegistrationId: "1234567", Country: "GB"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.VerifyNonprofit(ctx, np.Id); err != nil {
		t.Fatal(err)
	}
	b, err := s.admin.CreateBroadcaster(ctx, "Streamer")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.admin.WithToken(b.Token).CreateFundraiser(ctx, client.FundraiserRequest{
		Title: "Speedruns for water", NonprofitId: np.Id,
		Goal: apiclient.Goal{Amount: 500000, Currency: apiclient.CurrencyUSD},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f.Id, b.Token
}

// viewer starts a viewer session and returns its token and user id.
func (s *server) viewer(t *testing.T, name string) (token, userID string) {
	t.Helper()
	sess, err := s.admin.WithToken("").CreateSession(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return sess.Token, sess.User.Id
}

// donate gives amount to the fundraiser and returns the donation id.
func (s *server) donate(t *testing.T, fundraiser string, amount int64, name string) string {
	t.Helper()
	r, err := s.admin.WithToken("").Donate(t.Context(), fundraiser, client.DonationRequest{Amount: amount, Currency: "USD", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return r.Id
}

// dial connects a client with short backoffs; cleanup closes it.
func dial(t *testing.T, url, token string, edit ...func(*client.Options)) *client.Conn {
	t.Helper()
	opts := &client.Options{
		Token:      token,
		BackoffMin: 10 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond,
		Logger:     testLogger(t),
	}
	for _, f := range edit {
		f(opts)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	c, err := client.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func subscribe(t *testing.T, c *client.Conn, room string) *client.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	sub, err := c.Subscribe(ctx, room)
	if err != nil {
		t.Fatalf("subscribe %s: %v", room, err)
	}
	return sub
}

// next returns the subscription's next event, skipping viewer counts.
func next(t *testing.T, sub *client.Subscription) client.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("next event of %s: %v", sub.Room(), err)
		}
		if ev.Type != wire.TypeViewers {
			return ev
		}
	}
}

// nextOf returns the next event, which must be of type typ, with its data.
func nextOf[T any](t *testing.T, sub *client.Subscription, typ string) (client.Event, T) {
	t.Helper()
	ev := next(t, sub)
	if ev.Type != typ {
		t.Fatalf("got %s event (%s), want %s", ev.Type, ev.Raw, typ)
	}
	data, ok := ev.Data.(T)
	if !ok {
		t.Fatalf("%s event data is %T, want %T", typ, ev.Data, data)
	}
	return ev, data
}

// testLogger logs through t, until the test ends.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("client: %s", p)
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

// hubAuth lets the hub accept the API's tokens.
type hubAuth struct{ tokens *auth.Service }

func (a hubAuth) Authenticate(ctx context.Context, token string) (hub.Identity, error) {
	p, err := a.tokens.Authenticate(ctx, token)
	if err != nil {
		return hub.Identity{}, err
	}
	switch p.Kind {
	case auth.Viewer:
		return hub.Identity{UserID: p.ID, Name: p.Name, ExpiresAt: p.ExpiresAt}, nil
	case auth.Broadcaster:
		return hub.Identity{UserID: p.ID, Name: p.Name, Broadcaster: true}, nil
	}
	return hub.Identity{}, fmt.Errorf("token kind %v cannot connect", p.Kind)
}

// roomDirectory: a room per fundraiser.
type roomDirectory struct{ ledger store.Store }

func (d roomDirectory) Room(ctx context.Context, room string) (hub.RoomInfo, error) {
	f, err := d.ledger.GetFundraiser(ctx, room)
	if errors.Is(err, store.ErrNotFound) {
		return hub.RoomInfo{}, hub.ErrRoomNotFound
	}
	if err != nil {
		return hub.RoomInfo{}, err
	}
	return hub.RoomInfo{OwnerID: f.BroadcasterID}, nil
}

// rooms gives snapshots the current hub's positions.
type rooms struct{ s *server }

func (r rooms) Position(ctx context.Context, room string) (wire.Position, error) {
	return r.s.currentHub().Position(ctx, room)
}

// proxy is a TCP relay in front of the server whose connections can be
// cut without a close frame, as a dead network would (1006).
type proxy struct {
	URL     string
	ln      net.Listener
	backend string
	down    atomic.Bool // refuse new connections

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, backendURL string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{URL: "http://" + ln.Addr().String(), ln: ln, backend: backendURL[len("http://"):], conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			_ = in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.backend)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// cut drops every connection at once.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // reset, not a graceful FIN
		}
		_ = c.Close()
	}
}

// states records a Conn's state changes.
type states struct {
	mu  sync.Mutex
	log []client.State
	ch  chan client.State
}

func newStates() *states { return &states{ch: make(chan client.State, 64)} }

func (s *states) record(st client.State, _ error) {
	s.mu.Lock()
	s.log = append(s.log, st)
	s.mu.Unlock()
	select {
	case s.ch <- st:
	default:
	}
}

// wait waits for the Conn to reach st.
func (s *states) wait(t *testing.T, st client.State) {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case got := <-s.ch:
			if got == st {
				return
			}
		case <-timeout:
			t.Fatalf("state %v not reached; went through %v", st, s.all())
		}
	}
}

func (s *states) all() []client.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]client.State(nil), s.log...)
}

// bearer adds a token to a call of the generated client.
func bearer(token string) apiclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}
