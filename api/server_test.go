package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/internal/money"
)

func TestSpecServed(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/api/v1/openapi.yaml", "", nil).want(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q", ct)
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatalf("load served spec: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate served spec: %v", err)
	}
	if doc.OpenAPI != "3.0.3" || doc.Paths.Find("/fundraisers/{id}") == nil {
		t.Errorf("unexpected document: openapi %s", doc.OpenAPI)
	}
	// Every currency the API accepts is one donors' messages can name.
	enum := doc.Components.Schemas["Currency"].Value.Enum
	if len(enum) == 0 {
		t.Fatal("the spec lists no currencies")
	}
	for _, c := range enum {
		if code, _ := c.(string); !money.Known(code) {
			t.Errorf("currency %v is accepted but package money cannot write it", c)
		}
	}
}

func TestNewRequiresStoreAndAuth(t *testing.T) {
	e := newEnv(t)
	for _, cfg := range []api.Config{
		{Auth: e.auth},
		{Store: e.store},
		{Store: e.store, Auth: e.auth, PublicURL: "ftp://x"},
		{Store: e.store, Auth: e.auth, PublicURL: "/relative"},
		{Store: e.store, Auth: e.auth, RTMPAddr: "no-port"},
	} {
		if _, err := api.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestHealth(t *testing.T) {
	var readyErr atomic.Pointer[error]
	e := newEnv(t, func(c *api.Config) {
		c.ReadyName = "redis"
		c.Ready = func(context.Context) error {
			if p := readyErr.Load(); p != nil {
				return *p
			}
			return nil
		}
	})
	r := e.do(t, "GET", "/healthz", "", nil).want(t, 200)
	if strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Errorf("healthz body %s", r.body)
	}
	e.do(t, "GET", "/readyz", "", nil).want(t, 200)

	down := errors.New("dial tcp 10.9.8.7:6379: connect: connection refused")
	readyErr.Store(&down)
	p := e.do(t, "GET", "/readyz", "", nil).problem(t, 503)
	if !strings.Contains(p.Detail, "redis unreachable") || p.Checks["redis"] != "unreachable" || p.Checks["ledger"] != "ok" {
		t.Errorf("readyz problem %+v", p)
	}
	if strings.Contains(p.Detail, "10.9.8.7") {
		t.Errorf("readyz shows the failed check's error (it may name hosts): %+v", p)
	}

	readyErr.Store(nil)
	if err := e.store.Store.Close(); err != nil {
		t.Fatal(err)
	}
	p = e.do(t, "GET", "/readyz", "", nil).problem(t, 503)
	if !strings.Contains(p.Detail, "ledger") || p.Checks["ledger"] != "unreachable" {
		t.Errorf("readyz problem %+v", p)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(c *api.Config) { c.Registry = reg })
	e.viewer(t, "Ada")
	e.do(t, "GET", "/api/v1/fundraisers/f_nope", "", nil).want(t, 404)
	e.do(t, "GET", "/this/is/not/a/route", "", nil).want(t, 404)
	body := string(e.do(t, "GET", "/metrics", "", nil).want(t, 200).body)
	for _, want := range []string{
		`givelive_http_requests_total{code="201",method="POST",route="/api/v1/sessions"} 1`,
		`givelive_http_requests_total{code="404",method="GET",route="/api/v1/fundraisers/:id"} 1`,
		`givelive_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`givelive_http_request_duration_seconds_count{route="/api/v1/sessions"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "/this/is/not") || strings.Contains(body, "f_nope") {
		t.Error("a raw path became a label")
	}
	// A second server may share the registry.
	if _, err := api.New(api.Config{Store: e.store, Auth: e.auth, Donations: e.donations, Registry: reg}); err != nil {
		t.Errorf("second server on the same registry: %v", err)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/api/v1/nonprofits", "", nil).want(t, 200)
	for h, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		"Cache-Control":           "no-store",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if r.header.Get("Strict-Transport-Security") != "" || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("HSTS or CORS headers without being configured")
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.CORSOrigins = []string{"https://app.example"} })
	r := e.do(t, "OPTIONS", "/api/v1/sessions", "", nil,
		"Origin", "https://app.example",
		"Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,authorization")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	r = e.do(t, "GET", "/api/v1/nonprofits", "", nil, "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("a foreign origin was allowed")
	}
	r = e.do(t, "GET", "/api/v1/nonprofits", "", nil, "Origin", "https://app.example")
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("simple request: %v", r.header)
	}
}

// TestWebSocketMount: /ws reaches the configured handler without the API's
// body limit, rate limit or API headers.
func TestWebSocketMount(t *testing.T) {
	ws := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Deadline(); ok {
			http.Error(w, "deadline set", 500)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	})
	e := newEnv(t, func(c *api.Config) {
		c.WebSocket = ws
		c.RateLimit = api.RateLimit{PerSecond: 0.01, Burst: 1}
	})
	for range 3 {
		r := e.do(t, "GET", "/ws?token=whatever", "", nil).want(t, http.StatusTeapot)
		if r.header.Get("Content-Security-Policy") != "" {
			t.Error("API headers on /ws")
		}
	}
	// Without a handler /ws is a 404 problem.
	newEnv(t).do(t, "GET", "/ws", "", nil).problem(t, 404)
}

func TestHSTSWithHTTPSPublicURL(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.PublicURL = "https://live.example.org" })
	r := e.do(t, "GET", "/api/v1/nonprofits", "", nil, "X-Forwarded-Proto", "https").want(t, 200)
	if !strings.HasPrefix(r.header.Get("Strict-Transport-Security"), "max-age=31536000") {
		t.Errorf("HSTS %q", r.header.Get("Strict-Transport-Security"))
	}
}

// TestRequestTimeout: a request stuck past RequestTimeout is answered 503.
func TestRequestTimeout(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.RequestTimeout = 50 * time.Millisecond })
	npID := e.nonprofit(t, true)
	_, token := e.broadcaster(t, "B")
	f := e.fundraiser(t, token, npID)
	e.rooms.hang()
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, "", nil).problem(t, 503)
}
