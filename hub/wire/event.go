package wire

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Event types. Recoverable ones carry an offset and are kept in the room's
// history; volatile ones may be dropped or coalesced under pressure.
const (
	TypeChat             = "chat"
	TypeChatDeleted      = "chat.deleted"
	TypeDonation         = "donation"
	TypeDonationRefunded = "donation.refunded"
	TypeMilestone        = "milestone"
	TypeShoutout         = "shoutout"
	TypeStream           = "stream"
	TypeFundraiser       = "fundraiser"
	TypeUserBanned       = "user.banned"
	// TypeDonationHidden is an addition to the v1 contract: the owner hid
	// a donation's message; clients blank it where they show it.
	TypeDonationHidden = "donation.hidden"
	// TypeUserUnbanned and TypeChatSettings are additions to the v1
	// contract: a ban or timeout was lifted; the chat's rules changed.
	TypeUserUnbanned = "user.unbanned"
	TypeChatSettings = "chat.settings"
	// TypeDonationUnhidden is an addition to the v1 contract: the owner
	// showed a hidden message again (DonationUnhiddenData).
	TypeDonationUnhidden = "donation.unhidden"
	// TypeTestAlert is an addition to the v1 contract: the broadcaster
	// asked overlays for a test alert (volatile, TestAlertData).
	TypeTestAlert = "alert.test"
	TypeSticker   = "sticker"
	TypeViewers   = "viewers"
)

// Recoverable reports whether events of type typ are recoverable (kept in
// history, carried with an offset, never dropped). Unknown types are
// recoverable: losing an event is worse than keeping one.
func Recoverable(typ string) bool {
	switch typ {
	case TypeSticker, TypeViewers, TypeTestAlert:
		return false
	}
	return true
}

// Event is a server event as clients decode it.
type Event struct {
	Op     string          `json:"op"` // "event"
	Room   string          `json:"room"`
	Type   string          `json:"type"`
	Offset uint64          `json:"offset,omitempty"` // 0 on volatile events
	TS     int64           `json:"ts"`               // Unix milliseconds when published
	Data   json.RawMessage `json:"data"`
}

// AppendEvent appends the JSON encoding of one event to dst. data must be a
// valid JSON value; offset 0 means a volatile event (no offset field).
// Encoding is done once per publication and shared by every subscriber.
func AppendEvent(dst []byte, room, typ string, offset uint64, ts int64, data []byte) []byte {
	dst = append(dst, `{"op":"event","room":`...)
	dst = AppendString(dst, room)
	dst = append(dst, `,"type":`...)
	dst = AppendString(dst, typ)
	if offset > 0 {
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, offset, 10)
	}
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, `,"data":`...)
	if len(data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD and
// <, > and & are escaped, as encoding/json does, so output is safe to embed.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hex = "0123456789abcdef"
