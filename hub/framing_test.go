package hub_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// readerModes runs a test with the node's poller (where there is one) and
// with a reader goroutine per connection.
func readerModes(t *testing.T, run func(t *testing.T, mutate func(*hub.Config))) {
	for _, goroutines := range []bool{false, true} {
		name := "poller"
		if goroutines {
			name = "goroutines"
		}
		t.Run(name, func(t *testing.T) {
			run(t, func(c *hub.Config) { c.ReaderGoroutines = goroutines })
		})
	}
}

// A client may split a command into fragments, with a ping between them
// (RFC 6455 section 5.4): the server puts the command together, answers
// the ping, and answers the command.
func TestFragmentedCommandAndPing(t *testing.T) {
	readerModes(t, func(t *testing.T, mode func(*hub.Config)) {
		s := newServer(t, mode)
		c := s.dial(t, "")
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		w, err := c.ws.Writer(ctx, websocket.MessageText)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{`{"op":"subscribe",`, `"id":3,"room":`, `"f_frag"}`} {
			if _, err := w.Write([]byte(part)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if m := c.next(); m.Op != "reply" || m.ID != 3 || !m.OK {
			t.Fatalf("reply to a fragmented subscribe: %s", m.raw)
		}
		if err := c.ws.Ping(ctx); err != nil { // needs our pong; the read loop runs
			t.Fatalf("ping: %v", err)
		}
	})
}

// A client that closes gets its close frame echoed, and the connection
// ends cleanly on both sides.
func TestClientCloseIsEchoed(t *testing.T) {
	readerModes(t, func(t *testing.T, mode func(*hub.Config)) {
		s := newServer(t, mode)
		c, err := s.tryDial("")
		if err != nil {
			t.Fatal(err)
		}
		c.t = t
		waitMetric(t, s, "givelive_hub_connections", 1)
		if err := c.ws.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("close handshake: %v", err) // nil only if the server echoed
		}
		waitMetric(t, s, "givelive_hub_connections", 0)
		waitMetric(t, s, "givelive_hub_peer_closes_total", 1)
	})
}

// rawConn is a WebSocket client speaking raw frames, for breaches no
// library would commit.
func rawConn(t *testing.T, s *server) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(testTimeout))
	_, err = conn.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Protocol: givelive.v1\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			return conn, br
		}
	}
}

// closeFrameOf reads server frames until a close frame and returns its code,
// then checks the server closes the TCP connection.
func closeFrameOf(t *testing.T, br *bufio.Reader) websocket.StatusCode {
	t.Helper()
	for {
		op, err := br.Peek(1)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		p := []byte(readFrame(t, br))
		if op[0]&0x0F != 0x8 {
			continue
		}
		if len(p) < 2 {
			t.Fatalf("close frame without a code")
		}
		code := websocket.StatusCode(binary.BigEndian.Uint16(p))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("after the close frame: %v, want the connection closed", err)
		}
		return code
	}
}

func TestProtocolBreachesClose(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  websocket.StatusCode
	}{
		{"unmasked frame", []byte{0x81, 0x02, '{', '}'}, 1002},
		{"reserved bits", append([]byte{0xC1}, maskedText([]byte("{}"))[1:]...), 1002},
		{"unknown opcode", append([]byte{0x83}, maskedText([]byte("{}"))[1:]...), 1002},
		{"not UTF-8", maskedText([]byte("{\xff}")), wire.CloseInvalidData},
		{"too big", append([]byte{0x81, 0xFF}, binary.BigEndian.AppendUint64(nil, 1<<20)...), wire.CloseTooBig},
	}
	readerModes(t, func(t *testing.T, mode func(*hub.Config)) {
		s := newServer(t, mode)
		for _, tc := range cases {
			conn, br := rawConn(t, s)
			if _, err := conn.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			if code := closeFrameOf(t, br); code != tc.code {
				t.Errorf("%s: close code %d, want %d", tc.name, code, tc.code)
			}
		}
	})
}

// A command that arrives a byte at a time is run once whole.
func TestCommandTrickledByteByByte(t *testing.T) {
	readerModes(t, func(t *testing.T, mode func(*hub.Config)) {
		s := newServer(t, mode)
		conn, br := rawConn(t, s)
		for _, b := range maskedText([]byte(`{"op":"ping","id":5}`)) {
			if _, err := conn.Write([]byte{b}); err != nil {
				t.Fatal(err)
			}
		}
		if p := readFrame(t, br); !strings.Contains(p, `"id":5`) {
			t.Fatalf("reply %s", p)
		}
	})
}
