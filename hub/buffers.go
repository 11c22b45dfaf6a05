package hub

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
)

// Buffer sizes for hijacked connections. net/http hands a hijacked
// connection its own 4 KiB reader and writer, which the WebSocket library
// keeps for the connection's life: 8 KiB per idle viewer. Commands are at
// most 4 KiB and rare, so a small reader suffices (a larger command is read
// in several fills). Most frames are single events of a few hundred bytes,
// which fit the writer in one system call; a larger (batched) frame costs
// one more, amortized over its events.
const (
	readBufferSize  = 512
	writeBufferSize = 2048
)

// smallBuffers wraps a ResponseWriter so that Hijack returns small buffers.
type smallBuffers struct{ http.ResponseWriter }

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the underlying connection and moves whatever the client
// already sent (bytes buffered by net/http) into a small reader.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	pending, err := brw.Reader.Peek(brw.Reader.Buffered())
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	pending = bytes.Clone(pending)
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pending), conn), max(readBufferSize, len(pending)))
	if len(pending) > 0 {
		// Pull the early bytes into the buffer now: the WebSocket library
		// takes what is buffered and then reads straight from conn.
		if _, err := r.Peek(len(pending)); err != nil && !errors.Is(err, io.EOF) {
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(conn, writeBufferSize)), nil
}
