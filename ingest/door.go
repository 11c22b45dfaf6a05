package ingest

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Limits before a publish is authorised. A connection that has not shown a
// valid stream key is a stranger: it may send the handshake and a few
// commands (about 5 KiB from ffmpeg and OBS), nothing that makes the
// server hold megabytes.
const (
	// DefaultMaxUnauthorizedBytes is what a connection may send before its
	// publish is authorised.
	DefaultMaxUnauthorizedBytes = 64 << 10
	// maxUnauthorizedChunk bounds the chunk size a connection may set
	// before its publish is authorised: gortmplib allocates a whole chunk
	// as soon as its header arrives.
	maxUnauthorizedChunk = 64 << 10
)

var errUnauthorizedBytes = errors.New("the connection sent too much before publishing")

// door is the connection as the RTMP reader sees it: until open, reads stop
// at limit bytes with errUnauthorizedBytes, so buffered fragments of
// messages never exceed it. It remembers the error the connection itself
// returned, which gortmplib's errors do not tell apart from the EOF of a
// truncated message body. It is used by the session's goroutine only.
type door struct {
	net.Conn
	limit  int
	read   int
	opened bool
	err    error // the connection's own error, once it had one
	// writeTimeout, once set (after the handshake, whose deadline covers
	// its writes), bounds every write from its start: gortmplib writes
	// acknowledgements from inside its reader, where no caller can set a
	// deadline first.
	writeTimeout time.Duration
	now          func() time.Time
}

// Write writes p with a deadline of its own, and remembers a failure as
// the connection's error, so that the reader stops rather than taking
// what follows for malformed messages.
func (d *door) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.writeTimeout > 0 {
		_ = d.Conn.SetWriteDeadline(d.now().Add(d.writeTimeout))
	}
	n, err := d.Conn.Write(p)
	if err != nil {
		d.err = err
	}
	return n, err
}

func (d *door) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if !d.opened {
		if d.read >= d.limit {
			d.err = errUnauthorizedBytes
			return 0, d.err
		}
		if len(p) > d.limit-d.read {
			p = p[:d.limit-d.read]
		}
	}
	n, err := d.Conn.Read(p)
	d.read += n
	if err != nil {
		d.err = err
	}
	return n, err
}

// open lifts the limit: the publish is authorised.
func (d *door) open() { d.opened = true }

// Kinds of errors gortmplib's message reader returns.
const (
	errConn     = iota // the connection's own: closed, timed out, over the door's limit
	errChunking        // the chunk stream is broken: nothing after it can be read
	errCodec           // a codec or an Enhanced RTMP packet type it does not read
	errMessage         // one message was whole but malformed: drop it and go on
)

// classify sorts an error of gortmplib's message reader, given the error
// the connection itself returned (nil if none), and for a codec refusal
// says what in words a broadcaster understands. The library's errors are
// plain strings; the sorting is pinned by a test that feeds it real
// malformed messages.
func classify(err, connErr error) (kind int, what string) {
	var op *net.OpError
	if connErr != nil || errors.As(err, &op) || errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's own error, reading or writing (gortmplib writes
		// acknowledgements and ping replies from inside Read).
		return errConn, ""
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unsupported video codec: "):
		return errCodec, "video codec " + legacyVideoCodec(strings.TrimPrefix(msg, "unsupported video codec: "))
	case strings.HasPrefix(msg, "unsupported audio codec: "):
		return errCodec, "audio codec " + legacyAudioCodec(strings.TrimPrefix(msg, "unsupported audio codec: "))
	case strings.HasPrefix(msg, "unsupported fourCC: "):
		return errCodec, "Enhanced RTMP codec " + fourCC(strings.TrimPrefix(msg, "unsupported fourCC: "))
	case strings.Contains(msg, "chunk"), strings.HasPrefix(msg, "body size"):
		return errChunking, ""
	}
	return errMessage, ""
}

// legacyVideoCodec names an FLV video codec id.
func legacyVideoCodec(id string) string {
	switch id {
	case "2":
		return "Sorenson H.263 (FLV1)"
	case "3":
		return "Screen Video"
	case "4", "5":
		return "On2 VP6"
	case "6":
		return "Screen Video 2"
	}
	return "number " + id
}

// legacyAudioCodec names an FLV audio codec id.
func legacyAudioCodec(id string) string {
	switch id {
	case "0", "3":
		return "PCM"
	case "1":
		return "ADPCM"
	case "4", "5", "6":
		return "Nellymoser"
	case "9":
		return "(reserved; an Enhanced RTMP header this server could not read)"
	case "11":
		return "Speex"
	case "14":
		return "MP3 8 kHz"
	}
	return "number " + id
}

// fourCC renders a FourCC the library printed as a number.
func fourCC(n string) string {
	v, err := strconv.ParseUint(n, 10, 32)
	if err != nil {
		return n
	}
	b := []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return n
		}
	}
	return strconv.Quote(string(b))
}
