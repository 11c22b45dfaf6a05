package hub

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// errWouldBlock is a write or read that could not go on without waiting.
var errWouldBlock = errors.New("operation would block")

// sock is an accepted connection the hub reads and writes itself. Writes
// that must not wait (from the fan-out) and reads of whatever has arrived
// go straight to the socket through its RawConn; writes that may wait
// (a flusher draining a backlog) go through the net.Conn, which parks the
// goroutine in Go's network poller.
type sock struct {
	nc net.Conn
	rc syscall.RawConn // nil: the connection has no file descriptor (never written without waiting)
}

func newSock(nc net.Conn) sock {
	s := sock{nc: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			s.rc = rc
		}
	}
	return s
}

// handoff is what the hijack leaves the hub: the client's connection and
// the bytes it sent behind its handshake, which net/http had buffered.
type handoff struct {
	nc      net.Conn
	pending []byte
}

// hijacker wraps the handshake's ResponseWriter. The WebSocket library
// checks the handshake and answers it; when it hijacks the connection, the
// hub keeps the real one and hands the library a stand-in with no buffers,
// which the library drops at once.
type hijacker struct {
	http.ResponseWriter
	got *handoff
}

func (w *hijacker) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack takes the connection from net/http, after its buffered response
// (the 101) is out.
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	pending, err := brw.Reader.Peek(brw.Reader.Buffered())
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	w.got = &handoff{nc: nc, pending: bytes.Clone(pending)}
	stand := detached{local: nc.LocalAddr(), remote: nc.RemoteAddr()}
	return stand, bufio.NewReadWriter(bufio.NewReaderSize(stand, 16), bufio.NewWriterSize(stand, 16)), nil
}

// detached stands in for the hijacked connection in the library's hands:
// it reads nothing, writes nothing and closing it closes nothing.
type detached struct{ local, remote net.Addr }

var errDetached = errors.New("the hub owns this connection")

func (detached) Read([]byte) (int, error)         { return 0, io.EOF }
func (detached) Write([]byte) (int, error)        { return 0, errDetached }
func (detached) Close() error                     { return nil }
func (d detached) LocalAddr() net.Addr            { return d.local }
func (d detached) RemoteAddr() net.Addr           { return d.remote }
func (detached) SetDeadline(time.Time) error      { return nil }
func (detached) SetReadDeadline(time.Time) error  { return nil }
func (detached) SetWriteDeadline(time.Time) error { return nil }
