package redisbroker

import (
	"errors"
	"strconv"
	"strings"

	"github.com/givelive/givelive/hub"
)

// A publication travels on the room's channel as one line of header and
// the data:
//
//	"<offset> <epoch> <type> <unix ms>\n<data>"
//
// Volatile publications carry offset 0 and epoch "-". The publish script
// builds the same text in Lua.

const noEpoch = "-"

// appendVolatile encodes a volatile publication.
func appendVolatile(b []byte, p hub.Publication) []byte {
	b = append(b, "0 "+noEpoch+" "...)
	b = append(b, p.Type...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.Time, 10)
	b = append(b, '\n')
	return append(b, p.Data...)
}

var errBadMessage = errors.New("malformed publication")

// decodeMessage decodes a publication read from a channel.
func decodeMessage(s string) (hub.Publication, error) {
	head, data, ok := strings.Cut(s, "\n")
	off, head, ok1 := strings.Cut(head, " ")
	epoch, head, ok2 := strings.Cut(head, " ")
	typ, ms, ok3 := strings.Cut(head, " ")
	if !ok || !ok1 || !ok2 || !ok3 || typ == "" {
		return hub.Publication{}, errBadMessage
	}
	offset, err1 := strconv.ParseUint(off, 10, 64)
	t, err2 := strconv.ParseInt(ms, 10, 64)
	if err1 != nil || err2 != nil {
		return hub.Publication{}, errBadMessage
	}
	p := hub.Publication{Type: typ, Time: t, Offset: offset, Data: []byte(data)}
	if epoch != noEpoch {
		p.Epoch = epoch
	}
	return p, nil
}
