package hub

import "github.com/prometheus/client_golang/prometheus"

// event is one encoded server message, shared by every queue it is on.
// It is immutable once built.
type event struct {
	room        string
	typ         string
	epoch       string
	offset      uint64 // 0 for volatile events and replies
	recoverable bool
	reply       bool   // a reply to this connection's command: never dropped
	frame       []byte // the encoded JSON object
	delivered   prometheus.Counter
}

func replyEvent(frame []byte) *event {
	return &event{reply: true, frame: frame}
}

// cost is what the event counts against a connection's queue limit. Replies
// count nothing: they are bounded by the history size, and a large recovery
// must not push the live events behind it over the limit.
func (e *event) cost() int {
	if e.reply {
		return 0
	}
	return len(e.frame)
}
