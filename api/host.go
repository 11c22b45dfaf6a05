package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/givelive/givelive/hub"
)

// HostGuard wraps the server's whole handler (the web app, HLS and the
// WebSocket included) so that, when Config.PublicURL is set, a request
// naming another host is refused with 421 before anything sees it. Without
// that, the Host header a client sends would shape the URLs and security
// policies the server hands out, and DNS rebinding would let a page on any
// site reach /ws and the API as if it were same-origin. Behind a trusted
// proxy the forwarded host is the one checked. Health checks and metrics
// answer whatever the host: probes and scrapers address a node by its own
// address. Without a public URL every host is served.
func (s *Server) HostGuard(next http.Handler) http.Handler {
	want := s.origin.publicHost
	if want == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if s.origin.trustProxy {
			if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
				host = h
			}
		}
		if !strings.EqualFold(hostOnly(host), want) {
			s.refuseHost(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuseHost answers 421 Misdirected Request with a problem document.
func (s *Server) refuseHost(w http.ResponseWriter, r *http.Request) {
	const status = http.StatusMisdirectedRequest
	detail := "This server answers only for " + s.origin.publicHost + "."
	instance := r.URL.Path
	b, _ := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: &detail, Instance: &instance})
	w.Header().Set("Content-Type", contentTypeProblem)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// webSocket hands /ws to the hub with the client's address as this server
// sees it (behind a trusted proxy, the forwarded one), which the hub counts
// open WebSockets by.
func (s *Server) webSocket(c echo.Context) error {
	r := c.Request()
	s.cfg.WebSocket.ServeHTTP(c.Response(), r.WithContext(hub.WithClientAddr(r.Context(), c.RealIP())))
	return nil
}
