package rtmp

// Message type ids (RTMP 1.0 sections 5.4, 6.2 and 7.1).
const (
	TypeSetChunkSize     uint8 = 1
	TypeAbort            uint8 = 2
	TypeAck              uint8 = 3
	TypeUserControl      uint8 = 4
	TypeWindowAckSize    uint8 = 5
	TypeSetPeerBandwidth uint8 = 6
	TypeAudio            uint8 = 8
	TypeVideo            uint8 = 9
	TypeDataAMF3         uint8 = 15
	TypeSharedObjectAMF3 uint8 = 16
	TypeCommandAMF3      uint8 = 17
	TypeDataAMF0         uint8 = 18
	TypeSharedObjectAMF0 uint8 = 19
	TypeCommandAMF0      uint8 = 20
	TypeAggregate        uint8 = 22
)

// Chunk stream ids with a conventional use. The spec reserves 2 for
// protocol control messages; 3 and up are free, and publishers such as
// ffmpeg and OBS send commands on 3 and media on 4 and above.
const (
	ControlChunkStreamID uint32 = 2
	// MaxChunkStreamID is the largest id the 3-byte basic header can carry.
	MaxChunkStreamID uint32 = 65599
)

// MaxMessageLength is the largest payload a chunk message header can
// announce: its length field has 24 bits.
const MaxMessageLength = 0xFFFFFF

// Message is one reassembled RTMP message.
type Message struct {
	ChunkStreamID uint32 // the chunk stream it arrived on / is sent on
	Type          uint8
	StreamID      uint32 // message stream id (little-endian on the wire)
	Timestamp     uint32 // absolute, milliseconds, as on the wire (32-bit, may wrap); extended timestamps resolved
	Payload       []byte // owned by the caller after ReadMessage returns (not reused by the Reader); nil when empty
}
