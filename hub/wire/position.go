package wire

// Position is a place in a room's stream of recoverable events. Epoch names
// one continuous history of the room; Offset counts its recoverable events
// (the first has offset 1, an empty room is at offset 0).
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}
