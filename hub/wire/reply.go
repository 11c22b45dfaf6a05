package wire

import "encoding/json"

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

// SubscribeReply is the server's encoding of a successful subscribe reply:
// unlike Reply, every field is always present.
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

// EncodeSubscribe encodes a subscribe reply. events are already-encoded
// events (see AppendEvent); nil is sent as an empty list.
func EncodeSubscribe(id uint64, room string, pos Position, recovered bool, events [][]byte) []byte {
	raw := make([]json.RawMessage, len(events))
	for i, e := range events {
		raw[i] = e
	}
	return mustMarshal(SubscribeReply{
		Op: "reply", ID: id, OK: true, Room: room,
		Epoch: pos.Epoch, Offset: pos.Offset, Recovered: recovered, Events: raw,
	})
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only reachable with an invalid json.RawMessage, which the hub never builds.
		panic("wire: " + err.Error())
	}
	return b
}
