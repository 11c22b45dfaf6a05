package hub

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// The server side of RFC 6455 framing. The WebSocket library answers the
// handshake; after it the hub reads and writes the connection's frames
// itself (docs/ARCHITECTURE.md says why): server frames are built once per
// event and written as they are to every subscriber, and client frames are
// parsed from whatever bytes arrived, so an idle connection holds no reader
// goroutine and no buffer.

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxHeader is the longest server frame header: no mask, 64-bit length.
const maxHeader = 10

// maxControlPayload is the most a control frame may carry (section 5.5).
const maxControlPayload = 125

// headerLen is the length of an unmasked frame header for n payload bytes.
func headerLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// putHeader writes the header of a final, unmasked frame carrying n payload
// bytes into b, which must be headerLen(n) long.
func putHeader(b []byte, op byte, n int) {
	b[0] = 0x80 | op
	switch len(b) {
	case 2:
		b[1] = byte(n)
	case 4:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
}

// frameBuilder builds one server frame whose payload is appended after the
// header's room: call payload to get the buffer to append to, then frame.
// The header is written into the room left in front, so the payload is
// never moved.
type frameBuilder struct{ buf []byte }

// newFrameBuilder returns a builder whose payload will be about size bytes.
func newFrameBuilder(size int) frameBuilder {
	return frameBuilder{buf: make([]byte, maxHeader, maxHeader+size)}
}

// frame returns the whole frame: header and payload.
func (f frameBuilder) frame(op byte) []byte {
	n := len(f.buf) - maxHeader
	h := headerLen(n)
	putHeader(f.buf[maxHeader-h:maxHeader], op, n)
	return f.buf[maxHeader-h:]
}

// textFrame returns payload as one final text frame.
func textFrame(payload []byte) []byte {
	fb := newFrameBuilder(len(payload))
	fb.buf = append(fb.buf, payload...)
	return fb.frame(opText)
}

// controlFrame returns a control frame (close, ping, pong); payload is at
// most maxControlPayload bytes.
func controlFrame(op byte, payload []byte) []byte {
	f := make([]byte, 2, 2+len(payload))
	f[0], f[1] = 0x80|op, byte(len(payload))
	return append(f, payload...)
}

// closeFrame returns a close frame with code and reason (cut to fit, on a
// UTF-8 boundary).
func closeFrame(code websocket.StatusCode, reason string) []byte {
	p := binary.BigEndian.AppendUint16(make([]byte, 0, maxControlPayload), uint16(code))
	for len(reason) > maxControlPayload-2 {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	return controlFrame(opClose, append(p, reason...))
}

// protocolError is a client's breach of the protocol: the connection is
// closed with code (1002 protocol error, 1007 invalid data, 1009 too big).
type protocolError struct {
	code   websocket.StatusCode
	reason string
}

func (e *protocolError) Error() string { return e.reason }

func protoErr(code websocket.StatusCode, reason string) *protocolError {
	return &protocolError{code: code, reason: reason}
}

// Close codes of protocol breaches beside the ones in package wire.
const (
	closeProtocolError websocket.StatusCode = 1002
	closeNoStatus      websocket.StatusCode = 1005 // a close frame without a code: never sent
)

// message is one complete client message or control frame.
type message struct {
	op      byte
	payload []byte // valid until the next call to parse
}

// frameParser reads client frames (section 5): every frame must be masked,
// carry no reserved bits (no extension was negotiated) and a known opcode;
// control frames are final and at most 125 bytes and may come between the
// fragments of a message; a message (all its fragments) is at most limit
// bytes, and a text message must be UTF-8. Its zero value is ready; it
// keeps only the fragments of a message in progress between calls.
type frameParser struct {
	limit    int    // most bytes in one message
	fragOp   byte   // opText or opBinary while a fragmented message is open
	fragment []byte // its payload so far
}

// parse reads the frames at the start of buf, unmasking their payloads in
// place, and hands each complete message and control frame to emit. It
// returns how many bytes it consumed: the rest is an incomplete frame to
// be passed again with more bytes behind it. It stops at the first error
// emit returns or the first breach of the protocol (a *protocolError).
func (p *frameParser) parse(buf []byte, emit func(message) error) (int, error) {
	used := 0
	for {
		n, err := p.next(buf[used:], emit)
		if n == 0 || err != nil {
			return used, err
		}
		used += n
	}
}

// next parses one frame at the start of buf; it returns 0 when buf holds
// no complete frame yet.
func (p *frameParser) next(buf []byte, emit func(message) error) (int, error) {
	if len(buf) < 2 {
		return 0, nil
	}
	b0, b1 := buf[0], buf[1]
	fin, op := b0&0x80 != 0, b0&0x0F
	if b0&0x70 != 0 {
		return 0, protoErr(closeProtocolError, "reserved bits set")
	}
	if b1&0x80 == 0 {
		return 0, protoErr(closeProtocolError, "client frames must be masked")
	}
	control := op&0x8 != 0
	switch op {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
	default:
		return 0, protoErr(closeProtocolError, "unknown opcode")
	}
	size, hlen := uint64(b1&0x7F), 2
	switch size {
	case 126:
		hlen = 4
	case 127:
		hlen = 10
	}
	if control && (!fin || size > maxControlPayload) {
		return 0, protoErr(closeProtocolError, "control frames must be final and at most 125 bytes")
	}
	if len(buf) < hlen {
		return 0, nil
	}
	switch hlen {
	case 4:
		size = uint64(binary.BigEndian.Uint16(buf[2:]))
	case 10:
		size = binary.BigEndian.Uint64(buf[2:])
		if size>>63 != 0 {
			return 0, protoErr(closeProtocolError, "frame length out of range")
		}
	}
	switch {
	case op == opContinuation && p.fragOp == 0:
		return 0, protoErr(closeProtocolError, "continuation without a message")
	case (op == opText || op == opBinary) && p.fragOp != 0:
		return 0, protoErr(closeProtocolError, "new message inside a fragmented one")
	}
	// Refuse an oversized message from its header: never wait for (or
	// buffer) bytes that will be refused anyway.
	if !control && size+uint64(len(p.fragment)) > uint64(p.limit) {
		return 0, protoErr(wire.CloseTooBig, "message too big")
	}
	total := hlen + 4 + int(size)
	if len(buf) < total {
		return 0, nil
	}
	mask := buf[hlen : hlen+4]
	payload := buf[hlen+4 : total]
	unmask(payload, mask)

	if control {
		return total, p.control(op, payload, emit)
	}
	if op != opContinuation && fin { // the common case: one frame, one message
		if op == opText && !utf8.Valid(payload) {
			return 0, protoErr(wire.CloseInvalidData, "text frames must be UTF-8")
		}
		return total, emit(message{op: op, payload: payload})
	}
	if op != opContinuation {
		p.fragOp = op
	}
	p.fragment = append(p.fragment, payload...)
	if !fin {
		return total, nil
	}
	m := message{op: p.fragOp, payload: p.fragment}
	p.fragOp, p.fragment = 0, nil
	if m.op == opText && !utf8.Valid(m.payload) {
		return 0, protoErr(wire.CloseInvalidData, "text frames must be UTF-8")
	}
	return total, emit(m)
}

// control checks a close frame's payload before emitting it; pings and
// pongs pass as they are.
func (p *frameParser) control(op byte, payload []byte, emit func(message) error) error {
	if op == opClose {
		switch {
		case len(payload) == 1:
			return protoErr(closeProtocolError, "close frame with a one-byte payload")
		case len(payload) >= 2 && !validCloseCode(binary.BigEndian.Uint16(payload)):
			return protoErr(closeProtocolError, "invalid close code")
		case len(payload) > 2 && !utf8.Valid(payload[2:]):
			return protoErr(wire.CloseInvalidData, "close reason is not UTF-8")
		}
	}
	return emit(message{op: op, payload: payload})
}

// validCloseCode reports whether a peer may send code (section 7.4):
// the defined codes that may travel on the wire, and 3000–4999.
func validCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// closeCode reads a close frame's payload: its code (1005 when it has
// none) and reason.
func closeCode(payload []byte) (websocket.StatusCode, string) {
	if len(payload) < 2 {
		return closeNoStatus, ""
	}
	return websocket.StatusCode(binary.BigEndian.Uint16(payload)), string(payload[2:])
}

// unmask XORs b with the 4-byte mask key, in place.
func unmask(b, key []byte) {
	k := binary.LittleEndian.Uint32(key)
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		binary.LittleEndian.PutUint64(b[i:], v^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}
