package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/store/sqlite"
)

const admin = "admin-token-for-tests-0123456789"

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

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newService(t *testing.T, st store.Store, c *clock) *auth.Service {
	t.Helper()
	s, err := auth.New(auth.Config{AdminToken: admin, Store: st, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func setup(t *testing.T) (*auth.Service, *sqlite.Store, *clock) {
	t.Helper()
	st := openStore(t)
	c := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	return newService(t, st, c), st, c
}

func wantInvalid(t *testing.T, s *auth.Service, token string) error {
	t.Helper()
	p, err := s.Authenticate(context.Background(), token)
	if !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("token %.20q: got %+v, %v; want ErrInvalidToken", token, p, err)
	}
	return err
}

func TestNewNeedsStore(t *testing.T) {
	if _, err := auth.New(auth.Config{}); err == nil {
		t.Error("New without a store succeeded")
	}
}

func TestAdmin(t *testing.T) {
	s, st, c := setup(t)
	p, err := s.Authenticate(context.Background(), admin)
	if err != nil || p.Kind != auth.Admin || !p.ExpiresAt.IsZero() {
		t.Fatalf("admin: %+v, %v", p, err)
	}
	wantInvalid(t, s, admin+"x")
	wantInvalid(t, s, admin[:len(admin)-1])
	wantInvalid(t, s, "")

	// Without an admin token configured, nothing is admin.
	noAdmin, err := auth.New(auth.Config{Store: st, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, noAdmin, admin)
}

func TestBroadcasterToken(t *testing.T) {
	s, st, _ := setup(t)
	ctx := context.Background()
	b, token, err := s.CreateBroadcaster(ctx, "Streamer")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^glb_[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Errorf("token format %q", token)
	}
	p, err := s.Authenticate(ctx, token)
	if err != nil || p != (auth.Principal{Kind: auth.Broadcaster, ID: b.ID, Name: "Streamer"}) {
		t.Fatalf("broadcaster: %+v, %v", p, err)
	}
	// The ledger holds the hash, found by hash.
	got, err := st.BroadcasterByTokenHash(ctx, auth.HashToken(token))
	if err != nil || got.ID != b.ID {
		t.Errorf("by hash: %+v, %v", got, err)
	}
	// One character off, too short, unknown: all invalid.
	flipped := token[:10] + string(rune(token[10])^1) + token[11:]
	wantInvalid(t, s, flipped)
	wantInvalid(t, s, token[:len(token)-1])
	other, err := auth.NewBroadcasterToken()
	if err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, s, other)
	if other == token {
		t.Error("two tokens are equal")
	}
}

func TestViewerToken(t *testing.T) {
	s, _, c := setup(t)
	token, exp, err := s.IssueViewerToken("u_1", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	if want := c.Now().Add(auth.DefaultViewerTTL); !exp.Equal(want) {
		t.Errorf("expires %v, want %v", exp, want)
	}
	p, err := s.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != auth.Viewer || p.ID != "u_1" || p.Name != "Ada" || !p.ExpiresAt.Equal(exp) {
		t.Errorf("viewer: %+v", p)
	}
	// The claims are the contract's.
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"iss": "givelive", "aud": []any{"viewer"}, "sub": "u_1", "name": "Ada"} {
		if !equalJSON(claims[k], want) {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if _, ok := claims["iat"]; !ok {
		t.Error("no iat")
	}
}

func equalJSON(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestViewerExpiry(t *testing.T) {
	s, _, c := setup(t)
	token, _, err := s.IssueViewerToken("u_1", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(auth.DefaultViewerTTL + 20*time.Second) // within the leeway
	if _, err := s.Authenticate(context.Background(), token); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	c.Advance(15 * time.Second)
	err = wantInvalid(t, s, token)
	if !auth.Expired(err) {
		t.Errorf("Expired(%v) is false", err)
	}
}

func TestViewerTTL(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	s, err := auth.New(auth.Config{Store: st, ViewerTTL: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, exp, err := s.IssueViewerToken("u_1", "Ada")
	if err != nil || !exp.Equal(c.Now().Add(time.Hour)) {
		t.Errorf("exp %v, %v", exp, err)
	}
}

// TestForgedViewerTokens: tampering, other algorithms, other keys, and
// claims for another purpose are all refused.
func TestForgedViewerTokens(t *testing.T) {
	s, st, c := setup(t)
	ctx := context.Background()
	key, err := st.Secret(ctx, "jwt-hs256", func() ([]byte, error) { return nil, errors.New("must exist") })
	if err != nil {
		t.Fatal(err)
	}
	good, _, err := s.IssueViewerToken("u_1", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	now := c.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		m := jwt.MapClaims{
			"iss": "givelive", "aud": []string{"viewer"}, "sub": "u_1", "name": "Ada",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		edit(m)
		return m
	}
	sign := func(m jwt.SigningMethod, c jwt.MapClaims, k any) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(m, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// A well-formed token signed here is accepted, so the cases below
	// fail for the reason they name.
	if _, err := s.Authenticate(ctx, sign(jwt.SigningMethodHS256, claims(func(jwt.MapClaims) {}), key)); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	parts := strings.Split(good, ".")
	adminPayload := sign(jwt.SigningMethodHS256, claims(func(m jwt.MapClaims) { m["name"] = "Admin" }), key)
	cases := map[string]string{
		"payload swapped":   parts[0] + "." + strings.Split(adminPayload, ".")[1] + "." + parts[2],
		"signature flipped": parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"no signature":      parts[0] + "." + parts[1] + ".",
		"alg none":          sign(jwt.SigningMethodNone, claims(func(jwt.MapClaims) {}), jwt.UnsafeAllowNoneSignatureType),
		"HS384":             sign(jwt.SigningMethodHS384, claims(func(jwt.MapClaims) {}), key),
		"other key":         sign(jwt.SigningMethodHS256, claims(func(jwt.MapClaims) {}), []byte(strings.Repeat("k", 32))),
		"other audience":    sign(jwt.SigningMethodHS256, claims(func(m jwt.MapClaims) { m["aud"] = "admin" }), key),
		"other issuer":      sign(jwt.SigningMethodHS256, claims(func(m jwt.MapClaims) { m["iss"] = "evil" }), key),
		"no expiry":         sign(jwt.SigningMethodHS256, claims(func(m jwt.MapClaims) { delete(m, "exp") }), key),
		"issued in future":  sign(jwt.SigningMethodHS256, claims(func(m jwt.MapClaims) { m["iat"] = now.Add(time.Hour).Unix() }), key),
		"no subject":        sign(jwt.SigningMethodHS256, claims(func(m jwt.MapClaims) { delete(m, "sub") }), key),
		"garbage":           "a.b.c",
		"huge":              strings.Repeat("a", 5000),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) { wantInvalid(t, s, tok) })
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// TestKeyShared: services on one ledger (nodes of a cluster) share the key.
func TestKeyShared(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now()}
	a, b := newService(t, st, c), newService(t, st, c)
	token, _, err := a.IssueViewerToken("u_1", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(context.Background(), token); err != nil {
		t.Errorf("the other node refused the token: %v", err)
	}
	// A different ledger has a different key.
	wantInvalid(t, newService(t, openStore(t), c), token)
}

func TestLedgerFailureIsNotInvalidToken(t *testing.T) {
	s, st, _ := setup(t)
	token, err := auth.NewBroadcasterToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(context.Background(), token)
	if err == nil || errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("a ledger failure reported as %v", err)
	}
}

func TestStreamKey(t *testing.T) {
	k1, err1 := auth.NewStreamKey()
	k2, err2 := auth.NewStreamKey()
	if err1 != nil || err2 != nil || k1 == k2 || !regexp.MustCompile(`^sk_[A-Za-z0-9_-]{43}$`).MatchString(k1) {
		t.Errorf("stream keys %q %q", k1, k2)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[auth.Kind]string{
		auth.Anonymous: "anonymous", auth.Admin: "admin", auth.Broadcaster: "broadcaster", auth.Viewer: "viewer", 99: "unknown",
	} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
}

// serve runs one request through mw and reports the status and the
// principal the handler saw.
func serve(mw echo.MiddlewareFunc, header string) (int, http.Header, auth.Principal) {
	e := echo.New()
	var seen auth.Principal
	h := mw(func(c echo.Context) error {
		seen = auth.FromContext(c.Request().Context())
		return c.NoContent(http.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	c := e.NewContext(req, rec)
	if err := h(c); err != nil {
		e.DefaultHTTPErrorHandler(err, c)
	}
	return rec.Code, rec.Header(), seen
}

func TestMiddleware(t *testing.T) {
	s, _, _ := setup(t)
	b, bToken, err := s.CreateBroadcaster(context.Background(), "Owner")
	if err != nil {
		t.Fatal(err)
	}
	viewer, _, err := s.IssueViewerToken("u_1", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	owner := func(echo.Context) (string, error) { return b.ID, nil }
	requireThenOwner := func(allowAdmin bool) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return s.Require(auth.Broadcaster, auth.Admin)(auth.RequireOwner(owner, allowAdmin)(next))
		}
	}
	cases := []struct {
		name   string
		mw     echo.MiddlewareFunc
		header string
		status int
		kind   auth.Kind
	}{
		{"require none", s.Require(auth.Admin), "", 401, 0},
		{"require bad", s.Require(auth.Admin), "Bearer nope", 401, 0},
		{"require wrong kind", s.Require(auth.Admin), "Bearer " + viewer, 403, 0},
		{"require ok", s.Require(auth.Admin), "Bearer " + admin, 204, auth.Admin},
		{"optional none", s.Optional(), "", 204, auth.Anonymous},
		{"optional viewer", s.Optional(), "Bearer " + viewer, 204, auth.Viewer},
		{"optional bad", s.Optional(), "Bearer nope", 401, 0},
		{"owner", requireThenOwner(false), "Bearer " + bToken, 204, auth.Broadcaster},
		{"admin not owner", requireThenOwner(false), "Bearer " + admin, 403, 0},
		{"admin allowed", requireThenOwner(true), "Bearer " + admin, 204, auth.Admin},
		{"owner check alone", auth.RequireOwner(owner, true), "Bearer " + bToken, 401, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, p := serve(tc.mw, tc.header)
			if status != tc.status || p.Kind != tc.kind {
				t.Errorf("status %d kind %v, want %d %v", status, p.Kind, tc.status, tc.kind)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 challenge %q", h.Get("WWW-Authenticate"))
			}
		})
	}

	// Another broadcaster is refused by the owner check.
	_, other, err := s.CreateBroadcaster(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := serve(requireThenOwner(true), "Bearer "+other); status != 403 {
		t.Errorf("other broadcaster: %d", status)
	}
}
