package loadtest

import (
	"context"
	"sync/atomic"

	"github.com/coder/websocket"
)

// stalledReceiveBuffer is the receive buffer a stalled viewer asks for:
// small, as on a phone whose connection or app froze, so the server's
// writes back up after a few frames.
const stalledReceiveBuffer = 4096

// stalledViewer subscribes like a viewer and then never reads again. It
// is not measured: it is there to see what a stalled viewer costs the
// server and the viewers beside it, and how the server ends it.
type stalledViewer struct {
	r      *runner
	idx    int
	room   string
	ws     atomic.Pointer[websocket.Conn]
	joined atomic.Bool
}

// run connects, subscribes and waits for the reply, then calls done and
// reads nothing more. The runner closes the socket at the end.
func (s *stalledViewer) run(ctx context.Context, done func()) {
	defer done()
	ws, err := s.r.dialer.dialStalled(ctx, s.idx)
	if err != nil {
		s.r.errs.add("stalled_" + dialErrorKind(err))
		return
	}
	s.ws.Store(ws)
	if s.r.stopping.Load() {
		ws.CloseNow()
		return
	}
	if err := writeCommand(ws, subscribeCommand(1, s.room)); err != nil {
		s.r.errs.add("stalled_subscribe_write")
		return
	}
	rctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	if _, _, err := ws.Read(rctx); err != nil { // the reply comes first
		s.r.errs.add("stalled_subscribe_read")
		return
	}
	s.joined.Store(true)
}
