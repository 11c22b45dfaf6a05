package rtmp

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
)

// chunkCase is one chunk stream: the bytes on the wire and the messages
// they carry. It drives the decode test, the encode test (when the Writer
// would produce exactly these bytes) and the fuzz seeds.
type chunkCase struct {
	name string
	cfg  ReaderConfig
	wire []byte
	msgs []Message
	// encode: NewWriter, with writeChunkSize if set, writing msgs (and
	// switching chunk size after each Set Chunk Size, as a caller does)
	// produces wire.
	encode         bool
	writeChunkSize uint32
	// err is what follows msgs: nil means a clean io.EOF.
	err error
}

var chunkCases = []chunkCase{
	{
		name:   "fmt 0 single chunk",
		wire:   cat(h("03 000000 000005 14 00000000"), seq(5, 1)),
		msgs:   []Message{{ChunkStreamID: 3, Type: TypeCommandAMF0, Payload: seq(5, 1)}},
		encode: true,
	},
	{
		name:   "fmt 0 message stream id is little-endian",
		wire:   cat(h("04 0003e8 000003 09 01020304"), seq(3, 1)),
		msgs:   []Message{{ChunkStreamID: 4, Type: TypeVideo, StreamID: 0x04030201, Timestamp: 1000, Payload: seq(3, 1)}},
		encode: true,
	},
	{
		// RTMP 1.0 section 5.3.2.1, example 1: same-size audio messages.
		name: "spec example 1 fmt 0 2 3 3",
		wire: cat(
			h("03 0003e8 000020 08 39300000"), seq(32, 0),
			h("83 000014"), seq(32, 32),
			h("c3"), seq(32, 64),
			h("c3"), seq(32, 96),
		),
		msgs: []Message{
			{ChunkStreamID: 3, Type: TypeAudio, StreamID: 12345, Timestamp: 1000, Payload: seq(32, 0)},
			{ChunkStreamID: 3, Type: TypeAudio, StreamID: 12345, Timestamp: 1020, Payload: seq(32, 32)},
			{ChunkStreamID: 3, Type: TypeAudio, StreamID: 12345, Timestamp: 1040, Payload: seq(32, 64)},
			{ChunkStreamID: 3, Type: TypeAudio, StreamID: 12345, Timestamp: 1060, Payload: seq(32, 96)},
		},
	},
	{
		// RTMP 1.0 section 5.3.2.2, example 2: a 307-byte message in
		// chunks of 128.
		name: "spec example 2 one message in three chunks",
		wire: cat(
			h("04 0003e8 000133 09 3a300000"), seq(128, 0),
			h("c4"), seq(128, 128),
			h("c4"), seq(51, 0),
		),
		msgs: []Message{{ChunkStreamID: 4, Type: TypeVideo, StreamID: 12346, Timestamp: 1000,
			Payload: cat(seq(128, 0), seq(128, 128), seq(51, 0))}},
		encode: true,
	},
	{
		name: "fmt 1 changes length and type keeps stream id",
		wire: cat(
			h("03 000064 000002 14 07000000 aabb"),
			h("43 00000a 000003 12 ccddee"),
		),
		msgs: []Message{
			{ChunkStreamID: 3, Type: TypeCommandAMF0, StreamID: 7, Timestamp: 100, Payload: h("aabb")},
			{ChunkStreamID: 3, Type: TypeDataAMF0, StreamID: 7, Timestamp: 110, Payload: h("ccddee")},
		},
	},
	{
		// The delta a format 3 message repeats after format 0 is the
		// format 0 timestamp field, as ffmpeg's writer assumes.
		name: "fmt 3 after fmt 0 repeats the fmt 0 timestamp",
		wire: cat(h("05 000064 000001 08 01000000 11"), h("c5 22")),
		msgs: []Message{
			{ChunkStreamID: 5, Type: TypeAudio, StreamID: 1, Timestamp: 100, Payload: h("11")},
			{ChunkStreamID: 5, Type: TypeAudio, StreamID: 1, Timestamp: 200, Payload: h("22")},
		},
	},
	{
		name:   "2-byte basic header csid 64",
		wire:   cat(h("00 00 000000 000001 08 00000000 01")),
		msgs:   []Message{{ChunkStreamID: 64, Type: TypeAudio, Payload: h("01")}},
		encode: true,
	},
	{
		name:   "2-byte basic header csid 319",
		wire:   cat(h("00 ff 000000 000001 08 00000000 01")),
		msgs:   []Message{{ChunkStreamID: 319, Type: TypeAudio, Payload: h("01")}},
		encode: true,
	},
	{
		name:   "3-byte basic header csid 320",
		wire:   cat(h("01 0001 000000 000001 08 00000000 01")),
		msgs:   []Message{{ChunkStreamID: 320, Type: TypeAudio, Payload: h("01")}},
		encode: true,
	},
	{
		name:   "3-byte basic header csid 65599",
		wire:   cat(h("01 ffff 000000 000001 08 00000000 01")),
		msgs:   []Message{{ChunkStreamID: 65599, Type: TypeAudio, Payload: h("01")}},
		encode: true,
	},
	{
		name: "3-byte basic header carrying csid 64",
		wire: cat(h("01 0000 000000 000001 08 00000000 01"), h("c0 00 02")),
		msgs: []Message{
			{ChunkStreamID: 64, Type: TypeAudio, Payload: h("01")},
			{ChunkStreamID: 64, Type: TypeAudio, Payload: h("02")},
		},
	},
	{
		name:   "2-byte basic header continuation chunks",
		wire:   cat(h("00 10 000000 000100 09 01000000"), seq(128, 0), h("c0 10"), seq(128, 128)),
		msgs:   []Message{{ChunkStreamID: 80, Type: TypeVideo, StreamID: 1, Payload: cat(seq(128, 0), seq(128, 128))}},
		encode: true,
	},
	{
		name: "extended timestamp on fmt 0 and its fmt 3 continuation",
		wire: cat(
			h("04 ffffff 0000c8 09 01000000 01000000"), seq(128, 0),
			h("c4 01000000"), seq(72, 128),
		),
		msgs:   []Message{{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 0x01000000, Payload: seq(200, 0)}},
		encode: true,
	},
	{
		// Some encoders leave the repeated field out; bytes that differ
		// from the first chunk's extended timestamp are chunk data.
		name: "fmt 3 continuation without the repeated extended timestamp",
		wire: cat(
			h("04 ffffff 0000c8 09 01000000 01000000"), seq(128, 0),
			h("c4"), seq(72, 128),
		),
		msgs: []Message{{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 0x01000000, Payload: seq(200, 0)}},
	},
	{
		name:   "timestamp 0xffffff itself is extended",
		wire:   cat(h("04 ffffff 000001 09 01000000 00ffffff 01")),
		msgs:   []Message{{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 0xFFFFFF, Payload: h("01")}},
		encode: true,
	},
	{
		name: "fmt 3 new message reuses an extended delta",
		wire: cat(
			h("06 000000 000002 08 00000000 aabb"),
			h("86 ffffff 01000000 ccdd"),
			h("c6 01000000 eeff"),
		),
		msgs: []Message{
			{ChunkStreamID: 6, Type: TypeAudio, Timestamp: 0, Payload: h("aabb")},
			{ChunkStreamID: 6, Type: TypeAudio, Timestamp: 0x01000000, Payload: h("ccdd")},
			{ChunkStreamID: 6, Type: TypeAudio, Timestamp: 0x02000000, Payload: h("eeff")},
		},
	},
	{
		name: "extended delta on fmt 1 and a multi-chunk fmt 3 message",
		wire: cat(
			h("07 000010 000001 08 00000000 01"),
			h("47 ffffff 000081 09 01000000"), seq(128, 0),
			h("c7 01000000 80"),
			h("c7 01000000"), seq(128, 0),
			h("c7 01000000 80"),
		),
		msgs: []Message{
			{ChunkStreamID: 7, Type: TypeAudio, Timestamp: 0x10, Payload: h("01")},
			{ChunkStreamID: 7, Type: TypeVideo, Timestamp: 0x01000010, Payload: seq(129, 0)},
			{ChunkStreamID: 7, Type: TypeVideo, Timestamp: 0x02000010, Payload: seq(129, 0)},
		},
	},
	{
		name: "timestamp wraps at 32 bits",
		wire: cat(h("07 ffffff 000001 08 00000000 fffffff0 01"), h("87 000020 02")),
		msgs: []Message{
			{ChunkStreamID: 7, Type: TypeAudio, Timestamp: 0xFFFFFFF0, Payload: h("01")},
			{ChunkStreamID: 7, Type: TypeAudio, Timestamp: 0x10, Payload: h("02")},
		},
	},
	{
		name: "interleaved chunk streams",
		wire: cat(
			h("04 000000 0000c8 09 01000000"), seq(128, 0),
			h("06 000005 00000a 08 01000000"), seq(10, 200),
			h("c4"), seq(72, 128),
		),
		msgs: []Message{
			{ChunkStreamID: 6, Type: TypeAudio, StreamID: 1, Timestamp: 5, Payload: seq(10, 200)},
			{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Payload: seq(200, 0)},
		},
	},
	{
		name: "set chunk size mid-stream then a large message",
		wire: cat(
			h("02 000000 000004 01 00000000 00001000"),
			h("04 000000 001388 09 01000000"), seq(4096, 0),
			h("c4"), seq(904, 0),
		),
		msgs: []Message{
			{ChunkStreamID: 2, Type: TypeSetChunkSize, Payload: h("00001000")},
			{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Payload: cat(seq(4096, 0), seq(904, 0))},
		},
		encode: true,
	},
	{
		name: "set chunk size 1",
		wire: cat(h("02 000000 000004 01 00000000 00000001"), h("03 000000 000003 14 00000000 aa"), h("c3 bb"), h("c3 cc")),
		msgs: []Message{
			{ChunkStreamID: 2, Type: TypeSetChunkSize, Payload: h("00000001")},
			{ChunkStreamID: 3, Type: TypeCommandAMF0, Payload: h("aabbcc")},
		},
		encode: true,
	},
	{
		name: "abort drops the partial message",
		wire: cat(
			h("04 000000 0000c8 09 01000000"), seq(128, 0),
			h("02 000000 000004 02 00000000 00000004"),
			h("04 000021 000003 09 01000000 aabbcc"),
		),
		msgs: []Message{
			{ChunkStreamID: 2, Type: TypeAbort, Payload: h("00000004")},
			{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 0x21, Payload: h("aabbcc")},
		},
	},
	{
		name:   "zero-length message",
		wire:   h("03 000000 000000 14 00000000"),
		msgs:   []Message{{ChunkStreamID: 3, Type: TypeCommandAMF0}},
		encode: true,
	},
	{
		name: "zero-length message repeated by fmt 3",
		wire: h("03 000000 000000 14 00000000 c3"),
		msgs: []Message{{ChunkStreamID: 3, Type: TypeCommandAMF0}, {ChunkStreamID: 3, Type: TypeCommandAMF0}},
	},
	{
		// librtmp sends its first ping on a fresh chunk stream 2 with a
		// format 1 header.
		name: "fmt 1 on a fresh chunk stream",
		wire: h("42 000000 000006 04 0006 00000001"),
		msgs: []Message{{ChunkStreamID: 2, Type: TypeUserControl, Payload: h("0006 00000001")}},
	},
	{
		name: "empty input",
		wire: nil,
	},
	{
		name: "fmt 3 on a fresh chunk stream",
		wire: h("c3 00"),
		err:  ErrProtocol,
	},
	{
		name: "fmt 2 on a fresh chunk stream",
		wire: h("83 000000 00"),
		err:  ErrProtocol,
	},
	{
		name: "new header in the middle of a message",
		wire: cat(h("04 000000 0000c8 09 01000000"), seq(128, 0), h("44 000000 000001 09 00")),
		err:  ErrProtocol,
	},
	{
		name: "set chunk size 0",
		wire: h("02 000000 000004 01 00000000 00000000"),
		err:  ErrProtocol,
	},
	{
		name: "set chunk size with the top bit set",
		wire: h("02 000000 000004 01 00000000 80001000"),
		err:  ErrProtocol,
	},
	{
		name: "set chunk size payload too short",
		wire: h("02 000000 000002 01 00000000 1000"),
		err:  ErrProtocol,
	},
	{
		name: "message larger than MaxMessageSize",
		cfg:  ReaderConfig{MaxMessageSize: 1000},
		wire: cat(h("04 000000 0003e8 09 01000000"), seq(128, 0), h("06 000000 0003e9 09 01000000")),
		err:  ErrTooLarge,
	},
	{
		name: "more chunk streams than MaxChunkStreams",
		cfg:  ReaderConfig{MaxChunkStreams: 2},
		wire: h("03 000000 000001 08 00000000 01  04 000000 000001 08 00000000 02  05 000000 000001 08 00000000 03"),
		msgs: []Message{
			{ChunkStreamID: 3, Type: TypeAudio, Payload: h("01")},
			{ChunkStreamID: 4, Type: TypeAudio, Payload: h("02")},
		},
		err: ErrTooManyChunkStreams,
	},
	{
		name: "cut in a basic header",
		wire: h("01 00"),
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in a message header",
		wire: h("04 000000 0000"),
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in an extended timestamp",
		wire: h("04 ffffff 000001 09 01000000 0100"),
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in chunk data",
		wire: cat(h("04 000000 0000c8 09 01000000"), seq(10, 0)),
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut between the chunks of a message",
		wire: cat(h("04 000000 0000c8 09 01000000"), seq(128, 0)),
		err:  io.ErrUnexpectedEOF,
	},
}

// readAll reads messages until the first error.
func readAll(r *Reader) ([]Message, error) {
	var msgs []Message
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, m)
	}
}

func TestReadMessage(t *testing.T) {
	for _, c := range chunkCases {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(c.wire), c.cfg)
			msgs, err := readAll(r)
			if len(msgs) != len(c.msgs) {
				t.Fatalf("got %d messages, want %d (error %v)", len(msgs), len(c.msgs), err)
			}
			for i := range msgs {
				if !messagesEqual(msgs[i], c.msgs[i]) {
					t.Errorf("message %d = %s %x, want %s %x", i, describe(msgs[i]), msgs[i].Payload, describe(c.msgs[i]), c.msgs[i].Payload)
				}
			}
			if c.err == nil {
				if err != io.EOF {
					t.Fatalf("error = %v, want io.EOF", err)
				}
				if got := r.BytesRead(); got != uint64(len(c.wire)) {
					t.Errorf("BytesRead = %d, want %d", got, len(c.wire))
				}
			} else if !errors.Is(err, c.err) {
				t.Fatalf("error = %v, want %v", err, c.err)
			}
			if _, again := r.ReadMessage(); again != err {
				t.Errorf("error not sticky: then %v, now %v", err, again)
			}
		})
	}
}

func TestWriteMessage(t *testing.T) {
	for _, c := range chunkCases {
		if !c.encode {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if c.writeChunkSize != 0 {
				w.SetChunkSize(c.writeChunkSize)
			}
			for _, m := range c.msgs {
				if err := w.WriteMessage(m); err != nil {
					t.Fatal(err)
				}
				if m.Type == TypeSetChunkSize {
					n, _ := ControlValue(m.Payload)
					w.SetChunkSize(n)
				}
			}
			if !bytes.Equal(buf.Bytes(), c.wire) {
				t.Errorf("wrote\n%x\nwant\n%x", buf.Bytes(), c.wire)
			}
		})
	}
}

// TestWriteMessageOneWrite checks that a message costs one Write on the
// underlying writer, whatever its number of chunks.
func TestWriteMessageOneWrite(t *testing.T) {
	var cw countingWriter
	w := NewWriter(&cw)
	for _, n := range []int{0, 1, 128, 129, 100_000} {
		if err := w.WriteMessage(Message{ChunkStreamID: 4, Type: TypeVideo, Payload: make([]byte, n)}); err != nil {
			t.Fatal(err)
		}
	}
	if cw.writes != 5 {
		t.Errorf("%d writes for 5 messages", cw.writes)
	}
}

type countingWriter struct{ writes int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return len(p), nil
}

func TestWriteMessageRefuses(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range []Message{
		{ChunkStreamID: 0},
		{ChunkStreamID: 1},
		{ChunkStreamID: 65600},
		{ChunkStreamID: 3, Payload: make([]byte, MaxMessageLength+1)},
	} {
		if err := w.WriteMessage(m); err == nil {
			t.Errorf("%s: no error", describe(m))
		}
	}
	if buf.Len() != 0 {
		t.Errorf("refused messages wrote %d bytes", buf.Len())
	}
	// A refusal is not sticky: nothing reached the peer.
	if err := w.WriteMessage(Message{ChunkStreamID: 3}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteMessageStickyError(t *testing.T) {
	w := NewWriter(failingWriter{})
	err := w.WriteMessage(Message{ChunkStreamID: 3})
	if !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("error = %v", err)
	}
	if again := w.WriteMessage(Message{ChunkStreamID: 3}); again != err {
		t.Fatalf("error not sticky: %v", again)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// TestRoundTrip reads back what the Writer writes, over chunk sizes,
// message sizes, timestamps and chunk stream ids.
func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 127, 128, 129, 4095, 4096, 4097, 65536, 70_000}
	timestamps := []uint32{0, 1, 0xFFFFFE, 0xFFFFFF, 0x1000000, 0xFFFFFFFF}
	ids := []uint32{2, 3, 63, 64, 319, 320, 65599}
	for _, chunkSize := range []uint32{1, 128, 4096, 65536} {
		var want []Message
		for i, size := range sizes {
			for j, ts := range timestamps {
				want = append(want, Message{
					ChunkStreamID: ids[(i+j)%len(ids)],
					Type:          TypeVideo,
					StreamID:      uint32(i * j),
					Timestamp:     ts,
					Payload:       seq(size, byte(i+j)),
				})
			}
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, m := range append([]Message{SetChunkSizeMessage(chunkSize)}, want...) {
			if err := w.WriteMessage(m); err != nil {
				t.Fatal(err)
			}
			if m.Type == TypeSetChunkSize {
				w.SetChunkSize(chunkSize)
			}
		}
		r := NewReader(&buf, ReaderConfig{})
		got, err := readAll(r)
		if err != io.EOF {
			t.Fatalf("chunk size %d: %v", chunkSize, err)
		}
		if r.ChunkSize() != chunkSize {
			t.Errorf("reader chunk size %d, want %d", r.ChunkSize(), chunkSize)
		}
		got = got[1:] // the Set Chunk Size
		if len(got) != len(want) {
			t.Fatalf("chunk size %d: %d messages, want %d", chunkSize, len(got), len(want))
		}
		for i := range got {
			if !messagesEqual(got[i], want[i]) {
				t.Fatalf("chunk size %d: message %d = %s, want %s", chunkSize, i, describe(got[i]), describe(want[i]))
			}
		}
	}
}

// TestReaderPayloadOwned checks that a returned payload is not reused by
// the following reads.
func TestReaderPayloadOwned(t *testing.T) {
	c := chunkCases[2] // spec example 1: four messages on one chunk stream
	r := NewReader(bytes.NewReader(c.wire), ReaderConfig{})
	first, err := r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	keep := bytes.Clone(first.Payload)
	if _, err := readAll(r); err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Payload, keep) {
		t.Error("payload changed by later reads")
	}
}

// TestReaderGarbage feeds random bytes: the Reader must return an error,
// never panic, and never hand out more than MaxMessageSize.
func TestReaderGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const maxSize = 1024
	for i := range 2000 {
		n := rng.IntN(8192)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && n > 0 {
			// Start like a real stream so the parser gets further in.
			b[0] = 0x03
		}
		r := NewReader(bytes.NewReader(b), ReaderConfig{MaxMessageSize: maxSize, MaxChunkStreams: 8})
		msgs := 0
		for {
			m, err := r.ReadMessage()
			if err != nil {
				break
			}
			if len(m.Payload) > maxSize || cap(m.Payload) > maxSize {
				t.Fatalf("input %d: payload of %d (cap %d) over the limit", i, len(m.Payload), cap(m.Payload))
			}
			if msgs++; msgs > n {
				t.Fatalf("input %d: more messages than bytes", i)
			}
		}
	}
}

// TestReaderMemoryBounded: headers that claim 16 MiB, with little data
// behind them, must not make the Reader allocate what they claim.
func TestReaderMemoryBounded(t *testing.T) {
	t.Run("many chunk streams", func(t *testing.T) {
		wire := h("02 000000 000004 01 00000000 00000064") // chunk size 100
		for id := byte(3); id < 64; id++ {
			wire = append(wire, id)
			wire = append(wire, h("000000 ffffff 09 01000000")...)
			wire = append(wire, seq(100, 0)...)
		}
		// 61 messages at the 64 KiB first allocation, and the read buffer.
		assertAllocBelow(t, wire, 5<<20)
	})
	t.Run("huge chunk size", func(t *testing.T) {
		wire := cat(h("02 000000 000004 01 00000000 7fffffff"), h("04 000000 ffffff 09 01000000"), make([]byte, 200_000))
		// Doubling from 64 KiB up to 256 KiB as the data arrives.
		assertAllocBelow(t, wire, 1<<20)
	})
}

func assertAllocBelow(t *testing.T, wire []byte, limit uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := readAll(NewReader(bytes.NewReader(wire), ReaderConfig{}))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error = %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Errorf("allocated %d bytes for %d bytes of input, limit %d", got, len(wire), limit)
	}
}

// TestReaderGrowsAsDataArrives: a message bigger than the first
// allocation is still read whole.
func TestReaderGrowsAsDataArrives(t *testing.T) {
	payload := seq(5<<20, 7)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteMessage(SetChunkSizeMessage(0x7FFFFFFF)); err != nil {
		t.Fatal(err)
	}
	w.SetChunkSize(0x7FFFFFFF)
	if err := w.WriteMessage(Message{ChunkStreamID: 4, Type: TypeVideo, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	msgs, err := readAll(NewReader(&buf, ReaderConfig{}))
	if err != io.EOF || len(msgs) != 2 || !bytes.Equal(msgs[1].Payload, payload) {
		t.Fatalf("got %d messages, error %v", len(msgs), err)
	}
}

func TestReaderBytesRead(t *testing.T) {
	c := chunkCases[3] // spec example 2
	r := NewReader(bytes.NewReader(c.wire), ReaderConfig{})
	if _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if got := r.BytesRead(); got != uint64(len(c.wire)) {
		t.Errorf("BytesRead = %d, want %d", got, len(c.wire))
	}
}

func FuzzReadMessage(f *testing.F) {
	for _, c := range chunkCases {
		f.Add(c.wire)
	}
	const maxSize = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), ReaderConfig{MaxMessageSize: maxSize, MaxChunkStreams: 8})
		msgs, err := readAll(r)
		if err == nil {
			t.Fatal("no error at the end of the input")
		}
		for _, m := range msgs {
			if cap(m.Payload) > maxSize {
				t.Fatalf("payload capacity %d over the limit", cap(m.Payload))
			}
		}
		// What was read, written again, reads back the same.
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, m := range msgs {
			if err := w.WriteMessage(m); err != nil {
				t.Fatal(err)
			}
			if m.Type == TypeSetChunkSize {
				n, _ := ControlValue(m.Payload)
				w.SetChunkSize(n)
			}
		}
		again, err := readAll(NewReader(&buf, ReaderConfig{MaxMessageSize: maxSize, MaxChunkStreams: 8}))
		if err != io.EOF || len(again) != len(msgs) {
			t.Fatalf("rewritten stream: %d messages of %d, error %v", len(again), len(msgs), err)
		}
		for i := range msgs {
			if !messagesEqual(msgs[i], again[i]) {
				t.Fatalf("rewritten message %d = %s, want %s", i, describe(again[i]), describe(msgs[i]))
			}
		}
	})
}

func TestWriteReadMessageSeeds(t *testing.T) {
	seeds := map[string][]byte{}
	for _, c := range chunkCases {
		seeds[c.name] = c.wire
	}
	writeSeeds(t, "FuzzReadMessage", seeds)
}
