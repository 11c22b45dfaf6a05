package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// readLimit is generous: the server packs up to 64 KiB of events in a
// frame by default, and a subscribe reply may carry the room's history.
const readLimit = 4 << 20

// dialTimeout bounds one WebSocket handshake.
const dialTimeout = 15 * time.Second

// dialer opens WebSocket connections to the target, spreading them over
// source addresses. Safe for concurrent use.
type dialer struct {
	wsURL   string
	viewers string         // the viewers' WebSocket URL: wsURL unless they go to another node
	clients []*http.Client // one per source address; one with the system's choice if none
	stalled []*http.Client // the same, with a small receive buffer
}

func newDialer(target, viewerTarget *url.URL, sourceIPs int) *dialer {
	d := &dialer{wsURL: websocketURL(target), viewers: websocketURL(viewerTarget)}
	if sourceIPs == 0 {
		d.clients = []*http.Client{{Transport: newTransport(nil, nil)}}
		d.stalled = []*http.Client{{Transport: newTransport(nil, smallReceiveBuffer)}}
		return d
	}
	for i := range sourceIPs {
		ip := net.IPv4(127, 0, 0, byte(2+i))
		d.clients = append(d.clients, &http.Client{Transport: newTransport(&net.TCPAddr{IP: ip}, nil)})
		d.stalled = append(d.stalled, &http.Client{Transport: newTransport(&net.TCPAddr{IP: ip}, smallReceiveBuffer)})
	}
	return d
}

// websocketURL is /ws of a base URL.
func websocketURL(base *url.URL) string {
	ws := *base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	ws.Path += "/ws"
	return ws.String()
}

// newTransport dials from local (nil: the system's choice), calling
// control on each socket before it connects (nil: none).
func newTransport(local *net.TCPAddr, control func(network, address string, c syscall.RawConn) error) *http.Transport {
	nd := &net.Dialer{Timeout: dialTimeout, KeepAlive: -1, Control: control}
	if local != nil {
		nd.LocalAddr = local
	}
	return &http.Transport{
		Proxy:               nil, // never through a proxy: the sockets are the measurement
		DialContext:         nd.DialContext,
		ForceAttemptHTTP2:   false, // WebSocket needs HTTP/1.1
		TLSHandshakeTimeout: dialTimeout,
	}
}

// dial opens chatter connection i (which picks the source address) with
// an optional viewer token.
func (d *dialer) dial(ctx context.Context, i int, token string) (*websocket.Conn, error) {
	return d.dialURL(ctx, d.wsURL, i, token)
}

// dialViewer opens viewer connection i, on the viewer target.
func (d *dialer) dialViewer(ctx context.Context, i int) (*websocket.Conn, error) {
	return d.dialURL(ctx, d.viewers, i, "")
}

// dialStalled opens stalled viewer connection i, with a small receive
// buffer, on the viewer target.
func (d *dialer) dialStalled(ctx context.Context, i int) (*websocket.Conn, error) {
	return d.dialWith(ctx, d.stalled[i%len(d.stalled)], d.viewers, "")
}

func (d *dialer) dialURL(ctx context.Context, u string, i int, token string) (*websocket.Conn, error) {
	return d.dialWith(ctx, d.clients[i%len(d.clients)], u, token)
}

func (d *dialer) dialWith(ctx context.Context, client *http.Client, u string, token string) (*websocket.Conn, error) {
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient:      client,
		Subprotocols:    []string{wire.Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil {
			return nil, &handshakeError{status: resp.StatusCode, err: err}
		}
		return nil, err
	}
	if ws.Subprotocol() != wire.Subprotocol {
		ws.CloseNow()
		return nil, fmt.Errorf("server chose subprotocol %q, want %s", ws.Subprotocol(), wire.Subprotocol)
	}
	ws.SetReadLimit(readLimit)
	return ws, nil
}

func (d *dialer) close() {
	for _, c := range append(d.clients, d.stalled...) {
		c.CloseIdleConnections()
	}
}

// handshakeError is a WebSocket handshake the server answered with
// something other than 101.
type handshakeError struct {
	status int
	err    error
}

func (e *handshakeError) Error() string { return e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// dialErrorKind names a failed dial for the report's error counts.
func dialErrorKind(err error) string {
	var he *handshakeError
	var ne net.Error
	switch {
	case errors.As(err, &he):
		return fmt.Sprintf("handshake_%d", he.status)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "dial_timeout"
	case errors.Is(err, context.Canceled):
		return "dial_cancelled"
	case errors.Is(err, errAddrNotAvail):
		return "dial_no_ports"
	case errors.Is(err, errTooManyFiles):
		return "dial_too_many_files"
	default:
		return "dial"
	}
}
