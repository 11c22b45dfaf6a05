package hub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// clientFrame encodes one client frame the way a conforming client does:
// masked, with the shortest length encoding unless long is set.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	return rawFrame(fin, op, 0, true, payload)
}

func rawFrame(fin bool, op, rsv byte, masked bool, payload []byte) []byte {
	b0 := op | rsv<<4
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, m|byte(n))
	case n <= 0xFFFF:
		f = append(f, m|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, m|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f = append(f, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i%4])
	}
	return f
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

type parsed struct {
	op      byte
	payload string
}

// frameCases drives TestFrameParser and seeds FuzzFrameParser: client
// bytes, the messages they carry, and the close code of the breach they
// end with (0: none).
var frameCases = []struct {
	name string
	in   []byte
	want []parsed
	code websocket.StatusCode
}{
	{"text", clientFrame(true, opText, []byte(`{"op":"ping"}`)), []parsed{{opText, `{"op":"ping"}`}}, 0},
	{"empty text", clientFrame(true, opText, nil), []parsed{{opText, ""}}, 0},
	{"binary", clientFrame(true, opBinary, []byte{0xff, 0}), []parsed{{opBinary, "\xff\x00"}}, 0},
	{"two in a row", append(clientFrame(true, opText, []byte("a")), clientFrame(true, opText, []byte("b"))...),
		[]parsed{{opText, "a"}, {opText, "b"}}, 0},
	{"16-bit length", clientFrame(true, opText, bytes.Repeat([]byte("x"), 300)), []parsed{{opText, strings.Repeat("x", 300)}}, 0},
	{"64-bit length", rawFrame64(opText, bytes.Repeat([]byte("y"), 200)), []parsed{{opText, strings.Repeat("y", 200)}}, 0},
	{"fragments with a ping between", concat(
		clientFrame(false, opText, []byte("he")),
		clientFrame(true, opPing, []byte("p")),
		clientFrame(false, opContinuation, []byte("ll")),
		clientFrame(true, opContinuation, []byte("o")),
	), []parsed{{opPing, "p"}, {opText, "hello"}}, 0},
	{"UTF-8 split across fragments", concat(
		clientFrame(false, opText, []byte("caf\xc3")),
		clientFrame(true, opContinuation, []byte("\xa9")),
	), []parsed{{opText, "café"}}, 0},
	{"pong", clientFrame(true, opPong, []byte("x")), []parsed{{opPong, "x"}}, 0},
	{"close with code and reason", clientFrame(true, opClose, closePayload(1000, "bye")), []parsed{{opClose, "\x03\xe8bye"}}, 0},
	{"close without payload", clientFrame(true, opClose, nil), []parsed{{opClose, ""}}, 0},
	{"close 4000", clientFrame(true, opClose, closePayload(4000, "")), []parsed{{opClose, "\x0f\xa0"}}, 0},

	{"unmasked", rawFrame(true, opText, 0, false, []byte("a")), nil, closeProtocolError},
	{"reserved bit", rawFrame(true, opText, 4, true, []byte("a")), nil, closeProtocolError},
	{"unknown opcode", clientFrame(true, 3, []byte("a")), nil, closeProtocolError},
	{"fragmented ping", clientFrame(false, opPing, nil), nil, closeProtocolError},
	{"long ping", clientFrame(true, opPing, bytes.Repeat([]byte("p"), 126)), nil, closeProtocolError},
	{"continuation first", clientFrame(true, opContinuation, []byte("a")), nil, closeProtocolError},
	{"text inside a fragmented message", concat(
		clientFrame(false, opText, []byte("a")),
		clientFrame(true, opText, []byte("b")),
	), nil, closeProtocolError},
	{"64-bit length with the top bit", []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, nil, closeProtocolError},
	{"too big", clientFrame(true, opText, bytes.Repeat([]byte("z"), wire.MaxCommandBytes+1)), nil, wire.CloseTooBig},
	{"too big from the header alone", []byte{0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0}, nil, wire.CloseTooBig},
	{"too big in fragments", concat(
		clientFrame(false, opText, bytes.Repeat([]byte("z"), 3000)),
		clientFrame(true, opContinuation, bytes.Repeat([]byte("z"), 1097)),
	), nil, wire.CloseTooBig},
	{"not UTF-8", clientFrame(true, opText, []byte("bad \xff")), nil, wire.CloseInvalidData},
	{"not UTF-8 in fragments", concat(
		clientFrame(false, opText, []byte("ok")),
		clientFrame(true, opContinuation, []byte("\xc3(")),
	), nil, wire.CloseInvalidData},
	{"close with one byte", clientFrame(true, opClose, []byte{3}), nil, closeProtocolError},
	{"close 1005 on the wire", clientFrame(true, opClose, closePayload(1005, "")), nil, closeProtocolError},
	{"close 999", clientFrame(true, opClose, closePayload(999, "")), nil, closeProtocolError},
	{"close 5000", clientFrame(true, opClose, closePayload(5000, "")), nil, closeProtocolError},
	{"close reason not UTF-8", clientFrame(true, opClose, closePayload(1000, "\xff")), nil, wire.CloseInvalidData},
	{"messages before a breach", append(clientFrame(true, opText, []byte("a")), rawFrame(true, opText, 0, false, []byte("b"))...),
		[]parsed{{opText, "a"}}, closeProtocolError},
}

func rawFrame64(op byte, payload []byte) []byte {
	f := []byte{0x80 | op, 0x80 | 127}
	f = binary.BigEndian.AppendUint64(f, uint64(len(payload)))
	f = append(f, 0, 0, 0, 0) // a zero mask key
	return append(f, payload...)
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// feed parses in in chunks of size step (0: all at once), as bytes would
// arrive from a socket, and returns the messages and the breach, if any.
func feed(in []byte, step int) ([]parsed, websocket.StatusCode, int) {
	p := frameParser{limit: wire.MaxCommandBytes}
	var got []parsed
	emit := func(m message) error {
		got = append(got, parsed{m.op, string(m.payload)})
		return nil
	}
	var pending []byte
	rest := append([]byte(nil), in...)
	for len(rest) > 0 || len(pending) > 0 {
		n := len(rest)
		if step > 0 {
			n = min(step, len(rest))
		}
		if n == 0 {
			break // nothing more will come: an incomplete frame stays pending
		}
		pending = append(pending, rest[:n]...)
		rest = rest[n:]
		used, err := p.parse(pending, emit)
		if err != nil {
			var pe *protocolError
			if !errors.As(err, &pe) {
				panic(err)
			}
			return got, pe.code, len(pending) - used
		}
		pending = append([]byte(nil), pending[used:]...)
	}
	return got, 0, len(pending)
}

func TestFrameParser(t *testing.T) {
	for _, tc := range frameCases {
		for _, step := range []int{0, 1, 3, 7} {
			t.Run(fmt.Sprintf("%s/step=%d", tc.name, step), func(t *testing.T) {
				got, code, left := feed(tc.in, step)
				if code != tc.code {
					t.Fatalf("close code %d, want %d", code, tc.code)
				}
				if tc.code == 0 && left != 0 {
					t.Fatalf("%d bytes left unparsed", left)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("messages %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func FuzzFrameParser(f *testing.F) {
	for _, tc := range frameCases {
		f.Add(tc.in, uint8(0))
		f.Add(tc.in, uint8(5))
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		whole, code, _ := feed(in, 0)
		chunked, codeChunked, _ := feed(in, int(step))
		// The bytes' arrival must not change what they mean, except that
		// an oversized frame is refused as soon as its header is seen.
		if code != codeChunked && code != wire.CloseTooBig && codeChunked != wire.CloseTooBig {
			t.Fatalf("close code %d all at once, %d in chunks of %d", code, codeChunked, step)
		}
		if code == codeChunked && fmt.Sprint(whole) != fmt.Sprint(chunked) {
			t.Fatalf("messages differ when fed in chunks of %d", step)
		}
		for _, m := range whole {
			switch m.op {
			case opText, opBinary:
				if len(m.payload) > wire.MaxCommandBytes {
					t.Fatalf("a message of %d bytes passed the limit", len(m.payload))
				}
			case opClose, opPing, opPong:
				if len(m.payload) > maxControlPayload {
					t.Fatal("a control frame over 125 bytes passed")
				}
			default:
				t.Fatalf("emitted opcode %d", m.op)
			}
		}
	})
}

func TestServerFrames(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte("a"), n)
		f := textFrame(payload)
		if len(f) != headerLen(n)+n || f[0] != 0x81 {
			t.Fatalf("%d bytes: frame of %d starting %x", n, len(f), f[0])
		}
		// A client's parser (unmasked frames allowed) reads it back.
		got := readServerFrame(t, f)
		if !bytes.Equal(got, payload) {
			t.Fatalf("%d bytes: read back %d", n, len(got))
		}
	}
	c := closeFrame(wire.CloseSlowConsumer, strings.Repeat("é", 100))
	if len(c) > 2+maxControlPayload || c[0] != 0x88 {
		t.Fatalf("close frame of %d bytes", len(c))
	}
	code, reason := closeCode(c[2:])
	if code != wire.CloseSlowConsumer || !strings.HasPrefix(strings.Repeat("é", 100), reason) {
		t.Fatalf("close frame reads %d %q", code, reason)
	}
}

func readServerFrame(t *testing.T, f []byte) []byte {
	t.Helper()
	n, h := int(f[1]&0x7f), 2
	switch n {
	case 126:
		n, h = int(binary.BigEndian.Uint16(f[2:])), 4
	case 127:
		n, h = int(binary.BigEndian.Uint64(f[2:])), 10
	}
	if len(f) != h+n {
		t.Fatalf("frame of %d bytes announces %d", len(f), h+n)
	}
	return f[h:]
}

func BenchmarkUnmask(b *testing.B) {
	p := bytes.Repeat([]byte("x"), 512)
	key := []byte{1, 2, 3, 4}
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		unmask(p, key)
	}
}
