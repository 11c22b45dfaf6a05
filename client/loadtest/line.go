package loadtest

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/givelive/givelive/hub/wire"
)

// A server frame carries one or more JSON objects separated by '\n'
// (PROTOCOL.md section 2); a line is one of them.

type lineKind uint8

const (
	lineOther lineKind = iota // valid JSON, neither an event nor a reply
	lineEvent
	lineReply
	lineInvalid // not a JSON object
)

// chatPrefix starts the text of every chat message the load tester sends;
// the Unix time in nanoseconds at sending follows it.
const chatPrefix = "lt "

// serverLine is what a viewer needs from one line. room and typ alias the
// frame's bytes and are valid only until the next read.
type serverLine struct {
	kind   lineKind
	room   []byte
	typ    []byte
	offset uint64 // 0: none (volatile event)
	sent   int64  // a load-test chat's send time in Unix ns; 0 otherwise
	gave   int64  // a load-test donation's send time in Unix ns; 0 otherwise
	ts     int64  // the event's server publish time in Unix ms
}

// parseLine reads one line. Events in the server's own encoding (the field
// order of wire.AppendEvent) take a fast path without allocating; anything
// else is decoded with encoding/json, so another field order or escaped
// strings still parse correctly, only more slowly.
func parseLine(b []byte) serverLine {
	if l, ok := parseEventFast(b); ok {
		return l
	}
	return parseLineSlow(b)
}

const (
	eventHead    = `{"op":"event","room":"`
	replyHead    = `{"op":"reply"`
	typeField    = `,"type":"`
	offsetField  = `,"offset":`
	tsField      = `,"ts":`
	dataField    = `,"data":`
	chatTextHead = `"text":"` + chatPrefix
	donationHead = `"message":"` + donationPrefix
)

func parseEventFast(b []byte) (l serverLine, ok bool) {
	p, ok := bytes.CutPrefix(b, []byte(eventHead))
	if !ok {
		return l, false
	}
	if l.room, p, ok = cutPlainString(p); !ok {
		return l, false
	}
	if p, ok = bytes.CutPrefix(p, []byte(typeField)); !ok {
		return l, false
	}
	if l.typ, p, ok = cutPlainString(p); !ok {
		return l, false
	}
	if rest, found := bytes.CutPrefix(p, []byte(offsetField)); found {
		var digits []byte
		digits, p = cutDigits(rest)
		if l.offset, ok = parseUint(digits); !ok || l.offset == 0 {
			return l, false
		}
	}
	if p, ok = bytes.CutPrefix(p, []byte(tsField)); !ok {
		return l, false
	}
	if digits, rest := cutDigits(bytes.TrimPrefix(p, []byte{'-'})); len(digits) == 0 {
		return l, false
	} else {
		l.ts = parseNanos(digits)
		p = rest
	}
	if p, ok = bytes.CutPrefix(p, []byte(dataField)); !ok || len(p) < 2 || p[len(p)-1] != '}' {
		return l, false
	}
	l.kind = lineEvent
	switch string(l.typ) {
	case wire.TypeChat:
		l.sent = sentFast(p[:len(p)-1], chatTextHead)
	case wire.TypeDonation:
		l.gave = sentFast(p[:len(p)-1], donationHead)
	}
	return l, true
}

// sentFast finds head ("text":"lt or "message":"lt) followed by digits
// and a quote in an event's data. A JSON string cannot hold an unescaped
// quote, so the pattern can only match that member itself.
func sentFast(data []byte, head string) int64 {
	i := bytes.Index(data, []byte(head))
	if i < 0 {
		return 0
	}
	digits, rest := cutDigits(data[i+len(head):])
	if len(rest) == 0 || rest[0] != '"' {
		return 0
	}
	return parseNanos(digits)
}

// parseNanos parses the decimal digits of a positive int64; 0 if they are
// not one.
func parseNanos[S ~string | ~[]byte](digits S) int64 {
	if len(digits) == 0 || len(digits) > 19 {
		return 0
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		d := digits[i]
		if d < '0' || d > '9' {
			return 0
		}
		n = n*10 + uint64(d-'0')
	}
	if n > math.MaxInt64 {
		return 0
	}
	return int64(n)
}

// cutPlainString returns the bytes up to the closing quote of a JSON string
// whose opening quote is already consumed; ok is false if the string has
// escapes (the slow path handles those) or does not end.
func cutPlainString(p []byte) (s, rest []byte, ok bool) {
	for i, c := range p {
		switch c {
		case '"':
			return p[:i], p[i+1:], true
		case '\\':
			return nil, nil, false
		}
	}
	return nil, nil, false
}

func cutDigits(p []byte) (digits, rest []byte) {
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return p[:i], p[i:]
}

func parseUint(digits []byte) (uint64, bool) {
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var n uint64
	for _, d := range digits {
		n = n*10 + uint64(d-'0')
	}
	return n, true
}

// slowLine is the union of the members the slow path needs.
type slowLine struct {
	Op     string          `json:"op"`
	Room   string          `json:"room"`
	Type   string          `json:"type"`
	Offset uint64          `json:"offset"`
	TS     int64           `json:"ts"`
	Data   json.RawMessage `json:"data"`
}

func parseLineSlow(b []byte) serverLine {
	var s slowLine
	if err := json.Unmarshal(b, &s); err != nil {
		return serverLine{kind: lineInvalid}
	}
	switch s.Op {
	case "reply":
		return serverLine{kind: lineReply}
	case "event":
	default:
		return serverLine{kind: lineOther}
	}
	l := serverLine{kind: lineEvent, room: []byte(s.Room), typ: []byte(s.Type), offset: s.Offset, ts: s.TS}
	switch s.Type {
	case wire.TypeChat:
		var chat wire.ChatData
		if json.Unmarshal(s.Data, &chat) == nil {
			l.sent = chatSent(chat.Text)
		}
	case wire.TypeDonation:
		var d wire.DonationData
		if json.Unmarshal(s.Data, &d) == nil {
			l.gave = chatSent(d.Message)
		}
	}
	return l
}

// chatSent parses a load-test chat text ("lt <unix-nanos>"); 0 if it is not one.
func chatSent(text string) int64 {
	digits, ok := strings.CutPrefix(text, chatPrefix)
	if !ok {
		return 0
	}
	return parseNanos(digits)
}

// isReply is a cheap test for a reply line in the server's own encoding;
// others are found by parseLine's slow path.
func isReply(b []byte) bool { return bytes.HasPrefix(b, []byte(replyHead)) }

// appendChatText appends the text of a load-test chat sent at unix nanos.
func appendChatText(dst []byte, nanos int64) []byte {
	dst = append(dst, chatPrefix...)
	return strconv.AppendInt(dst, nanos, 10)
}
