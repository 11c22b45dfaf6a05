package rtmp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors a Reader returns wrapped, for callers that branch on the cause.
var (
	// ErrTooLarge: a message header announced more than MaxMessageSize bytes.
	ErrTooLarge = errors.New("rtmp: message too large")
	// ErrTooManyChunkStreams: the peer used more chunk stream ids than
	// MaxChunkStreams.
	ErrTooManyChunkStreams = errors.New("rtmp: too many chunk streams")
	// ErrProtocol: the byte stream is not valid RTMP chunking (a header
	// format with nothing to inherit from, a bad Set Chunk Size, ...).
	ErrProtocol = errors.New("rtmp: protocol violation")
)

const (
	defaultChunkSize       = 128
	defaultMaxMessageSize  = 16 << 20
	defaultMaxChunkStreams = 64

	// maxPayloadPrealloc caps the buffer allocated when a message starts.
	// The buffer then doubles only as data actually arrives, so a header
	// that claims 16 MiB and never delivers costs at most this much.
	maxPayloadPrealloc = 64 << 10

	// readBufferSize lets one read syscall carry several 4096-byte chunks.
	readBufferSize = 32 << 10

	// extendedTimestamp in the 24-bit timestamp field means the real value
	// follows the message header as 4 more bytes.
	extendedTimestamp = 0xFFFFFF
)

// ReaderConfig limits what a peer can make a Reader hold. The zero value
// means the defaults.
type ReaderConfig struct {
	// MaxMessageSize is the largest message accepted; 0 means 16 MiB.
	// A header announcing more fails with an error wrapping ErrTooLarge.
	MaxMessageSize int
	// MaxChunkStreams is how many chunk streams may have state at once;
	// 0 means 64. One more fails with an error wrapping
	// ErrTooManyChunkStreams.
	MaxChunkStreams int
}

// chunkStream is the state the chunk headers of one chunk stream id
// inherit from each other.
type chunkStream struct {
	id        uint32
	timestamp uint32 // absolute timestamp of the current or last message
	// delta is the timestamp field of the last format 0, 1 or 2 header
	// (its extended value if it had one). A format 3 chunk that starts a
	// new message adds it again. After format 0 it is the absolute
	// timestamp: that is what ffmpeg's writer assumes when it chooses
	// format 3, and what librtmp's reader does.
	delta    uint32
	length   uint32
	typ      uint8
	streamID uint32
	// extended: the last format 0, 1 or 2 header had an extended
	// timestamp, so every format 3 chunk that follows carries one too.
	extended bool
	// ext is the extended timestamp of the current message's first
	// chunk, which its continuation chunks repeat.
	ext uint32
	// hasHeader: a header has set length and type, so formats 2 and 3
	// have something to inherit.
	hasHeader  bool
	inProgress bool
	payload    []byte
}

// Reader reassembles RTMP messages from a chunk stream.
//
// A Reader is not safe for concurrent use: one goroutine calls its
// methods. It buffers its input, so nothing else may read from the
// underlying reader once the Reader is in use.
type Reader struct {
	br         *bufio.Reader
	maxSize    uint32
	maxStreams int
	chunkSize  uint32
	bytesRead  uint64
	err        error
	hdr        [11]byte
	low        [64]*chunkStream // ids 2..63, the 1-byte basic header form
	high       map[uint32]*chunkStream
	streams    int
	partial    int // messages started and not complete
}

// NewReader returns a Reader reading chunks from r, with the incoming
// chunk size at its default of 128 bytes. r should be positioned just
// after the handshake.
func NewReader(r io.Reader, cfg ReaderConfig) *Reader {
	maxSize := uint32(defaultMaxMessageSize)
	if cfg.MaxMessageSize > 0 && cfg.MaxMessageSize < defaultMaxMessageSize {
		maxSize = uint32(cfg.MaxMessageSize)
	}
	maxStreams := cfg.MaxChunkStreams
	if maxStreams <= 0 {
		maxStreams = defaultMaxChunkStreams
	}
	return &Reader{
		br:         bufio.NewReaderSize(r, readBufferSize),
		maxSize:    maxSize,
		maxStreams: maxStreams,
		chunkSize:  defaultChunkSize,
	}
}

// ChunkSize returns the incoming chunk size, as last set by the peer.
func (r *Reader) ChunkSize() uint32 { return r.chunkSize }

// BytesRead returns how many bytes of chunks the Reader has consumed: the
// figure a server compares with the peer's window to send
// acknowledgements. The handshake is not included.
func (r *Reader) BytesRead() uint64 { return r.bytesRead }

// ReadMessage returns the next complete message. It handles all four chunk
// header formats, 1-, 2- and 3-byte basic headers (chunk streams 2 to
// 65599), extended timestamps, timestamp deltas and interleaved chunk
// streams, reassembling a message per chunk stream.
//
// Timestamps: format 0 sets the absolute timestamp, formats 1 and 2 add a
// delta, and a format 3 chunk that starts a message adds the last
// header's timestamp field again (after format 0, that field is the
// absolute timestamp, as ffmpeg's writer and librtmp's reader agree). A
// format 1 header on a fresh chunk stream is accepted with message stream
// 0 and a delta from 0, as librtmp sends its first ping; formats 2 and 3
// there are errors wrapping ErrProtocol.
//
// Set Chunk Size and Abort messages are applied by the Reader itself and
// still returned, so the caller sees everything the peer sent.
//
// Memory: a message's buffer starts at no more than 64 KiB and doubles as
// its data arrives, so a peer holds at most about MaxChunkStreams × 64 KiB
// plus twice the data it actually sent in partial messages.
//
// Errors are sticky. io.EOF is returned bare when the input ends between
// messages; an input that ends inside a message gives an error wrapping
// io.ErrUnexpectedEOF; a read error (such as a deadline) is wrapped.
func (r *Reader) ReadMessage() (Message, error) {
	if r.err != nil {
		return Message{}, r.err
	}
	for {
		m, done, err := r.readChunk()
		if err == nil && done {
			err = r.apply(m)
		}
		if err != nil {
			r.err = err
			return Message{}, err
		}
		if done {
			return m, nil
		}
	}
}

// readChunk reads one chunk and reports the message it completes, if any.
func (r *Reader) readChunk() (Message, bool, error) {
	b0, err := r.br.ReadByte()
	if err != nil {
		if err == io.EOF {
			if r.partial == 0 {
				return Message{}, false, io.EOF
			}
			err = io.ErrUnexpectedEOF
		}
		return Message{}, false, fmt.Errorf("rtmp: failed to read chunk header: %w", err)
	}
	r.bytesRead++
	format := b0 >> 6
	id := uint32(b0 & 0x3f)
	switch id {
	case 0:
		if err := r.readFull(r.hdr[:1]); err != nil {
			return Message{}, false, err
		}
		id = 64 + uint32(r.hdr[0])
	case 1:
		if err := r.readFull(r.hdr[:2]); err != nil {
			return Message{}, false, err
		}
		id = 64 + uint32(r.hdr[0]) + uint32(r.hdr[1])<<8
	}
	cs, err := r.chunkStream(id)
	if err != nil {
		return Message{}, false, err
	}
	if err := r.readMessageHeader(cs, format); err != nil {
		return Message{}, false, err
	}
	return r.readChunkData(cs)
}

// readMessageHeader reads the chunk message header and extended timestamp
// of a chunk of format on cs, and starts a new message if one begins here.
func (r *Reader) readMessageHeader(cs *chunkStream, format uint8) error {
	if format == 3 {
		if !cs.hasHeader {
			return fmt.Errorf("%w: chunk stream %d starts with a format 3 chunk", ErrProtocol, cs.id)
		}
		if cs.inProgress {
			if cs.extended {
				return r.skipRepeatedExtended(cs)
			}
			return nil
		}
		if cs.extended {
			if err := r.readFull(r.hdr[:4]); err != nil {
				return err
			}
			cs.ext = binary.BigEndian.Uint32(r.hdr[:4])
			cs.delta = cs.ext
		}
		cs.timestamp += cs.delta
		return r.startMessage(cs)
	}

	if cs.inProgress {
		return fmt.Errorf("%w: format %d header on chunk stream %d in the middle of a message", ErrProtocol, format, cs.id)
	}
	// Format 1 on a fresh chunk stream is tolerated (message stream 0,
	// delta from 0): librtmp-based clients send their first ping that way.
	if format == 2 && !cs.hasHeader {
		return fmt.Errorf("%w: chunk stream %d starts with a format 2 chunk", ErrProtocol, cs.id)
	}
	h := r.hdr[:messageHeaderSize(format)]
	if err := r.readFull(h); err != nil {
		return err
	}
	ts := uint24(h[0:3])
	if format <= 1 {
		cs.length = uint24(h[3:6])
		cs.typ = h[6]
	}
	if format == 0 {
		cs.streamID = binary.LittleEndian.Uint32(h[7:11])
	}
	cs.extended = ts == extendedTimestamp
	if cs.extended {
		if err := r.readFull(r.hdr[:4]); err != nil {
			return err
		}
		ts = binary.BigEndian.Uint32(r.hdr[:4])
		cs.ext = ts
	}
	cs.delta = ts
	if format == 0 {
		cs.timestamp = ts
	} else {
		cs.timestamp += ts
	}
	cs.hasHeader = true
	return r.startMessage(cs)
}

// skipRepeatedExtended consumes the extended timestamp of a format 3
// continuation chunk. The spec and ffmpeg and OBS put it there, repeating
// the first chunk's; some encoders leave it out. Only 4 bytes equal to the
// expected value are taken as the field, so both kinds of stream read
// right, and streams over 4.6 hours (when timestamps need the field) do
// not turn to garbage with the second kind.
func (r *Reader) skipRepeatedExtended(cs *chunkStream) error {
	p, err := r.br.Peek(4)
	if len(p) == 4 && binary.BigEndian.Uint32(p) == cs.ext {
		r.br.Discard(4)
		r.bytesRead += 4
		return nil
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("rtmp: failed to read chunk: %w", err)
	}
	// Absent; an input cut short here fails on the chunk data.
	return nil
}

func (r *Reader) startMessage(cs *chunkStream) error {
	if cs.length > r.maxSize {
		return fmt.Errorf("%w: chunk stream %d announces %d bytes, limit %d", ErrTooLarge, cs.id, cs.length, r.maxSize)
	}
	cs.inProgress = true
	r.partial++
	if cs.length > 0 {
		cs.payload = make([]byte, 0, min(cs.length, maxPayloadPrealloc))
	}
	return nil
}

// readChunkData reads the chunk's share of the current message of cs.
func (r *Reader) readChunkData(cs *chunkStream) (Message, bool, error) {
	n := min(cs.length-uint32(len(cs.payload)), r.chunkSize)
	for n > 0 {
		if len(cs.payload) == cap(cs.payload) {
			cs.payload = grow(cs.payload, cs.length)
		}
		k := min(n, uint32(cap(cs.payload)-len(cs.payload)))
		start := len(cs.payload)
		cs.payload = cs.payload[:start+int(k)]
		if err := r.readFull(cs.payload[start:]); err != nil {
			return Message{}, false, err
		}
		n -= k
	}
	if uint32(len(cs.payload)) < cs.length {
		return Message{}, false, nil
	}
	m := Message{
		ChunkStreamID: cs.id,
		Type:          cs.typ,
		StreamID:      cs.streamID,
		Timestamp:     cs.timestamp,
		Payload:       cs.payload,
	}
	cs.payload = nil
	cs.inProgress = false
	r.partial--
	return m, true, nil
}

// grow doubles b's capacity, up to limit, keeping its contents.
func grow(b []byte, limit uint32) []byte {
	c := min(max(2*uint32(cap(b)), maxPayloadPrealloc), limit)
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}

// apply carries out the protocol control messages that change how the
// following chunks are read.
func (r *Reader) apply(m Message) error {
	switch m.Type {
	case TypeSetChunkSize:
		n, err := ControlValue(m.Payload)
		if err != nil {
			return err
		}
		// The spec keeps the top bit zero; 0 would make no progress.
		if n == 0 || n&0x80000000 != 0 {
			return fmt.Errorf("%w: invalid chunk size %d", ErrProtocol, n)
		}
		r.chunkSize = n
	case TypeAbort:
		id, err := ControlValue(m.Payload)
		if err != nil {
			return err
		}
		if cs := r.lookup(id); cs != nil && cs.inProgress {
			cs.inProgress = false
			cs.payload = nil
			r.partial--
		}
	}
	return nil
}

func (r *Reader) lookup(id uint32) *chunkStream {
	if id < uint32(len(r.low)) {
		return r.low[id]
	}
	return r.high[id]
}

// chunkStream returns the state of chunk stream id, creating it within
// the configured limit.
func (r *Reader) chunkStream(id uint32) (*chunkStream, error) {
	if cs := r.lookup(id); cs != nil {
		return cs, nil
	}
	if r.streams >= r.maxStreams {
		return nil, fmt.Errorf("%w: chunk stream %d is one more than %d", ErrTooManyChunkStreams, id, r.maxStreams)
	}
	cs := &chunkStream{id: id}
	if id < uint32(len(r.low)) {
		r.low[id] = cs
	} else {
		if r.high == nil {
			r.high = make(map[uint32]*chunkStream)
		}
		r.high[id] = cs
	}
	r.streams++
	return cs, nil
}

// readFull reads len(b) bytes that must be there: the input ending
// before them is an unexpected EOF.
func (r *Reader) readFull(b []byte) error {
	n, err := io.ReadFull(r.br, b)
	r.bytesRead += uint64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("rtmp: failed to read chunk: %w", err)
	}
	return nil
}

// messageHeaderSize is the size of the chunk message header of format
// 0, 1, 2 or 3 (RTMP 1.0 section 5.3.1.2).
func messageHeaderSize(format uint8) int {
	switch format {
	case 0:
		return 11
	case 1:
		return 7
	case 2:
		return 3
	}
	return 0
}

func uint24(b []byte) uint32 {
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}
