package api_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// testWait bounds a test's wait for an answer; only a broken server
// reaches it.
const testWait = 20 * time.Second

// A body that trickles in is cut off with 408 once the request timeout has
// passed (found: 10 bytes of a declared 1,000 held a request for minutes).
func TestTricklingBodyGets408(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.RequestTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The test's own limit: far beyond the request timeout, so only a
	// server that never answers fails here.
	_ = conn.SetDeadline(time.Now().Add(testWait))
	_, err = conn.Write([]byte("POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: 1000\r\n\r\n{\"name\":\"A"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickling body: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s), want a 408 problem", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if e.store.writeCount() != 0 {
		t.Fatal("a cut-off request recorded something")
	}
}

// A slow but steady body within the timeout is read as usual, and the next
// request on the same connection is not cut short by the first one's
// deadline.
func TestBodyWithinTimeoutAndKeepAlive(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.RequestTimeout = 2 * time.Second })
	for range 3 {
		e.do(t, "POST", "/api/v1/sessions", "", map[string]any{"name": "Ada"}).want(t, 201)
	}
}

// Display names are cleaned like chat text; names with nothing visible and
// the name the platform's own chat identity uses are refused (found: bidi
// overrides, zero-width and no-break-space-only names and "GiveLive" were
// accepted).
func TestSessionNamesAreCleaned(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ in, want string }{
		{"Ada\u202eevil", "Adaevil"},
		{"\u2067Bo\u2069", "Bo"},
		{"Cy\u200bd", "Cyd"},
		{"  Di   Ng  ", "Di Ng"},
		{"Eve 👩\u200d💻", "Eve 👩\u200d💻"},
	} {
		var s struct {
			User struct{ Name string }
		}
		e.do(t, "POST", "/api/v1/sessions", "", map[string]any{"name": tc.in}).want(t, 201).json(t, &s)
		if s.User.Name != tc.want {
			t.Errorf("name %q became %q, want %q", tc.in, s.User.Name, tc.want)
		}
	}
	for _, name := range []string{"\u200b\u200b", "\u00a0\u00a0", "\u3164", "\u202e\u202c", "\u2800",
		"GiveLive", "givelive", " GIVELIVE ", "Give Live", "Give\u200dLive", "GiveLive\u200b"} {
		p := e.do(t, "POST", "/api/v1/sessions", "", map[string]any{"name": name}).problem(t, http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "name" {
			t.Errorf("name %q: problem %+v, want one error on name", name, p)
		}
	}
	if n := e.store.writeCount(); n != 5 {
		t.Fatalf("%d sessions recorded, want the 5 accepted", n)
	}
}

// With a public URL, requests naming another host are refused before any
// route sees them (found: the Host header shaped derived URLs and let DNS
// rebinding reach /ws); health checks and metrics answer whatever the host.
func TestOtherHostsRefusedWithPublicURL(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.PublicURL = "https://live.example.org" })
	guarded := e.srv.HostGuard(e.srv.Handler())
	cases := []struct {
		host, path string
		status     int
	}{
		{"live.example.org", "/api/v1/nonprofits", 200},
		{"LIVE.example.org:443", "/api/v1/nonprofits", 200},
		{"evil.example", "/api/v1/nonprofits", http.StatusMisdirectedRequest},
		{"evil.example", "/ws", http.StatusMisdirectedRequest},
		{"evil.example", "/f/f_1", http.StatusMisdirectedRequest},
		{"127.0.0.1:8080", "/api/v1/nonprofits", http.StatusMisdirectedRequest},
		{"10.0.0.7:8080", "/healthz", 200},
		{"10.0.0.7:8080", "/metrics", 200},
	}
	for _, tc := range cases {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		guarded.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.host, tc.path, rec.Code, tc.status)
		}
		if tc.status == http.StatusMisdirectedRequest && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: refused without a problem document", tc.host, tc.path)
		}
	}
	// Without a public URL every host is served, as before.
	open := newEnv(t)
	req := httptest.NewRequest("GET", "/api/v1/nonprofits", nil)
	req.Host = "anything.example"
	rec := httptest.NewRecorder()
	open.srv.HostGuard(open.srv.Handler()).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("without a public URL: %d", rec.Code)
	}
}

// Behind a trusted proxy, the hub counts open WebSockets by the forwarded
// client address, so viewers behind one proxy do not share one budget.
func TestWebSocketsCountedByForwardedAddress(t *testing.T) {
	h, err := hub.New(hub.Config{MaxConnsPerAddr: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	e := newEnv(t, func(c *api.Config) { c.WebSocket = h; c.TrustProxy = true })
	dial := func(from string) error {
		ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/ws",
			&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}, HTTPHeader: http.Header{"X-Forwarded-For": {from}}})
		if err == nil {
			t.Cleanup(func() { ws.CloseNow() })
		}
		return err
	}
	if err := dial("198.51.100.1"); err != nil {
		t.Fatal(err)
	}
	if err := dial("198.51.100.2"); err != nil {
		t.Fatalf("a second client behind the proxy was refused: %v", err)
	}
	if err := dial("198.51.100.1"); err == nil {
		t.Fatal("a second WebSocket from one forwarded address was accepted")
	}
}
