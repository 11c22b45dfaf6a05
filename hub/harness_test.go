package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// testTimeout bounds every wait in these tests. It is generous: the
// machines are shared, and it only decides when a broken test gives up.
const testTimeout = 20 * time.Second

// tokens is a test Authenticator: token "u:ID:NAME" is viewer ID,
// "b:ID:NAME" a broadcaster, "x:…" is expired; anything else is invalid.
type tokens struct{}

func (tokens) Authenticate(_ context.Context, tok string) (hub.Identity, error) {
	parts := strings.SplitN(tok, ":", 3)
	if len(parts) != 3 {
		return hub.Identity{}, errors.New("bad token")
	}
	id := hub.Identity{UserID: parts[1], Name: parts[2]}
	switch parts[0] {
	case "u":
	case "b":
		id.Broadcaster = true
	case "x":
		id.ExpiresAt = time.Now().Add(-time.Minute)
	default:
		return hub.Identity{}, errors.New("bad token")
	}
	return id, nil
}

// donors is a test DonorChecker.
type donors struct {
	mu  sync.Mutex
	set map[string]bool // room + "/" + user
}

func (d *donors) add(room, user string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil {
		d.set = map[string]bool{}
	}
	d.set[room+"/"+user] = true
}

func (d *donors) DonorStatus(_ context.Context, room, user string) (donated, named bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set[room+"/"+user], d.set[room+"/"+user], nil
}

// rooms is a test RoomDirectory: rooms starting with "f_" exist, owned by "b1".
type rooms struct{}

func (rooms) Room(_ context.Context, room string) (hub.RoomInfo, error) {
	if !strings.HasPrefix(room, "f_") {
		return hub.RoomInfo{}, hub.ErrRoomNotFound
	}
	return hub.RoomInfo{OwnerID: "b1"}, nil
}

type server struct {
	reg *prometheus.Registry
	hub *hub.Hub
	url string // ws://…
	srv *httptest.Server
}

// newServer starts a hub on loopback with the test seams; mutate cfg to
// adjust limits.
func newServer(t *testing.T, mutate func(*hub.Config)) *server {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := hub.Config{Auth: tokens{}, Rooms: rooms{}, Donors: &donors{}, Metrics: reg}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	s := &server{reg: reg, hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http"), srv: srv}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return s
}

// client is a test WebSocket client that splits frames into messages.
type client struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan message
	done chan struct{}
	err  error // why the read loop ended, valid after done is closed
	id   uint64
	// backlog holds messages cmd skipped while waiting for a reply, so
	// later reads still see them in order.
	backlog []message
}

// message is any server message.
type message struct {
	Op        string            `json:"op"`
	ID        uint64            `json:"id"`
	OK        bool              `json:"ok"`
	Error     *wire.Error       `json:"error"`
	Room      string            `json:"room"`
	Type      string            `json:"type"`
	Epoch     string            `json:"epoch"`
	Offset    uint64            `json:"offset"`
	Recovered bool              `json:"recovered"`
	Events    []json.RawMessage `json:"events"`
	TS        int64             `json:"ts"`
	Data      json.RawMessage   `json:"data"`
	raw       []byte
}

func (s *server) dial(t *testing.T, token string) *client {
	t.Helper()
	c, err := s.tryDial(token)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.t = t
	go c.readLoop()
	t.Cleanup(func() { c.ws.CloseNow(); <-c.done })
	return c
}

func (s *server) tryDial(token string) (*client, error) {
	u := s.url + "/ws"
	if token != "" {
		u += "?token=" + token
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 24)
	return &client{ws: ws, msgs: make(chan message, 100000), done: make(chan struct{})}, nil
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, p, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		for line := range bytes.SplitSeq(p, []byte{'\n'}) {
			var m message
			if err := json.Unmarshal(line, &m); err != nil {
				c.err = err
				return
			}
			m.raw = line
			c.msgs <- m
		}
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next message, failing the test on timeout or close.
func (c *client) next() message {
	c.t.Helper()
	if len(c.backlog) > 0 {
		m := c.backlog[0]
		c.backlog = c.backlog[1:]
		return m
	}
	return c.receive()
}

func (c *client) receive() message {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m
		default:
		}
		c.t.Fatalf("connection ended: %v", c.err)
	case <-time.After(testTimeout):
		c.t.Fatal("timed out waiting for a message")
	}
	return message{}
}

// nextOf skips messages until one matches.
func (c *client) nextOf(match func(message) bool) message {
	c.t.Helper()
	for {
		if m := c.next(); match(m) {
			return m
		}
	}
}

func isEvent(typ string) func(message) bool {
	return func(m message) bool { return m.Op == "event" && m.Type == typ }
}

// cmd sends a command with a fresh id and returns its reply, skipping
// events that arrive before it.
func (c *client) cmd(fields map[string]any) message {
	c.t.Helper()
	c.id++
	fields["id"] = c.id
	c.send(fields)
	for {
		m := c.receive()
		if m.Op == "reply" && m.ID == c.id {
			return m
		}
		c.backlog = append(c.backlog, m)
	}
}

func (c *client) subscribe(room string, since *wire.Position) message {
	c.t.Helper()
	f := map[string]any{"op": "subscribe", "room": room}
	if since != nil {
		f["since"] = since
	}
	r := c.cmd(f)
	if !r.OK {
		c.t.Fatalf("subscribe %s: %+v", room, r.Error)
	}
	return r
}

// closeCode waits for the server to end the connection and returns the
// close code it sent.
func (c *client) closeCode() websocket.StatusCode {
	c.t.Helper()
	for {
		select {
		case <-c.msgs:
		case <-c.done:
			return websocket.CloseStatus(c.err)
		case <-time.After(testTimeout):
			c.t.Fatal("timed out waiting for the connection to close")
			return 0
		}
	}
}

func publish(t *testing.T, h *hub.Hub, room, typ string, data any) wire.Position {
	t.Helper()
	pos, err := h.Publish(context.Background(), room, typ, data)
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// closeCodeUnread reads a connection that was left unread (its kernel
// buffers full) until it ends, and returns the close code the server sent.
func (c *client) closeCodeUnread() websocket.StatusCode {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		if _, _, err := c.ws.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}
