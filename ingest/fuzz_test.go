package ingest_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/givelive/givelive/ingest"
	"github.com/givelive/givelive/ingest/hls"
)

// pipeListener hands Serve the server ends of in-memory connections.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1935} }

// A baseline x264 stream's parameter sets (pic_order_cnt_type 2).
var (
	testSPS = mustHex("6742c00ad90426c044000003000400000300f03c489920")
	testPPS = mustHex("68cb83cb20")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// avcConfig is an AVCDecoderConfigurationRecord with one SPS and PPS.
func avcConfig(sps, pps []byte) []byte {
	b := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1, byte(len(sps) >> 8), byte(len(sps))}
	b = append(b, sps...)
	b = append(b, 1, byte(len(pps)>>8), byte(len(pps)))
	return append(b, pps...)
}

// FuzzSession drives a whole server session with hostile input after a
// valid publish: either raw bytes on the chunk stream, or well-framed RTMP
// messages whose types, timestamps and bodies come from the fuzzer (so
// gortmplib's message and codec parsers, our track checks, timestamps and
// the muxer see them). The session must end without a panic, and the
// server must close cleanly.
func FuzzSession(f *testing.F) {
	nalu := func(n []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(n))), n...) }
	seq := append([]byte{0x17, 0, 0, 0, 0}, avcConfig(testSPS, testPPS)...)
	idr := append([]byte{0x17, 1, 0, 0, 0}, nalu([]byte{0x65, 0x88, 0x84, 0x00, 0x21})...)
	inter := append([]byte{0x27, 1, 0, 0, 0}, nalu([]byte{0x41, 0x9a, 0x38, 0x3b})...)
	aac := []byte{0xaf, 0x00, 0x12, 0x10}
	frame := []byte{0xaf, 0x01, 0x21, 0x00, 0x49}
	msg := func(typ uint8, ts uint32, body []byte) []byte {
		b := []byte{typ, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:5], ts)
		binary.BigEndian.PutUint16(b[5:7], uint16(len(body)))
		return append(b, body...)
	}
	var stream []byte
	stream = append(stream, 0) // structured
	stream = append(stream, msg(9, 0, seq)...)
	stream = append(stream, msg(8, 0, aac)...)
	for i := range uint32(75) {
		v := inter
		if i%30 == 0 {
			v = idr
		}
		stream = append(stream, msg(9, i*33, v)...)
		stream = append(stream, msg(8, i*23, frame)...)
	}
	f.Add(stream)
	f.Add(append([]byte{0}, msg(9, 0xFFFFFFF0, idr)...))
	f.Add(append(append([]byte{0}, msg(9, 0, seq)...), msg(9, 2500, []byte{0x90 | 1, 'h', 'v', 'c', '1', 0, 0, 0})...))
	f.Add(append([]byte{0}, msg(22, 5, append(append([]byte{9, 0, 0, byte(len(idr)), 0, 0, 0, 0, 0, 0, 0}, idr...), 0, 0, 0, 0))...))
	f.Add([]byte{1, 0x03, 0xff, 0xff, 0xff, 0x00, 0x00, 0x10, 0x09, 0x01, 0x00, 0x00, 0x00})
	f.Add([]byte{1, 0xc4, 0x00, 0x00, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 1<<16 {
			return
		}
		window, err := hls.NewServer(hls.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer window.Close()
		srv, err := ingest.New(ingest.Config{Keys: keys{"key-1": "f1"}, Events: newEvents(), HLS: window,
			HandshakeTimeout: time.Second, IdleTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ln := newPipeListener()
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		client, server := net.Pipe()
		ln.conns <- server
		_ = client.SetDeadline(time.Now().Add(5 * time.Second))
		publishOver(t, client, data)
		client.Close()
		srv.Close()
		if err := <-served; !errors.Is(err, ingest.ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
	})
}

// publishOver publishes with key-1 on c, then sends data: raw chunk-stream
// bytes when data[0] is odd, else messages framed as type(1) ts(4) len(2)
// body. Write errors (the server hung up) end it quietly.
func publishOver(t *testing.T, c net.Conn, data []byte) {
	bc := bytecounter.NewReadWriter(c)
	if _, _, err := handshake.DoClient(bc, false, false); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, c); close(drained) }()
	defer func() { c.Close(); <-drained }()
	w := message.NewWriter(bc, bc.Writer, false)
	for _, m := range []message.Message{
		&message.CommandAMF0{ChunkStreamID: 3, Name: "connect", CommandID: 1,
			Arguments: []any{amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://127.0.0.1/live"}}}},
		&message.CommandAMF0{ChunkStreamID: 3, Name: "createStream", CommandID: 2, Arguments: []any{nil}},
		&message.CommandAMF0{ChunkStreamID: 8, MessageStreamID: 0x1000000, Name: "publish", CommandID: 3,
			Arguments: []any{nil, "key-1", "live"}},
	} {
		if w.Write(m) != nil {
			return
		}
	}
	mode, data := data[0], data[1:]
	if mode%2 == 1 {
		_, _ = bc.Write(data)
		return
	}
	rw := rawmessage.NewWriter(bc, bc.Writer, false)
	for len(data) >= 7 {
		typ, ts, n := data[0], binary.BigEndian.Uint32(data[1:5]), int(binary.BigEndian.Uint16(data[5:7]))
		data = data[7:]
		n = min(n, len(data))
		if rw.Write(&rawmessage.Message{ChunkStreamID: 6, Type: typ, MessageStreamID: 0x1000000,
			Timestamp: time.Duration(ts) * time.Millisecond, Body: data[:n]}) != nil {
			return
		}
		data = data[n:]
	}
}
