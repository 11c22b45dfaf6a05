package hub

import "github.com/prometheus/client_golang/prometheus"

// event is one server message, framed once: wire is a whole WebSocket
// frame (header and JSON payload) that every queue it is on shares and
// that is written as it is. It is immutable once built.
type event struct {
	room        string
	typ         string
	epoch       string
	offset      uint64 // 0 for volatile events and replies
	recoverable bool
	reply       bool // a reply to this connection's command: never dropped
	control     bool // a control frame (close, ping, pong): never packed with others
	close       bool // our close frame: the connection ends once it is out and the peer answered
	wire        []byte
	hdr         int // header length: wire[hdr:] is the payload
	delivered   prometheus.Counter
}

// payload is the event's JSON, to pack several events into one frame.
func (e *event) payload() []byte { return e.wire[e.hdr:] }

// newEvent frames an encoded room event.
func newEvent(fb frameBuilder) *event {
	w := fb.frame(opText)
	return &event{wire: w, hdr: len(w) - (len(fb.buf) - maxHeader)}
}

// replyEvent frames a reply to one of this connection's commands.
func replyEvent(payload []byte) *event {
	w := textFrame(payload)
	return &event{reply: true, wire: w, hdr: len(w) - len(payload)}
}

// controlEvent wraps a control frame for a connection's queue.
func controlEvent(frame []byte) *event {
	return &event{control: true, wire: frame, hdr: len(frame)}
}

// cost is what the event counts against a connection's queue limit: its
// JSON. Replies and control frames count nothing: replies are bounded by
// the history size (and ReplyBytes), and a large recovery must not push the
// live events behind it over the limit.
func (e *event) cost() int {
	if e.reply || e.control {
		return 0
	}
	return len(e.wire) - e.hdr
}
