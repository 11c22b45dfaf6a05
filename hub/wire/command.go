package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Command operations a client may send.
const (
	OpSubscribe   = "subscribe"
	OpUnsubscribe = "unsubscribe"
	OpChat        = "chat"
	OpSticker     = "sticker"
	OpPing        = "ping"
)

// Limits on command fields checked by DecodeCommand. Chat text length is a
// server policy and is checked by the hub, not here.
const (
	MaxRoomLen    = 64
	MaxStickerLen = 32
)

// Command is one client command. Fields that an op does not use are ignored.
type Command struct {
	Op      string    `json:"op"`
	ID      uint64    `json:"id,omitempty"` // 0: no reply wanted
	Room    string    `json:"room,omitempty"`
	Since   *Position `json:"since,omitempty"`
	Text    string    `json:"text,omitempty"`
	Sticker string    `json:"sticker,omitempty"`
}

// rawCommand decodes id loosely so a bad id can still be reported against
// the rest of the command.
type rawCommand struct {
	Op      string          `json:"op"`
	ID      json.RawMessage `json:"id"`
	Room    string          `json:"room"`
	Since   json.RawMessage `json:"since"`
	Text    *string         `json:"text"`
	Sticker string          `json:"sticker"`
}

// DecodeCommand parses one client frame and checks the fields its op needs.
// On failure it returns the command as far as it was understood (its ID,
// when that parsed, so the caller can address the reply) and a *Error with
// code bad_request.
func DecodeCommand(p []byte) (Command, error) {
	var cmd Command
	if len(p) > MaxCommandBytes {
		return cmd, Errorf(ErrBadRequest, "command larger than 4096 bytes")
	}
	var raw rawCommand
	dec := json.NewDecoder(bytes.NewReader(p))
	if err := dec.Decode(&raw); err != nil {
		return cmd, Errorf(ErrBadRequest, "command is not a JSON object: "+jsonProblem(err))
	}
	if dec.More() {
		return cmd, Errorf(ErrBadRequest, "one JSON command per frame")
	}
	id, err := decodeID(raw.ID)
	if err != nil {
		return cmd, err
	}
	cmd = Command{Op: raw.Op, ID: id, Room: raw.Room, Sticker: raw.Sticker}
	if raw.Text != nil {
		cmd.Text = *raw.Text
	}
	if len(raw.Since) > 0 && !bytes.Equal(raw.Since, []byte("null")) {
		var since Position
		if err := json.Unmarshal(raw.Since, &since); err != nil {
			return cmd, Errorf(ErrBadRequest, "since must be {\"epoch\": string, \"offset\": non-negative integer}")
		}
		cmd.Since = &since
	}
	return cmd, cmd.check(raw.Text != nil)
}

func decodeID(raw json.RawMessage) (uint64, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return 0, nil
	}
	var id uint64
	if err := json.Unmarshal(raw, &id); err != nil || id == 0 {
		return 0, Errorf(ErrBadRequest, "id must be a positive integer")
	}
	return id, nil
}

func (c *Command) check(hasText bool) error {
	switch c.Op {
	case OpPing:
		return nil
	case OpSubscribe, OpUnsubscribe:
		return checkRoom(c.Room)
	case OpChat:
		if err := checkRoom(c.Room); err != nil {
			return err
		}
		if !hasText {
			return Errorf(ErrBadRequest, "chat needs text")
		}
		return nil
	case OpSticker:
		if err := checkRoom(c.Room); err != nil {
			return err
		}
		return checkSticker(c.Sticker)
	case "":
		return Errorf(ErrBadRequest, "command needs op")
	default:
		return Errorf(ErrBadRequest, fmt.Sprintf("unknown op %q", truncate(c.Op, 32)))
	}
}

// ValidRoom reports whether s is a well-formed room id: 1 to 64 characters
// from [A-Za-z0-9_-].
func ValidRoom(s string) bool { return validName(s, MaxRoomLen, true) }

func checkRoom(room string) error {
	if room == "" {
		return Errorf(ErrBadRequest, "command needs room")
	}
	if !ValidRoom(room) {
		return Errorf(ErrBadRequest, "room must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -")
	}
	return nil
}

func checkSticker(s string) error {
	if s == "" {
		return Errorf(ErrBadRequest, "sticker command needs sticker")
	}
	if !validName(s, MaxStickerLen, false) {
		return Errorf(ErrBadRequest, "sticker must be 1 to 32 characters of a-z, 0-9 and -")
	}
	return nil
}

func validName(s string, max int, upperAndUnderscore bool) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '-':
		case upperAndUnderscore && (b >= 'A' && b <= 'Z' || b == '_'):
		default:
			return false
		}
	}
	return true
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s", te.Field, te.Type.String())
		}
		return "expected an object"
	default:
		return "invalid JSON"
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
