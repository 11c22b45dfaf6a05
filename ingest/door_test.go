package ingest_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/handshake"

	"github.com/givelive/givelive/ingest"
	"github.com/givelive/givelive/ingest/hls"
)

// countingListener hands the server connections that count what it reads.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*countingConn
}

type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

func (l *countingListener) readBy(i int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= len(l.conns) {
		return 0
	}
	return l.conns[i].read.Load()
}

// doorServer is an ingest server with default limits on a counting
// listener.
func doorServer(t *testing.T) (*ingest.Server, *countingListener, string) {
	t.Helper()
	window, err := hls.NewServer(hls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ingest.New(ingest.Config{Keys: keys{"key-1": "f1"}, HLS: window})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: tcp}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
		window.Close()
	})
	return srv, ln, tcp.Addr().String()
}

// chunkHeader0 is a type 0 chunk header on chunk stream csid (2..63).
func chunkHeader0(csid byte, length int, typ byte) []byte {
	return []byte{csid, 0, 0, 0, byte(length >> 16), byte(length >> 8), byte(length), typ, 1, 0, 0, 0}
}

// setChunkSize is a Set Chunk Size message on chunk stream 2.
func setChunkSize(n uint32) []byte {
	b := append(chunkHeader0(2, 4, 1), 0, 0, 0, 0)
	b[8] = 0 // message stream 0
	binary.BigEndian.PutUint32(b[12:], n)
	return b
}

// TestStrangersCannotMakeTheServerBuffer: a connection that completes the
// handshake and never sends connect, but opens messages of nearly 8 MiB on
// many chunk streams and sends their bytes without ever finishing one
// (32 MiB in all), is cut off before the server has read more than a small
// cap: what the server buffers for a connection whose publish is not
// authorised stays small.
func TestStrangersCannotMakeTheServerBuffer(t *testing.T) {
	_, ln, addr := doorServer(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, _, err := handshake.DoClient(c, false, false); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	const chunk = 64 << 10
	const claimed = 8<<20 - 1
	const total = 32 << 20
	attack := make(chan int64, 1)
	go func() {
		sent := int64(0)
		defer func() { attack <- sent }()
		if _, err := c.Write(setChunkSize(chunk)); err != nil {
			return
		}
		body := make([]byte, chunk)
		for csid := byte(3); csid < 64 && sent < total; csid++ {
			// Every stream's message stays one chunk short of complete.
			for i := 0; i < claimed/chunk && sent < total; i++ {
				hdr := []byte{0xC0 | csid}
				if i == 0 {
					hdr = chunkHeader0(csid, claimed, 9)
				}
				if _, err := c.Write(append(hdr, body...)); err != nil {
					return
				}
				sent += chunk
			}
		}
	}()
	sent := <-attack
	// The server must have hung up: reading reaches the end.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the server kept the connection open after %d MiB without a connect", sent>>20)
	}
	const most = 1 << 20
	if read := ln.readBy(0); read > most {
		t.Fatalf("the server read %d KiB from a connection that never sent connect (and held it); want at most %d KiB", read>>10, most>>10)
	}
}

// TestStrangersCannotMakeTheServerAllocate: a connection that sets a huge
// chunk size before connect and then announces a huge message, sending
// next to nothing, must not make the server allocate for what it claims.
func TestStrangersCannotMakeTheServerAllocate(t *testing.T) {
	_, _, addr := doorServer(t)
	const conns = 8
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			if _, _, err := handshake.DoClient(c, false, false); err != nil {
				t.Errorf("handshake: %v", err)
				return
			}
			claim := append(setChunkSize(10<<20), chunkHeader0(3, 10<<20, 9)...)
			if _, err := c.Write(append(claim, make([]byte, 100)...)); err != nil {
				return
			}
			// Wait for the server to hang up, or give up when the test's
			// deadline passes (then the allocation below fails the test).
			_, _ = io.Copy(io.Discard, c)
		})
	}
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("%d connections that each claimed a 10 MiB message and sent 100 bytes made the server allocate %d MiB", conns, grew>>20)
	}
}

// TestWrongKeysDoNotLockTheRightKeyOut: after many unknown stream keys from
// an address (someone guessing, behind the broadcaster's NAT), the right
// key from the same address still goes live. Guessing stays slow: each
// attempt past the burst is answered late.
func TestWrongKeysDoNotLockTheRightKeyOut(t *testing.T) {
	_, _, addr := doorServer(t)
	try := func(key string) error {
		u, err := url.Parse("rtmp://" + addr + "/live#" + key)
		if err != nil {
			t.Fatal(err)
		}
		c := &gortmplib.Client{URL: u, Publish: true}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Initialize(ctx); err != nil {
			return err
		}
		c.Close()
		return nil
	}
	for i := range 12 {
		if err := try("wrong-key-" + string(rune('a'+i))); err == nil {
			t.Fatalf("wrong key %d was accepted", i)
		}
	}
	if err := try("key-1"); err != nil {
		t.Fatalf("after 12 wrong keys from this address, the right key is refused: %v", err)
	}
}
