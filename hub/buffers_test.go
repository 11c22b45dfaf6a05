package hub_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// A client may send its first command in the same packet as the handshake;
// those bytes arrive in net/http's buffer and must survive the switch to the
// hub's smaller buffers.
func TestCommandPipelinedWithHandshake(t *testing.T) {
	s := newServer(t, nil)
	br := pipelinedHandshake(t, s, []byte(`{"op":"subscribe","id":9,"room":"f_pipe"}`))
	payload := readFrame(t, br)
	if !strings.Contains(payload, `"id":9`) || !strings.Contains(payload, `"ok":true`) {
		t.Fatalf("first frame %s, want the subscribe reply", payload)
	}
}

// pipelinedHandshake sends a WebSocket handshake and, in the same write,
// the given client frames; it checks the 101 and returns the reader for
// the server's frames.
func pipelinedHandshake(t *testing.T, s *server, frames ...[]byte) *bufio.Reader {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(testTimeout))
	msg := []byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Protocol: givelive.v1\r\n\r\n")
	for _, f := range frames {
		msg = append(msg, maskedText(f)...)
	}
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %d", resp.StatusCode)
	}
	return br
}

// maskedText encodes one client text frame (clients must mask).
func maskedText(p []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	f := []byte{0x81, 0x80 | byte(len(p))}
	f = append(f, key[:]...)
	for i, b := range p {
		f = append(f, b^key[i%4])
	}
	return f
}

// readFrame reads one unmasked server frame and returns its payload.
func readFrame(t *testing.T, r io.Reader) string {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// A viewer that stops reading blocks its writer; the watchdog must close it
// as a slow consumer (4000) after the write timeout even though its queue
// never overflows, and drop its socket when the close frame cannot get
// through either.
func TestStuckWriteIsDropped(t *testing.T) {
	s := newServer(t, func(c *hub.Config) {
		c.WriteTimeout = 200 * time.Millisecond
		c.QueueBytes = 256 << 20 // never overflows here
		c.PingInterval = time.Hour
	})
	room := "f_stuck"
	stuck, err := s.tryDial("")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.ws.CloseNow()
	stuck.t = t
	stuck.sendRaw([]byte(`{"op":"subscribe","room":"` + room + `"}`))
	waitMetric(t, s, "givelive_hub_rooms", 1)
	big := strings.Repeat("x", 8000)
	for i := 0; metricValue(t, s, "givelive_hub_write_timeouts_total") < 1; i++ {
		if i == 20000 {
			t.Fatal("the stuck writer was never dropped")
		}
		publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: big})
		if i%100 == 99 {
			time.Sleep(50 * time.Millisecond) // give the watchdog turns; not for ordering
		}
	}
	waitMetric(t, s, "givelive_hub_connections", 0)
	if n := metricValue(t, s, "givelive_hub_slow_consumer_closes_total"); n != 1 {
		t.Fatalf("%v slow-consumer closes, want 1", n)
	}
}

// A client that pipelines more than the small reader's 512 bytes behind
// the handshake (here 25 commands, about 1 KiB) must get both answered.
func TestLargePipelineWithHandshake(t *testing.T) {
	s := newServer(t, nil)
	var frames [][]byte
	for range 24 {
		frames = append(frames, []byte(`{"op":"subscribe","id":7,"room":"f_big"}`))
	}
	br := pipelinedHandshake(t, s, append(frames, []byte(`{"op":"subscribe","id":9,"room":"f_pipe"}`))...)
	for {
		if strings.Contains(readFrame(t, br), `"id":9`) {
			return
		}
	}
}

// A healthy viewer idle for longer than the write timeout after a write
// must not be taken for stuck.
func TestIdleAfterWriteIsNotStalled(t *testing.T) {
	s := newServer(t, func(c *hub.Config) {
		c.WriteTimeout = 100 * time.Millisecond
		c.PingInterval = time.Hour
	})
	c := s.dial(t, "")
	c.cmd(map[string]any{"op": "subscribe", "room": "f_idle"})
	publish(t, s.hub, "f_idle", wire.TypeShoutout, wire.ShoutoutData{Text: "x"})
	c.nextOf(isEvent(wire.TypeShoutout))
	time.Sleep(600 * time.Millisecond)
	if n := metricValue(t, s, "givelive_hub_write_timeouts_total"); n != 0 {
		t.Fatalf("%v write timeouts on a healthy idle connection", n)
	}
	publish(t, s.hub, "f_idle", wire.TypeShoutout, wire.ShoutoutData{Text: "y"})
	c.nextOf(isEvent(wire.TypeShoutout))
}
