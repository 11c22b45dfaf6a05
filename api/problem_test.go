package api_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/givelive/givelive/api"
)

// TestProblemShapes: Echo's own errors leave as problem+json too.
func TestProblemShapes(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.MaxBodyBytes = 1024 })
	cases := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"unknown api path", "GET", "/api/v1/nothing", nil, 404},
		{"unknown path", "GET", "/nothing", nil, 404},
		{"unknown fundraiser", "GET", "/api/v1/fundraisers/f_nope", nil, 404},
		{"wrong method", "DELETE", "/api/v1/sessions", nil, 405},
		{"wrong method on a record", "PUT", "/api/v1/fundraisers/f_1", nil, 405},
		{"body too large", "POST", "/api/v1/sessions", `{"name":"` + strings.Repeat("a", 2000) + `"}`, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, "", tc.body)
			p := r.problem(t, tc.status)
			if p.Instance != tc.path {
				t.Errorf("instance %q, want %q", p.Instance, tc.path)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if tc.status == 413 && !strings.Contains(p.Detail, "1024 bytes") {
				t.Errorf("413 detail %q does not name the limit", p.Detail)
			}
		})
	}
}

// TestBodyLimitChunked: the limit holds without a Content-Length too.
func TestBodyLimitChunked(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.MaxBodyBytes = 1024 })
	big := `{"name":"` + strings.Repeat("a", 4000) + `"}`
	req := strings.NewReader(big)
	res, err := e.ts.Client().Post(e.ts.URL+"/api/v1/sessions", "application/json", struct{ *strings.Reader }{req})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 413 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.RateLimit = api.RateLimit{PerSecond: 0.01, Burst: 3} })
	for range 3 {
		e.do(t, "GET", "/api/v1/nonprofits", "", nil).want(t, 200)
	}
	r := e.do(t, "GET", "/api/v1/nonprofits", "", nil)
	p := r.problem(t, 429)
	if p.Type != "urn:givelive:problem:rate-limited" {
		t.Errorf("type %q", p.Type)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 100 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Health, metrics and the WebSocket mount are not limited.
	for range 5 {
		e.do(t, "GET", "/healthz", "", nil).want(t, 200)
	}
}

// TestRateLimitTrustProxy: behind a trusted proxy each forwarded client has
// its own bucket; otherwise X-Forwarded-For is ignored.
func TestRateLimitTrustProxy(t *testing.T) {
	for _, trust := range []bool{false, true} {
		e := newEnv(t, func(c *api.Config) {
			c.RateLimit = api.RateLimit{PerSecond: 0.01, Burst: 1}
			c.TrustProxy = trust
		})
		e.do(t, "GET", "/api/v1/nonprofits", "", nil, "X-Forwarded-For", "203.0.113.1").want(t, 200)
		want := 429
		if trust {
			want = 200
		}
		e.do(t, "GET", "/api/v1/nonprofits", "", nil, "X-Forwarded-For", "203.0.113.2").want(t, want)
	}
}

func TestPanicIsProblem(t *testing.T) {
	e := newEnv(t)
	e.store.setPanic("ListNonprofits")
	p := e.do(t, "GET", "/api/v1/nonprofits", "", nil).problem(t, 500)
	if strings.Contains(p.Detail, "panic") {
		t.Errorf("the panic leaked into the detail: %q", p.Detail)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "panic serving request") || !strings.Contains(logs, "goroutine") || !strings.Contains(logs, p.RequestID) {
		t.Errorf("the panic was not logged with its stack and request id:\n%s", logs)
	}
	e.store.setPanic("")
	e.do(t, "GET", "/api/v1/nonprofits", "", nil).want(t, 200)
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/api/v1/fundraisers/f_nope", "", nil, "X-Request-Id", "client-id.42")
	if p := r.problem(t, 404); p.RequestID != "client-id.42" {
		t.Errorf("request_id %q", p.RequestID)
	}
	if !strings.Contains(e.logs.String(), "request_id=client-id.42") {
		t.Error("the request id is not in the log")
	}
	// Ids that could forge log lines or bloat them are replaced.
	for _, bad := range []string{"two words", strings.Repeat("a", 65), "a\"b"} {
		r := e.do(t, "GET", "/healthz", "", nil, "X-Request-Id", bad)
		if got := r.header.Get("X-Request-Id"); got == bad || got == "" {
			t.Errorf("X-Request-Id %q echoed as %q", bad, got)
		}
	}
	// Successful responses carry one too.
	if e.do(t, "GET", "/healthz", "", nil).header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on a 200")
	}
}
