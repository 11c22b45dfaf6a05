package client

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultBackoffMin   = 500 * time.Millisecond
	DefaultBackoffMax   = 20 * time.Second
	DefaultPingInterval = 30 * time.Second
	DefaultQueueSize    = 1024
	DefaultDialTimeout  = 15 * time.Second
)

// Options configures Dial. A nil *Options, and every zero field, means the
// default documented on the field.
type Options struct {
	// Token acts as a viewer (from POST /api/v1/sessions) or a
	// broadcaster. Empty connects as an anonymous viewer, who may watch but
	// not chat or send stickers. It is sent as the ?token= of /ws, and as
	// the bearer token of the Conn's API.
	Token string

	// HTTPClient makes the WebSocket handshakes and the REST calls. Its
	// transport must speak HTTP/1.1 to the server. Default: a client of the
	// Conn's own, whose idle connections Close closes.
	HTTPClient *http.Client

	// Logger receives reconnects, resyncs and dropped events. Default:
	// discard.
	Logger *slog.Logger

	// BackoffMin and BackoffMax bound the delay before a reconnect: the
	// n-th attempt in a row waits a random time (full jitter) up to
	// min(BackoffMax, BackoffMin·2ⁿ). Defaults 500 ms and 20 s. After close
	// code 4029 (too many commands) the wait is at least BackoffMax/2.
	BackoffMin, BackoffMax time.Duration

	// PingInterval is how often a WebSocket ping checks that the server
	// still answers; a ping unanswered within the interval ends the
	// connection, which is then redialled. Default 30 s; negative: never.
	PingInterval time.Duration

	// DialTimeout bounds each WebSocket handshake. Default 15 s.
	DialTimeout time.Duration

	// QueueSize is how many live events a Subscription holds for Next
	// (default 1024). See Subscription for what happens beyond it.
	QueueSize int

	// OnStateChange, when set, is called with StateConnected for every
	// connection (the first included), StateReconnecting with the error
	// that ended a connection, and once StateClosed, with the error that
	// stopped the Conn (nil after Close). Calls come one at a time from the
	// Conn's goroutine, the last before Done is closed; the function must
	// not block, and must not call Close (it may start a goroutine that
	// does).
	OnStateChange func(State, error)
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.BackoffMin <= 0 {
		out.BackoffMin = DefaultBackoffMin
	}
	if out.BackoffMax <= 0 {
		out.BackoffMax = DefaultBackoffMax
	}
	out.BackoffMax = max(out.BackoffMax, out.BackoffMin)
	if out.PingInterval == 0 {
		out.PingInterval = DefaultPingInterval
	}
	if out.DialTimeout <= 0 {
		out.DialTimeout = DefaultDialTimeout
	}
	if out.QueueSize <= 0 {
		out.QueueSize = DefaultQueueSize
	}
	return out
}

// endpoints splits what Dial was given into the WebSocket URL (without
// token) and the server's base URL for REST. raw is the server's base
// (http://host:8080) or its WebSocket URL (ws://host:8080/ws).
func endpoints(raw string) (wsURL, baseURL string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("failed to parse server URL: %w", err)
	}
	var httpScheme, wsScheme string
	switch u.Scheme {
	case "http", "ws":
		httpScheme, wsScheme = "http", "ws"
	case "https", "wss":
		httpScheme, wsScheme = "https", "wss"
	default:
		return "", "", fmt.Errorf("server URL %q: scheme must be http, https, ws or wss", raw)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("server URL %q has no host", raw)
	}
	path := strings.TrimSuffix(u.Path, "/")
	path = strings.TrimSuffix(path, "/ws")
	base := url.URL{Scheme: httpScheme, Host: u.Host, Path: path}
	ws := url.URL{Scheme: wsScheme, Host: u.Host, Path: path + "/ws"}
	return ws.String(), base.String(), nil
}
