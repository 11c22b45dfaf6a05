package ingest_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest"
	"github.com/givelive/givelive/ingest/flv"
	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/ingest/rtmp"
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

// FuzzSession drives a whole server session with hostile input after a
// valid publish: either raw bytes on the chunk stream, or well-framed RTMP
// messages whose types, timestamps and bodies come from the fuzzer (so the
// tag parsers, the timestamp unwrapping and the segmenter see them). The
// session must end without a panic, and the server must close cleanly.
func FuzzSession(f *testing.F) {
	avc := flv.AppendAVCConfig(nil, flv.AVCConfig{Profile: 100, Level: 31, LengthSize: 4,
		SPS: [][]byte{{0x67, 0x64, 0x00, 0x1f, 0xac}}, PPS: [][]byte{{0x68, 0xee, 0x3c, 0x80}}})
	seq := flv.AppendVideoTag(nil, flv.VideoTag{Codec: flv.VideoAVC, Keyframe: true, PacketType: flv.VideoSequenceStart, Data: avc})
	idr := flv.AppendVideoTag(nil, flv.VideoTag{Codec: flv.VideoAVC, Keyframe: true, PacketType: flv.VideoCodedFrames,
		CompositionTime: 66, Data: flv.AppendAVCC(nil, 4, []byte{0x65, 0x88, 0x84, 0x00})})
	aac := flv.AppendAudioTag(nil, flv.AudioTag{Codec: flv.AudioAAC, SequenceHeader: true, Data: []byte{0x12, 0x10}})
	frame := flv.AppendAudioTag(nil, flv.AudioTag{Codec: flv.AudioAAC, PacketType: flv.AudioCodedFrames, Data: []byte{0x21, 0x00, 0x49}})
	msg := func(typ uint8, ts uint32, body []byte) []byte {
		b := []byte{typ, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:5], ts)
		binary.BigEndian.PutUint16(b[5:7], uint16(len(body)))
		return append(b, body...)
	}
	var stream []byte
	stream = append(stream, 0) // structured
	stream = append(stream, msg(rtmp.TypeVideo, 0, seq)...)
	stream = append(stream, msg(rtmp.TypeAudio, 0, aac)...)
	for i := range uint32(90) {
		stream = append(stream, msg(rtmp.TypeVideo, i*33, idr)...)
		stream = append(stream, msg(rtmp.TypeAudio, i*21, frame)...)
	}
	f.Add(stream)
	f.Add(append([]byte{0}, msg(rtmp.TypeVideo, 0xFFFFFFF0, idr)...))
	f.Add(append([]byte{0}, msg(rtmp.TypeAggregate, 5, append(append([]byte{9, 0, 0, byte(len(idr)), 0, 0, 0, 0, 0, 0, 0}, idr...), 0, 0, 0, 0))...))
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
	if err := rtmp.ClientHandshake(c, nil); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, c); close(drained) }()
	defer func() { c.Close(); <-drained }()
	w := rtmp.NewWriter(c)
	for _, cmd := range []rtmp.Command{
		{Name: "connect", TransactionID: 1, Object: rtmp.Object{{Name: "app", Value: "live"}}},
		{Name: "createStream", TransactionID: 2},
	} {
		m, _ := rtmp.CommandMessage(3, 0, cmd)
		if w.WriteMessage(m) != nil {
			return
		}
	}
	m, _ := rtmp.CommandMessage(8, 1, rtmp.Command{Name: "publish", TransactionID: 3, Args: []any{"key-1", "live"}})
	if w.WriteMessage(m) != nil {
		return
	}
	mode, data := data[0], data[1:]
	if mode%2 == 1 {
		_, _ = c.Write(data)
		return
	}
	for len(data) >= 7 {
		typ, ts, n := data[0], binary.BigEndian.Uint32(data[1:5]), int(binary.BigEndian.Uint16(data[5:7]))
		data = data[7:]
		n = min(n, len(data))
		if w.WriteMessage(rtmp.Message{ChunkStreamID: 6, Type: typ, StreamID: 1, Timestamp: ts, Payload: data[:n]}) != nil {
			return
		}
		data = data[n:]
	}
}
