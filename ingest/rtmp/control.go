package rtmp

import (
	"encoding/binary"
	"fmt"
)

// User control event types (RTMP 1.0 section 7.1.7).
const (
	UserControlStreamBegin      uint16 = 0
	UserControlStreamEOF        uint16 = 1
	UserControlStreamDry        uint16 = 2
	UserControlSetBufferLength  uint16 = 3
	UserControlStreamIsRecorded uint16 = 4
	UserControlPingRequest      uint16 = 6
	UserControlPingResponse     uint16 = 7
)

// Limit types of Set Peer Bandwidth.
const (
	BandwidthLimitHard    uint8 = 0
	BandwidthLimitSoft    uint8 = 1
	BandwidthLimitDynamic uint8 = 2
)

// controlMessage is a protocol control message: chunk stream 2, message
// stream 0, timestamp 0, as the spec requires.
func controlMessage(typ uint8, payload []byte) Message {
	return Message{ChunkStreamID: ControlChunkStreamID, Type: typ, Payload: payload}
}

// SetChunkSizeMessage tells the peer the chunk size of what we send next.
// The top bit is cleared: the spec reserves it.
func SetChunkSizeMessage(n uint32) Message {
	return controlMessage(TypeSetChunkSize, binary.BigEndian.AppendUint32(nil, n&0x7FFFFFFF))
}

// AbortMessage tells the peer to drop the partial message on chunk
// stream id.
func AbortMessage(id uint32) Message {
	return controlMessage(TypeAbort, binary.BigEndian.AppendUint32(nil, id))
}

// AckMessage acknowledges sequence, the number of bytes received so far.
func AckMessage(sequence uint32) Message {
	return controlMessage(TypeAck, binary.BigEndian.AppendUint32(nil, sequence))
}

// WindowAckSizeMessage asks the peer to acknowledge every n bytes.
func WindowAckSizeMessage(n uint32) Message {
	return controlMessage(TypeWindowAckSize, binary.BigEndian.AppendUint32(nil, n))
}

// SetPeerBandwidthMessage limits the peer's output to n bytes per window;
// limitType is one of the BandwidthLimit constants (2 = dynamic).
func SetPeerBandwidthMessage(n uint32, limitType uint8) Message {
	return controlMessage(TypeSetPeerBandwidth, append(binary.BigEndian.AppendUint32(nil, n), limitType))
}

// UserControlMessage builds a user control message of event with its
// 32-bit values (one for most events, two for Set Buffer Length).
func UserControlMessage(event uint16, values ...uint32) Message {
	p := binary.BigEndian.AppendUint16(make([]byte, 0, 2+4*len(values)), event)
	for _, v := range values {
		p = binary.BigEndian.AppendUint32(p, v)
	}
	return controlMessage(TypeUserControl, p)
}

// StreamBeginMessage tells the peer that message stream streamID is ready
// (user control event 0).
func StreamBeginMessage(streamID uint32) Message {
	return UserControlMessage(UserControlStreamBegin, streamID)
}

// PingResponseMessage answers a ping request by echoing its timestamp
// (user control event 7).
func PingResponseMessage(timestamp uint32) Message {
	return UserControlMessage(UserControlPingResponse, timestamp)
}

// ParseUserControl decodes a user control payload: its event type and its
// first 32-bit value, or 0 when the event carries none.
func ParseUserControl(p []byte) (event uint16, value uint32, err error) {
	if len(p) < 2 {
		return 0, 0, fmt.Errorf("%w: user control message of %d bytes", ErrProtocol, len(p))
	}
	event = binary.BigEndian.Uint16(p)
	if len(p) >= 6 {
		value = binary.BigEndian.Uint32(p[2:])
	}
	return event, value, nil
}

// ControlValue decodes the 32-bit value that starts the payload of a Set
// Chunk Size, Abort, Acknowledgement, Window Acknowledgement Size or Set
// Peer Bandwidth message (the latter's limit type is the fifth byte).
func ControlValue(p []byte) (uint32, error) {
	if len(p) < 4 {
		return 0, fmt.Errorf("%w: control message of %d bytes", ErrProtocol, len(p))
	}
	return binary.BigEndian.Uint32(p), nil
}
