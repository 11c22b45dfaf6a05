package rtmp

import (
	"bytes"
	"io"
	"testing"
)

// loopReader serves prefix once, then body over and over.
type loopReader struct {
	prefix, body []byte
	off          int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.prefix) > 0 {
		n := copy(p, l.prefix)
		l.prefix = l.prefix[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		k := copy(p[n:], l.body[l.off:])
		n += k
		l.off = (l.off + k) % len(l.body)
	}
	return n, nil
}

// BenchmarkReadMessage reads a stream like a 3 Mbit/s publish: 30 fps
// video messages of about 12 KB in chunks of 4096, with an AAC frame of
// 370 bytes on another chunk stream between them.
func BenchmarkReadMessage(b *testing.B) {
	var prefix, body bytes.Buffer
	w := NewWriter(&prefix)
	if err := w.WriteMessage(SetChunkSizeMessage(4096)); err != nil {
		b.Fatal(err)
	}
	w = NewWriter(&body)
	w.SetChunkSize(4096)
	video := Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 1000, Payload: make([]byte, 12_500)}
	audio := Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 1000, Payload: make([]byte, 370)}
	for _, m := range []Message{video, audio} {
		if err := w.WriteMessage(m); err != nil {
			b.Fatal(err)
		}
	}
	r := NewReader(&loopReader{prefix: prefix.Bytes(), body: body.Bytes()}, ReaderConfig{})
	if _, err := r.ReadMessage(); err != nil { // the Set Chunk Size
		b.Fatal(err)
	}
	b.SetBytes(int64(body.Len()) / 2)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteMessage writes the same 12.5 KB video message in chunks of
// 4096: one buffer reused, no allocation.
func BenchmarkWriteMessage(b *testing.B) {
	w := NewWriter(io.Discard)
	w.SetChunkSize(4096)
	m := Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 1000, Payload: make([]byte, 12_500)}
	b.SetBytes(int64(len(m.Payload)))
	b.ReportAllocs()
	for range b.N {
		if err := w.WriteMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadMessageAllocs holds the hot path to one allocation per message,
// its payload.
func TestReadMessageAllocs(t *testing.T) {
	var prefix, body bytes.Buffer
	if err := NewWriter(&prefix).WriteMessage(SetChunkSizeMessage(4096)); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(&body)
	w.SetChunkSize(4096)
	if err := w.WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Payload: make([]byte, 12_500)}); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&loopReader{prefix: prefix.Bytes(), body: body.Bytes()}, ReaderConfig{})
	if _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per message, want 1", allocs)
	}
	w = NewWriter(io.Discard)
	w.SetChunkSize(4096)
	m := Message{ChunkStreamID: 6, Type: TypeVideo, Payload: make([]byte, 12_500)}
	w.WriteMessage(m) // sizes the buffer
	if allocs := testing.AllocsPerRun(100, func() { w.WriteMessage(m) }); allocs != 0 {
		t.Errorf("Writer: %v allocations per message, want 0", allocs)
	}
}
