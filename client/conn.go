package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

const (
	// readLimit bounds one server frame. The server packs up to 64 KiB of
	// events into a frame, but a subscribe reply carries every event the
	// client missed (up to the room's history, 1000 events by default).
	readLimit = 16 << 20
	// writeTimeout bounds one command write; a peer that does not take a
	// few hundred bytes in that long is gone.
	writeTimeout = 10 * time.Second
	// closeTimeout bounds the close handshake in Close.
	closeTimeout = 2 * time.Second
	// stableAfter is how long a connection must have lasted for the next
	// reconnect to start again from the shortest backoff. A server that
	// accepts and drops at once is thus not hammered.
	stableAfter = 10 * time.Second
)

// State is where a Conn stands.
type State int

const (
	// StateConnected: a connection is up and every room is (re)subscribed
	// or being resubscribed.
	StateConnected State = iota + 1
	// StateReconnecting: the connection dropped; the Conn is waiting out
	// its backoff or dialling. Commands wait for the next connection.
	StateReconnecting
	// StateClosed: the Conn has stopped, because of Close or of an error
	// after which it does not reconnect (see Conn.Err).
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	default:
		return fmt.Sprintf("State(%d)", int(s))
	}
}

// Stats counts what happened to a Conn.
type Stats struct {
	Reconnects uint64 // connections made after the first
}

// Conn is a givelive.v1 connection that reconnects by itself. Create it
// with Dial, join rooms with Subscribe, and stop it with Close, which every
// Conn needs. All methods are safe for concurrent use.
type Conn struct {
	opts    Options
	wsURL   string // with ?token=
	token   string // to redact from errors
	api     *API
	snaps   *API // without a token: snapshots are public
	log     *slog.Logger
	backoff Backoff
	ownHTTP bool

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the reader, keepalive and snapshot fetches
	done   chan struct{}  // closed when the Conn has stopped

	ids atomic.Uint64 // command ids

	mu    sync.Mutex
	link  *link         // the current connection; nil while reconnecting
	open  bool          // link may carry user commands: its resubscribes are sent
	ready chan struct{} // closed when open becomes true; replaced on each drop
	calls map[uint64]*call
	subs  map[string]*Subscription
	err   error // why the Conn stopped, or is stopping
	state State
	stats Stats
}

// link is one WebSocket connection of a Conn.
type link struct {
	ws   *websocket.Conn
	lost chan struct{} // closed once it has ended and its calls have failed
}

// call is a command waiting for its reply: a user's (reply) or a
// subscribe the Conn sent for a Subscription (sub).
type call struct {
	reply chan wire.Reply // capacity 1; closed if the connection ends first
	sub   *Subscription
}

// Dial connects to the GiveLive server at serverURL: its base URL
// (http://host:8080) or its WebSocket URL (ws://host:8080/ws). It makes
// one attempt, bounded by ctx; once it has returned, the Conn reconnects by
// itself. A refused handshake is an *APIError; a token the server refuses
// is a *CloseError with code 4001.
func Dial(ctx context.Context, serverURL string, opts *Options) (*Conn, error) {
	o := opts.withDefaults()
	wsURL, base, err := endpoints(serverURL)
	if err != nil {
		return nil, err
	}
	ownHTTP := o.HTTPClient == nil
	if ownHTTP {
		o.HTTPClient = &http.Client{Transport: newTransport()}
	}
	api, err := NewAPI(base, &APIOptions{Token: o.Token, HTTPClient: o.HTTPClient})
	if err != nil {
		return nil, err
	}
	if o.Token != "" {
		wsURL += "?token=" + url.QueryEscape(o.Token)
	}
	c := &Conn{
		opts:    o,
		wsURL:   wsURL,
		token:   o.Token,
		api:     api,
		snaps:   api.WithToken(""),
		log:     o.Logger,
		backoff: Backoff{Min: o.BackoffMin, Max: o.BackoffMax},
		ownHTTP: ownHTTP,
		done:    make(chan struct{}),
		ready:   make(chan struct{}),
		calls:   make(map[uint64]*call),
		subs:    make(map[string]*Subscription),
		state:   StateConnected,
	}
	ws, err := c.dial(ctx)
	if err != nil {
		c.closeIdle()
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.run(ws)
	if o.Token != "" {
		// The server accepts a bad token and then closes with 4001:
		// find out before returning.
		if err := c.Ping(ctx); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// API returns a REST client for the same server, with the Conn's token and
// HTTP client.
func (c *Conn) API() *API { return c.api }

// State returns where the Conn stands now.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Stats returns the Conn's counters.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Done is closed when the Conn has stopped; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the Conn runs, and once it has stopped ErrClosed
// after Close, or the error after which it does not reconnect (a
// *CloseError, or an *APIError for a refused handshake).
func (c *Conn) Err() error {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	default:
		return nil
	}
}

// Close stops the Conn: it closes the connection (1000), ends every
// Subscription with ErrClosed and waits for the Conn's goroutines. It
// returns nil, also when called again.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClosed
	}
	l := c.link
	c.mu.Unlock()
	if l != nil {
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			_ = l.ws.Close(websocket.StatusNormalClosure, "")
		}()
		select {
		case <-closed:
		case <-time.After(closeTimeout):
			_ = l.ws.CloseNow()
			<-closed
		}
	}
	c.cancel()
	c.wg.Wait()
	c.closeIdle()
	return nil
}

// newTransport returns a transport of the Conn's own, so Close can close
// its idle connections without touching anyone else's.
func newTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment}
}

func (c *Conn) closeIdle() {
	if c.ownHTTP {
		c.opts.HTTPClient.CloseIdleConnections()
	}
}

// run keeps the Conn connected until Close or an error after which it
// does not reconnect.
func (c *Conn) run(ws *websocket.Conn) {
	defer c.wg.Done()
	defer c.finish()
	attempt := 0
	for {
		began := time.Now()
		err := c.serve(ws)
		if c.stopping() {
			return
		}
		_, slow := reconnects(err)
		if time.Since(began) >= stableAfter {
			attempt = 0
		}
		c.log.Info("connection lost; reconnecting", "err", c.redact(err))
		c.setState(StateReconnecting, err)
		for {
			if !sleep(c.ctx.Done(), c.backoff.Delay(attempt, slow)) {
				return
			}
			attempt++
			slow = false
			ws, err = c.dial(c.ctx)
			if err == nil {
				break
			}
			if c.ctx.Err() != nil {
				return
			}
			var ae *APIError
			if errors.As(err, &ae) {
				switch ae.Status {
				case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
					http.StatusSwitchingProtocols: // no givelive.v1: like 1008, do not retry
					c.stop(err)
					return
				}
				slow = ae.Status == http.StatusTooManyRequests
			}
			c.log.Info("failed to reconnect", "attempt", attempt, "err", err)
		}
		c.mu.Lock()
		c.stats.Reconnects++
		c.mu.Unlock()
	}
}

// dial makes one WebSocket handshake.
func (c *Conn) dial(ctx context.Context) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, c.wsURL, &websocket.DialOptions{
		HTTPClient:   c.opts.HTTPClient,
		Subprotocols: []string{wire.Subprotocol},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(resp.Body)
			return nil, newAPIError(resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		return nil, c.redact(fmt.Errorf("failed to dial: %w", err))
	}
	if ws.Subprotocol() != wire.Subprotocol {
		_ = ws.CloseNow()
		return nil, &APIError{Status: http.StatusSwitchingProtocols, Title: "Subprotocol not selected",
			Detail: fmt.Sprintf("the server chose %q, want %s", ws.Subprotocol(), wire.Subprotocol)}
	}
	ws.SetReadLimit(readLimit)
	return ws, nil
}

// serve runs one connection: it resubscribes every room, opens the
// connection to user commands, and reads until it ends.
func (c *Conn) serve(ws *websocket.Conn) error {
	l := &link{ws: ws, lost: make(chan struct{})}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		_ = ws.CloseNow()
		return c.err
	}
	c.link = l
	var cmds [][]byte
	for _, s := range c.subs {
		if !s.rejoin() {
			continue
		}
		id := c.ids.Add(1)
		if b := s.subscribeCommand(id); b != nil {
			c.calls[id] = &call{sub: s}
			cmds = append(cmds, b)
		}
	}
	c.mu.Unlock()

	var err error
	for _, b := range cmds {
		if err = c.write(ws, b); err != nil {
			break
		}
	}
	if err == nil {
		c.mu.Lock()
		c.open = true
		close(c.ready)
		c.mu.Unlock()
		c.setState(StateConnected, nil)

		ctx, stop := context.WithCancel(c.ctx)
		if c.opts.PingInterval > 0 {
			c.wg.Add(1)
			go c.keepalive(ctx, ws)
		}
		err = c.readLoop(ctx, ws)
		stop()
	}
	_ = ws.CloseNow()
	c.detach(l, err)
	return err
}

// detach forgets a connection that ended with err, fails the commands
// waiting on it and, if err is one after which the Conn does not
// reconnect, records it.
func (c *Conn) detach(l *link, err error) {
	c.mu.Lock()
	if c.link == l {
		c.link = nil
		c.open = false
		c.ready = make(chan struct{})
	}
	if again, _ := reconnects(err); !again && c.err == nil {
		c.err = terminal(err)
	}
	for id, cl := range c.calls {
		delete(c.calls, id)
		if cl.reply != nil {
			close(cl.reply)
		}
	}
	c.mu.Unlock()
	close(l.lost)
}

// stopping reports whether the Conn is to stop rather than reconnect.
func (c *Conn) stopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}

// stop records why the Conn stops, unless it already has a reason.
func (c *Conn) stop(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// finish ends every Subscription and waiting command once run returns.
func (c *Conn) finish() {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClosed
	}
	err := c.err
	subs := make([]*Subscription, 0, len(c.subs))
	for room, s := range c.subs {
		subs = append(subs, s)
		delete(c.subs, room)
	}
	for id, cl := range c.calls {
		delete(c.calls, id)
		if cl.reply != nil {
			close(cl.reply)
		}
	}
	c.mu.Unlock()
	c.cancel() // stops snapshot fetches still under way
	for _, s := range subs {
		s.end(err)
	}
	if errors.Is(err, ErrClosed) {
		err = nil
	} else {
		c.log.Warn("connection ended; not reconnecting", "err", err)
	}
	c.setState(StateClosed, err)
	close(c.done) // last: whoever waits on Done sees the final state
}

func (c *Conn) setState(st State, err error) {
	c.mu.Lock()
	c.state = st
	c.mu.Unlock()
	if c.opts.OnStateChange != nil {
		c.opts.OnStateChange(st, err)
	}
}

// keepalive pings the server; a ping unanswered within the interval ends
// the connection, which run then redials.
func (c *Conn) keepalive(ctx context.Context, ws *websocket.Conn) {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.opts.PingInterval)
		err := ws.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Info("server did not answer a ping; reconnecting", "err", err)
				_ = ws.CloseNow()
			}
			return
		}
	}
}

// readLoop reads frames until the connection ends. A frame holds one or
// more messages separated by newlines.
func (c *Conn) readLoop(ctx context.Context, ws *websocket.Conn) error {
	for {
		typ, p, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		for len(p) > 0 {
			var line []byte
			line, p, _ = bytes.Cut(p, []byte{'\n'})
			if len(bytes.TrimSpace(line)) > 0 {
				c.handle(line)
			}
		}
	}
}

func (c *Conn) handle(line []byte) {
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		c.log.Warn("undecodable message from server", "err", err, "message", shorten(string(line), 200))
		return
	}
	switch m.Op {
	case "event":
		c.onEvent(&m)
	case "reply":
		c.onReply(&m)
	default:
		c.log.Debug("unknown message from server", "op", m.Op)
	}
}

func (c *Conn) onEvent(m *message) {
	c.mu.Lock()
	s := c.subs[m.Room]
	c.mu.Unlock()
	if s == nil {
		return // unsubscribed meanwhile
	}
	ev, err := newEvent(m)
	if err != nil {
		c.log.Warn("event data does not decode; delivering it raw", "room", m.Room, "type", m.Type, "err", err)
	}
	if s.onEvent(ev) {
		c.resync(s)
	}
}

func (c *Conn) onReply(m *message) {
	if m.ID == 0 {
		// Only a frame the server could not parse is answered without
		// an id: a bug in this client.
		c.log.Error("server refused a command", "error", m.Error)
		return
	}
	c.mu.Lock()
	cl := c.calls[m.ID]
	delete(c.calls, m.ID)
	c.mu.Unlock()
	switch {
	case cl == nil: // abandoned by its caller, or from a connection since replaced
	case cl.sub != nil:
		c.onSubscribed(cl.sub, m)
	default:
		cl.reply <- m.reply()
	}
}

// onSubscribed acts on the reply to a subscribe the Conn sent.
func (c *Conn) onSubscribed(s *Subscription, m *message) {
	next, delay, err := s.onReply(m)
	switch next {
	case replyFetch:
		c.wg.Add(1)
		go c.fetch(s, delay)
	case replyEnd:
		c.log.Warn("room refused; subscription ended", "room", s.room, "err", err)
		c.remove(s)
	}
}

// resync sends s's subscribe command on the current connection, if there
// is one; otherwise the next connection sends it.
func (c *Conn) resync(s *Subscription) {
	c.mu.Lock()
	l := c.link
	if l == nil || c.err != nil {
		c.mu.Unlock()
		return
	}
	id := c.ids.Add(1)
	b := s.subscribeCommand(id)
	if b == nil {
		c.mu.Unlock()
		return
	}
	c.calls[id] = &call{sub: s}
	c.mu.Unlock()
	if err := c.write(l.ws, b); err != nil {
		// The connection is failing; the reader will see it and the next
		// connection resubscribes the room.
		c.log.Debug("failed to send subscribe", "room", s.room, "err", err)
	}
}

// fetch reads s's snapshot after delay, retrying until it has one, then
// subscribes again from the snapshot's position.
func (c *Conn) fetch(s *Subscription, delay time.Duration) {
	defer c.wg.Done()
	for attempt := 0; ; attempt++ {
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.ctx.Done():
			case <-s.done:
			}
			t.Stop()
		}
		if c.ctx.Err() != nil || s.ended() {
			return
		}
		snap, err := c.snaps.Fundraiser(c.ctx, s.room)
		if err == nil {
			if s.fetched(snap) {
				c.resync(s)
			}
			return
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			c.log.Warn("fundraiser gone; subscription ended", "room", s.room)
			s.end(fmt.Errorf("failed to fetch snapshot of %s: %w", s.room, err))
			c.remove(s)
			return
		}
		if c.ctx.Err() == nil {
			c.log.Info("failed to fetch snapshot; retrying", "room", s.room, "err", err)
		}
		delay = c.backoff.Delay(attempt, false)
	}
}

// remove forgets s; the caller has ended it or is about to.
func (c *Conn) remove(s *Subscription) {
	c.mu.Lock()
	if c.subs[s.room] == s {
		delete(c.subs, s.room)
	}
	c.mu.Unlock()
}

// write sends one command frame.
func (c *Conn) write(ws *websocket.Conn, b []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, b)
}

// redact keeps the token out of errors and logs: the WebSocket library
// puts the URL, query and all, into its errors.
func (c *Conn) redact(err error) error {
	if err == nil || c.token == "" {
		return err
	}
	msg := err.Error()
	esc := url.QueryEscape(c.token)
	if !strings.Contains(msg, c.token) && !strings.Contains(msg, esc) {
		return err
	}
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, esc, "REDACTED"), c.token, "REDACTED")
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
