package wire

import (
	"encoding/json"
	"strconv"
)

// Reply is a command reply as clients decode it: the common head plus every
// op-specific field (only subscribe has any in v1).
type Reply struct {
	Op    string `json:"op"` // "reply"
	ID    uint64 `json:"id,omitempty"`
	OK    bool   `json:"ok"`
	Error *Error `json:"error,omitempty"`

	// Subscribe replies.
	Room      string            `json:"room,omitempty"`
	Epoch     string            `json:"epoch,omitempty"`
	Offset    uint64            `json:"offset,omitempty"`
	Recovered bool              `json:"recovered,omitempty"`
	Events    []json.RawMessage `json:"events,omitempty"`
}

// okReply and errorReply are the server's encodings of the common replies.
type okReply struct {
	Op string `json:"op"`
	ID uint64 `json:"id,omitempty"`
	OK bool   `json:"ok"`
}

type errorReply struct {
	Op    string `json:"op"`
	ID    uint64 `json:"id,omitempty"`
	OK    bool   `json:"ok"`
	Error *Error `json:"error"`
}

// SubscribeReply is a successful subscribe reply with every field present
// (unlike Reply), for clients that want to encode or decode one strictly.
type SubscribeReply struct {
	Op        string            `json:"op"`
	ID        uint64            `json:"id,omitempty"`
	OK        bool              `json:"ok"`
	Room      string            `json:"room"`
	Epoch     string            `json:"epoch"`
	Offset    uint64            `json:"offset"`
	Recovered bool              `json:"recovered"`
	Events    []json.RawMessage `json:"events"`
}

// EncodeOK encodes a successful reply to command id.
func EncodeOK(id uint64) []byte {
	return mustMarshal(okReply{Op: "reply", ID: id, OK: true})
}

// EncodeError encodes a failed reply to command id (0: the id was unknown).
func EncodeError(id uint64, e *Error) []byte {
	return mustMarshal(errorReply{Op: "reply", ID: id, Error: e})
}

// EncodeSubscribe encodes a subscribe reply; see AppendSubscribe.
func EncodeSubscribe(id uint64, room string, pos Position, recovered bool, events [][]byte) []byte {
	return AppendSubscribe(nil, id, room, pos, recovered, events)
}

// AppendSubscribe appends a subscribe reply to dst. events are encoded
// events (see AppendEvent), copied in as they are; nil is sent as an empty
// list. Every field is present, even when zero.
func AppendSubscribe(dst []byte, id uint64, room string, pos Position, recovered bool, events [][]byte) []byte {
	dst = append(dst, `{"op":"reply",`...)
	if id != 0 {
		dst = append(dst, `"id":`...)
		dst = strconv.AppendUint(dst, id, 10)
		dst = append(dst, ',')
	}
	dst = append(dst, `"ok":true,"room":`...)
	dst = AppendString(dst, room)
	dst = append(dst, `,"epoch":`...)
	dst = AppendString(dst, pos.Epoch)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendUint(dst, pos.Offset, 10)
	dst = append(dst, `,"recovered":`...)
	dst = strconv.AppendBool(dst, recovered)
	dst = append(dst, `,"events":[`...)
	for i, e := range events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e...)
	}
	return append(dst, "]}"...)
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only reachable with an invalid json.RawMessage, which the hub never builds.
		panic("wire: " + err.Error())
	}
	return b
}
