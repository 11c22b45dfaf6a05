package rtmp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// pipe returns the two ends of an in-memory connection, closed at the end
// of the test, with a deadline so a broken handshake fails instead of
// hanging.
func pipe(t *testing.T) (client, server net.Conn) {
	t.Helper()
	client, server = net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// goErr runs f in a goroutine and returns a channel with its error.
func goErr(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func TestHandshake(t *testing.T) {
	client, server := pipe(t)
	done := goErr(func() error { return ServerHandshake(server, nil) })
	if err := ClientHandshake(client, nil); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// TestServerHandshakeBytes plays the client by hand: S0 is 3, S1 is time
// 0, four zero bytes and the random bytes, S2 echoes C1.
func TestServerHandshakeBytes(t *testing.T) {
	client, server := pipe(t)
	random := seq(1528, 9)
	done := goErr(func() error { return ServerHandshake(server, bytes.NewReader(random)) })

	c1 := seq(1536, 77)
	if _, err := client.Write(cat([]byte{3}, c1)); err != nil {
		t.Fatal(err)
	}
	in := make([]byte, 1+2*1536)
	if _, err := io.ReadFull(client, in); err != nil {
		t.Fatal(err)
	}
	s0, s1, s2 := in[0], in[1:1537], in[1537:]
	if s0 != 3 {
		t.Errorf("S0 = %d", s0)
	}
	if !bytes.Equal(s1[:8], make([]byte, 8)) || !bytes.Equal(s1[8:], random) {
		t.Errorf("S1 = %x...", s1[:16])
	}
	if !bytes.Equal(s2, c1) {
		t.Error("S2 does not echo C1")
	}
	if _, err := client.Write(s1); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
}

func TestServerHandshakeBadVersion(t *testing.T) {
	client, server := pipe(t)
	go client.Write(cat([]byte{6}, make([]byte, 1536))) // RTMPE
	err := ServerHandshake(server, nil)
	if !errors.Is(err, ErrBadVersion) {
		t.Fatalf("error = %v, want ErrBadVersion", err)
	}
}

func TestServerHandshakeCut(t *testing.T) {
	client, server := pipe(t)
	go func() {
		client.Write(cat([]byte{3}, make([]byte, 100)))
		client.Close()
	}()
	err := ServerHandshake(server, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error = %v, want io.ErrUnexpectedEOF", err)
	}
}

// fakeServer reads C0+C1 and answers with s.
func fakeServer(conn net.Conn, answer func(c1 []byte) []byte) {
	c0c1 := make([]byte, 1537)
	if _, err := io.ReadFull(conn, c0c1); err != nil {
		return
	}
	conn.Write(answer(c0c1[1:]))
}

func TestClientHandshakeBadVersion(t *testing.T) {
	client, server := pipe(t)
	go fakeServer(server, func(c1 []byte) []byte { return cat([]byte{6}, make([]byte, 1536), c1) })
	if err := ClientHandshake(client, nil); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("error = %v, want ErrBadVersion", err)
	}
}

func TestClientHandshakeEchoMismatch(t *testing.T) {
	client, server := pipe(t)
	go fakeServer(server, func(c1 []byte) []byte { return cat([]byte{3}, make([]byte, 1536), make([]byte, 1536)) })
	if err := ClientHandshake(client, nil); !errors.Is(err, ErrHandshakeEcho) {
		t.Fatalf("error = %v, want ErrHandshakeEcho", err)
	}
}

func TestHandshakeRandomFails(t *testing.T) {
	client, server := pipe(t)
	go client.Write(cat([]byte{3}, make([]byte, 1536)))
	if err := ServerHandshake(server, bytes.NewReader(nil)); err == nil {
		t.Fatal("no error when the random source is empty")
	}
}

// TestPublishOverTCP runs a handshake, a connect command and media over
// loopback TCP, with a Reader and a Writer on each side, as the ingest
// server and a test publisher will.
func TestPublishOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	video := seq(12_000, 3)
	serverDone := goErr(func() error {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := ServerHandshake(conn, nil); err != nil {
			return err
		}
		r, w := NewReader(conn, ReaderConfig{}), NewWriter(conn)
		m, err := r.ReadMessage()
		if err != nil {
			return err
		}
		c, err := ParseCommandMessage(m)
		if err != nil {
			return err
		}
		if app, _ := c.Object.(Object).String("app"); c.Name != "connect" || app != "live" {
			return errors.New("unexpected command " + c.Name)
		}
		result, err := CommandMessage(3, 0, Command{Name: "_result", TransactionID: c.TransactionID,
			Args: []any{Object{{"code", "NetConnection.Connect.Success"}}}})
		if err != nil {
			return err
		}
		for _, m := range []Message{WindowAckSizeMessage(2_500_000), SetChunkSizeMessage(4096), result} {
			if err := w.WriteMessage(m); err != nil {
				return err
			}
		}
		w.SetChunkSize(4096)
		for _, want := range []uint8{TypeSetChunkSize, TypeVideo} {
			m, err := r.ReadMessage()
			if err != nil {
				return err
			}
			if m.Type != want || (m.Type == TypeVideo && !bytes.Equal(m.Payload, video)) {
				return errors.New("unexpected message " + describe(m))
			}
		}
		if r.ChunkSize() != 4096 {
			return errors.New("chunk size not applied")
		}
		if _, err := r.ReadMessage(); err != io.EOF {
			return errors.New("no clean EOF after the publisher closed")
		}
		return nil
	})

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := ClientHandshake(conn, nil); err != nil {
		t.Fatal(err)
	}
	r, w := NewReader(conn, ReaderConfig{}), NewWriter(conn)
	connect, err := CommandMessage(3, 0, Command{Name: "connect", TransactionID: 1,
		Object: Object{{"app", "live"}, {"tcUrl", "rtmp://127.0.0.1/live"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMessage(connect); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint8{TypeWindowAckSize, TypeSetChunkSize, TypeCommandAMF0} {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != want {
			t.Fatalf("got %s, want type %d", describe(m), want)
		}
		if m.Type == TypeCommandAMF0 {
			c, err := ParseCommand(m.Payload)
			if err != nil || c.Name != "_result" || c.TransactionID != 1 {
				t.Fatalf("reply %#v, %v", c, err)
			}
		}
	}
	for _, m := range []Message{SetChunkSizeMessage(4096), {ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 33, Payload: video}} {
		if err := w.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
		w.SetChunkSize(4096)
	}
	conn.Close()
	if err := <-serverDone; err != nil {
		t.Fatalf("server: %v", err)
	}
}
