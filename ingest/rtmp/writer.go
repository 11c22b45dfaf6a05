package rtmp

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// maxKeptWriteBuffer is the largest buffer a Writer keeps between
// messages; a rare huge message should not pin its size for the life of
// the connection.
const maxKeptWriteBuffer = 1 << 20

// Writer splits messages into chunks.
//
// A Writer is not safe for concurrent use: one goroutine calls its
// methods. It may run alongside a Reader on the same connection.
type Writer struct {
	w         io.Writer
	chunkSize uint32
	buf       []byte
	err       error
}

// NewWriter returns a Writer writing chunks to w with the default chunk
// size of 128 bytes.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, chunkSize: defaultChunkSize}
}

// SetChunkSize changes the outgoing chunk size for the messages written
// after it. It does not tell the peer: send
// WriteMessage(SetChunkSizeMessage(n)) first, then call SetChunkSize.
// n is clamped to 1..0x7FFFFFFF, the range the peer accepts.
func (w *Writer) SetChunkSize(n uint32) {
	w.chunkSize = min(max(n, 1), 0x7FFFFFFF)
}

// ChunkSize returns the outgoing chunk size.
func (w *Writer) ChunkSize() uint32 { return w.chunkSize }

// WriteMessage writes m split into chunks on m.ChunkStreamID: a format 0
// header, then format 3 continuation chunks. A timestamp of 0xFFFFFF or
// more goes in the extended timestamp field, which every continuation
// chunk repeats. The chunks are assembled in a buffer and handed to the
// underlying writer in one Write, so on a net.Conn a message costs one
// syscall and messages from one Writer never interleave.
//
// A message that cannot be sent (bad chunk stream id, payload over
// MaxMessageLength) is refused without writing anything. A failed write
// leaves the peer mid-chunk, so that error is sticky.
func (w *Writer) WriteMessage(m Message) error {
	if w.err != nil {
		return w.err
	}
	if m.ChunkStreamID < 2 || m.ChunkStreamID > MaxChunkStreamID {
		return fmt.Errorf("rtmp: failed to write message: chunk stream id %d outside 2..%d", m.ChunkStreamID, MaxChunkStreamID)
	}
	if len(m.Payload) > MaxMessageLength {
		return fmt.Errorf("%w: failed to write message of %d bytes", ErrTooLarge, len(m.Payload))
	}
	b := w.appendMessage(w.buf[:0], m)
	_, err := w.w.Write(b)
	if cap(b) <= maxKeptWriteBuffer {
		w.buf = b
	} else {
		w.buf = nil
	}
	if err != nil {
		w.err = fmt.Errorf("rtmp: failed to write message: %w", err)
		return w.err
	}
	return nil
}

// appendMessage appends the chunks of m to b.
func (w *Writer) appendMessage(b []byte, m Message) []byte {
	extended := m.Timestamp >= extendedTimestamp
	cs := int(w.chunkSize)
	chunks := 1
	if len(m.Payload) > 0 {
		chunks = (len(m.Payload)-1)/cs + 1
	}
	perChunk := 3 // largest basic header
	if extended {
		perChunk += 4
	}
	b = slices.Grow(b, len(m.Payload)+11+chunks*perChunk)

	b = appendBasicHeader(b, 0, m.ChunkStreamID)
	ts := m.Timestamp
	if extended {
		ts = extendedTimestamp
	}
	n := len(m.Payload)
	b = append(b, byte(ts>>16), byte(ts>>8), byte(ts), byte(n>>16), byte(n>>8), byte(n), m.Type)
	b = binary.LittleEndian.AppendUint32(b, m.StreamID)
	if extended {
		b = binary.BigEndian.AppendUint32(b, m.Timestamp)
	}
	p := m.Payload
	for {
		k := min(len(p), cs)
		b = append(b, p[:k]...)
		p = p[k:]
		if len(p) == 0 {
			return b
		}
		b = appendBasicHeader(b, 3, m.ChunkStreamID)
		if extended {
			b = binary.BigEndian.AppendUint32(b, m.Timestamp)
		}
	}
}

// appendBasicHeader appends the shortest basic header for format and
// chunk stream id (2..65599).
func appendBasicHeader(b []byte, format uint8, id uint32) []byte {
	switch {
	case id < 64:
		return append(b, format<<6|byte(id))
	case id < 64+256:
		return append(b, format<<6, byte(id-64))
	default:
		return append(b, format<<6|1, byte(id-64), byte((id-64)>>8))
	}
}
