package hub

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// ServeHTTP upgrades a request to a givelive.v1 WebSocket and returns: the
// connection lives on in the hub until it ends. A handshake that does not
// offer the subprotocol is refused with 400; one from an address that has
// MaxConnsPerAddr open with 429; a bad origin with 403 (by the WebSocket
// library); an invalid token is accepted and then closed with 4001 so
// browsers can see why.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.enter() {
		writeProblem(w, http.StatusServiceUnavailable, "Server shutting down", "this node is draining; reconnect to another")
		return
	}
	served := false
	defer func() {
		if !served {
			h.conns.Done()
		}
	}()
	if !offersSubprotocol(r) {
		writeProblem(w, http.StatusBadRequest, "Subprotocol required",
			"offer the WebSocket subprotocol "+wire.Subprotocol+" (Sec-WebSocket-Protocol)")
		return
	}
	addr := addrKey(r)
	if !h.addrs.take(addr, h.cfg.MaxConnsPerAddr) {
		h.metrics.handshakeRefusals.WithLabelValues(refusedPerAddr).Inc()
		w.Header().Set("Retry-After", "10")
		writeProblem(w, http.StatusTooManyRequests, "Too Many Requests",
			"too many open WebSockets from your address; close some, or retry later")
		return
	}
	counted := true
	defer func() {
		if counted {
			h.addrs.release(addr)
		}
	}()
	hj := &hijacker{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		Subprotocols:   []string{wire.Subprotocol},
		OriginPatterns: h.cfg.OriginPatterns,
	})
	if err != nil {
		h.metrics.handshakeFailures.Inc()
		h.log.Debug("websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return // Accept has answered
	}
	// The library has answered the handshake; from here the hub reads and
	// writes the connection's frames itself. Its Conn holds the stand-in.
	_ = ws.CloseNow()

	var ident Identity
	badToken := false
	if token := requestToken(r); token != "" {
		if ident, err = h.authenticate(r, token); err != nil {
			ident, badToken = Identity{}, true
		}
	}
	c := newConn(h, hj.got.nc, ident)
	c.pending, c.unparsed = hj.got.pending, true
	if h.cfg.SendBuffer > 0 {
		if err := c.sock.setSendBuffer(h.cfg.SendBuffer); err != nil {
			h.log.Debug("failed to set a connection's send buffer", "err", err)
		}
	}
	c.addr, counted = addr, false // released when the connection ends
	c.role = requestRole(r)
	h.addConn(c)
	served = true
	switch {
	case badToken:
		c.close(wire.CloseBadToken, "invalid or expired token")
	case h.closing.Load(): // Shutdown may have missed us
		c.close(wire.CloseGoingAway, "server shutting down")
	}
	// The handler returns at once: the connection is hijacked, and an idle
	// viewer keeps no goroutine (the poller starts a reader when bytes
	// arrive).
	c.start()
}

// enter counts a handshake in, unless the hub is shutting down; Shutdown
// then waits for it. Checking and counting under one lock means Shutdown
// never returns while a handshake it did not see is still under way.
func (h *Hub) enter() bool {
	h.enterMu.Lock()
	defer h.enterMu.Unlock()
	if h.closing.Load() {
		return false
	}
	h.conns.Add(1)
	return true
}

func (h *Hub) authenticate(r *http.Request, token string) (Identity, error) {
	if h.cfg.Auth == nil {
		return Identity{}, errNoAuth
	}
	return h.cfg.Auth.Authenticate(r.Context(), token)
}

var errNoAuth = errors.New("no authenticator configured")

// requestToken is the token of a handshake: the token query parameter, or
// one offered as a subprotocol (wire.TokenSubprotocolPrefix), which keeps
// it out of URLs.
func requestToken(r *http.Request) string {
	if token := r.URL.Query().Get("token"); token != "" {
		return token
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if token, ok := strings.CutPrefix(strings.TrimSpace(p), wire.TokenSubprotocolPrefix); ok {
				return token
			}
		}
	}
	return ""
}

func offersSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == wire.Subprotocol {
				return true
			}
		}
	}
	return false
}

// writeProblem answers a refused handshake with an RFC 9457 problem.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	b := []byte(`{"type":"about:blank","title":`)
	b = wire.AppendString(b, title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"detail":`...)
	b = wire.AppendString(b, detail)
	b = append(b, "}\n"...)
	_, _ = w.Write(b)
}
