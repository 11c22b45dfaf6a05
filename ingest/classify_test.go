package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// TestClassify feeds gortmplib's message reader real malformed input and
// checks how its errors are sorted: a codec we name for the broadcaster, a
// broken chunk stream that ends the session, or one bad message to drop.
// It pins the library's error texts, which classify reads.
func TestClassify(t *testing.T) {
	msg := func(typ uint8, body []byte) []byte {
		var b bytes.Buffer
		w := rawmessage.NewWriter(&b, bytecounter.NewWriter(&b), false)
		if err := w.Write(&rawmessage.Message{ChunkStreamID: 6, Type: typ, MessageStreamID: 0x1000000, Body: body}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	if kind, _ := classify(errors.New("anything"), io.EOF); kind != errConn {
		t.Fatalf("an error after the connection's own: kind %d, want errConn", kind)
	}
	// gortmplib writes acknowledgements from inside Read: a failed write
	// is the connection's error, not a malformed message to drop.
	writeErr := &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
	if kind, _ := classify(fmt.Errorf("ack: %w", writeErr), nil); kind != errConn {
		t.Fatalf("a write timeout from inside Read: kind %d, want errConn", kind)
	}
	for _, c := range []struct {
		name  string
		input []byte
		kind  int
		what  string
	}{
		{"legacy FLV1 video", msg(9, []byte{0x22, 1, 0, 0, 0, 0}), errCodec, "Sorenson H.263"},
		{"legacy VP6 video", msg(9, []byte{0x14, 1, 0, 0, 0, 0}), errCodec, "VP6"},
		{"legacy Speex audio", msg(8, []byte{0xb2, 0x00}), errCodec, "Speex"},
		{"legacy Nellymoser audio", msg(8, []byte{0x62, 0x00}), errCodec, "Nellymoser"},
		{"enhanced VP8 video", msg(9, []byte{0x91, 'v', 'p', '0', '8', 0, 0, 0, 0}), errCodec, `"vp08"`},
		{"enhanced unknown audio", msg(8, []byte{0x91, 'x', 'y', 'z', 'w', 0}), errCodec, `"xyzw"`},
		{"aggregate message", msg(22, []byte{9, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0, 0}), errMessage, ""},
		{"video too short", msg(9, []byte{0x17, 1}), errMessage, ""},
		{"AMF3 data", msg(15, []byte{0, 2, 0, 1, 'x'}), errMessage, ""},
		{"bad AVC configuration", msg(9, []byte{0x17, 0, 0, 0, 0, 1, 2}), errMessage, ""},
		{"type 1 chunk first", []byte{0x46, 0, 0, 0, 0, 0, 4, 9, 1, 2, 3, 4}, errChunking, ""},
		{"message too large", append([]byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0}, make([]byte, 128)...), errChunking, ""},
		{"extended chunk stream id", []byte{0x00, 10, 0, 0, 0, 0, 0, 4, 9, 1, 0, 0, 0}, errChunking, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := bytes.NewReader(c.input)
			mr := message.NewReader(r, bytecounter.NewReader(r), nil)
			_, err := mr.Read()
			if err == nil {
				t.Fatal("read without an error")
			}
			kind, what := classify(err, nil)
			if kind != c.kind || !strings.Contains(what, c.what) {
				t.Fatalf("classify(%q) = %d %q, want %d naming %q", err, kind, what, c.kind, c.what)
			}
		})
	}
}

// FuzzAV1Keyframe: reading an AV1 temporal unit's frame header from a
// publisher's bytes never panics, whatever the OBUs hold.
func FuzzAV1Keyframe(f *testing.F) {
	f.Add([]byte{0x32, 0x02, 0x10}, []byte{0x0a, 0x0b, 0x00})
	f.Add([]byte{0x1a, 0x05, 0x10, 0, 0, 0, 0}, []byte{})
	f.Add([]byte{0x36, 0x80, 0x80}, []byte{0x34})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		tu := [][]byte{a, b}
		isAV1Keyframe(tu)
		av1SequenceHeader(tu)
	})
}
