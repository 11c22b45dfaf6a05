package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/givelive/givelive/hub/wire"
)

// Conn is one client connection. Its reader goroutine (the HTTP handler's)
// runs commands; a writer goroutine exists only while something is queued.
// Fan-out calls deliver from any goroutine.
type Conn struct {
	hub    *Hub
	ws     *websocket.Conn
	id     uint64
	addr   string // client address key, counted in hub.addrs
	ident  Identity
	role   string          // what the handshake declared (see RoleViewer); set before serving
	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc

	// Reader goroutine only.
	subs     map[string]*subscription
	commands *rate.Limiter

	mu     sync.Mutex // guards the fields below and every subscription's delivery state
	queue  []*event
	qbytes int // event bytes queued, against Config.QueueBytes
	// replyBytes counts reply bytes queued or being written. The reader
	// waits on drained while it exceeds Config.ReplyBytes, so a client that
	// asks for replays faster than it reads them holds back only itself.
	replyBytes int
	drained    sync.Cond
	// writeSince is when the write in progress began (Unix nanoseconds, 0
	// when none); the hub's watchdog aborts writes older than WriteTimeout.
	writeSince atomic.Int64
	writing    bool
	closed     bool
	// A writer whose queue ran dry parks for a while (WriterLinger) on its
	// own wake channel instead of exiting, so a room with steady traffic
	// does not start a goroutine per event. The watchdog retires writers
	// parked for longer; an idle viewer is back to one goroutine.
	parked   bool
	parkedAt int64     // Unix nanoseconds
	wake     chan bool // the parked writer's, capacity 1: true = more work, false = exit
}

func newConn(h *Hub, ws *websocket.Conn, ident Identity) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		hub:      h,
		ws:       ws,
		id:       h.nextID.Add(1),
		ident:    ident,
		ctx:      ctx,
		cancel:   cancel,
		subs:     make(map[string]*subscription),
		commands: rate.NewLimiter(h.cfg.CommandRate, h.cfg.CommandBurst),
	}
	c.drained.L = &c.mu
	return c
}

// deliver queues a room event for this connection. It never blocks on the
// network. Called with the room's shard lock held for reading.
func (c *Conn) deliver(s *subscription, ev *event) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if s.joining {
		if ev.recoverable {
			s.pending = append(s.pending, ev)
			s.pendingBytes += len(ev.frame)
			if c.qbytes+s.pendingBytes > c.hub.cfg.QueueBytes {
				c.mu.Unlock()
				c.overflow()
				return
			}
		} else {
			c.hub.metrics.drop(dropJoining)
		}
		c.mu.Unlock()
		return
	}
	if ev.recoverable {
		switch {
		case ev.epoch == s.epoch && ev.offset <= s.offset:
			c.mu.Unlock() // already queued (around a resubscribe)
			return
		case ev.epoch != s.epoch || ev.offset != s.offset+1:
			c.mu.Unlock()
			c.hub.log.Warn("gap in room stream, closing connection so it resumes",
				"room", ev.room, "conn", c.id, "have", s.offset, "got", ev.offset)
			c.close(wire.CloseSlowConsumer, "gap in event stream: resume with since")
			return
		}
		s.offset = ev.offset
	}
	start, ok := c.push(ev)
	c.mu.Unlock()
	c.settle(start, ok)
}

// settle acts on what push reported, once c.mu is released: close a
// connection whose queue overflowed, or start its writer.
func (c *Conn) settle(start, ok bool) {
	switch {
	case !ok:
		c.overflow()
	case start:
		go c.writeLoop()
	}
}

// push appends ev to the queue with c.mu held. It reports whether a writer
// must be started, and false in ok if a recoverable event did not fit.
// Volatile events are coalesced (viewer counts) or dropped when the queue
// is half full.
func (c *Conn) push(ev *event) (start, ok bool) {
	limit := c.hub.cfg.QueueBytes
	switch {
	case ev.reply:
		// Replies are bounded by the history size and always fit.
	case ev.recoverable:
		if c.qbytes+len(ev.frame) > limit {
			return false, false
		}
	case ev.typ == wire.TypeViewers:
		for i := len(c.queue) - 1; i >= 0; i-- {
			if q := c.queue[i]; q.typ == wire.TypeViewers && q.room == ev.room {
				c.qbytes += ev.cost() - q.cost()
				c.queue[i] = ev
				c.hub.metrics.drop(dropCoalesced)
				return false, true
			}
		}
		fallthrough
	default:
		if c.qbytes+len(ev.frame) > limit/2 {
			c.hub.metrics.drop(dropQueueFull)
			return false, true
		}
	}
	c.queue = append(c.queue, ev)
	c.qbytes += ev.cost()
	if ev.reply {
		c.replyBytes += len(ev.frame)
	}
	switch {
	case c.parked:
		c.unpark(true)
		return false, true
	case c.writing:
		return false, true
	}
	c.writing = true
	return true, true
}

// unpark wakes the parked writer, with c.mu held, telling it whether to go
// on. Its channel has room for the one token, so this never blocks. The
// answer travels with the token, not in c.writing: once a writer is told to
// exit, a new one may start before the old one wakes.
func (c *Conn) unpark(goOn bool) {
	c.parked = false
	c.wake <- goOn
	c.wake = nil
}

// park waits, with c.mu held (and released while waiting), until the writer
// has work, the connection closes, or the watchdog retires it. It reports
// whether the writer should go on.
func (c *Conn) park() bool {
	wake := make(chan bool, 1)
	c.wake, c.parked, c.parkedAt = wake, true, time.Now().UnixNano()
	c.mu.Unlock()
	goOn := <-wake
	c.mu.Lock()
	return goOn && !c.closed
}

// retireIfIdle ends a writer parked for longer than linger.
func (c *Conn) retireIfIdle(now time.Time, linger time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parked && now.UnixNano()-c.parkedAt > int64(linger) {
		c.writing = false
		c.unpark(false)
	}
}

// send queues a reply frame.
func (c *Conn) send(frame []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	start, ok := c.push(replyEvent(frame))
	c.mu.Unlock()
	c.settle(start, ok)
}

func (c *Conn) overflow() {
	c.hub.metrics.slowConsumerCloses.Inc()
	c.close(wire.CloseSlowConsumer, "slow consumer: resume with since")
}

// writeLoop writes queued events, packing as many as fit in one frame, and
// exits when the queue is empty.
func (c *Conn) writeLoop() {
	var buf []byte
	for {
		c.mu.Lock()
		if !c.closed && len(c.queue) == 0 && c.hub.cfg.WriterLinger > 0 {
			if buf != nil {
				c.hub.frames.put(buf) // not kept while parked
				buf = nil
			}
			if !c.park() {
				c.mu.Unlock()
				return // retired or closed: whoever did it reset writing (or a new writer owns it)
			}
		}
		if c.closed || len(c.queue) == 0 {
			c.writing = false
			c.mu.Unlock()
			if buf != nil {
				c.hub.frames.put(buf)
			}
			return
		}
		n, size := c.batchLen()
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		if len(c.queue) == 0 {
			c.queue = nil // let an idle connection's queue be collected
		}
		c.qbytes -= size
		c.mu.Unlock()

		frame := batch[0].frame
		if n > 1 {
			if buf == nil {
				buf = c.hub.frames.get()
			}
			buf = buf[:0]
			for i, ev := range batch {
				if i > 0 {
					buf = append(buf, '\n')
				}
				buf = append(buf, ev.frame...)
			}
			frame = buf
		}
		err := c.write(frame)
		c.replyWritten(batch)
		if err != nil {
			c.abort(err)
			continue // sees closed and exits
		}
		c.hub.metrics.framesWritten.Inc()
		for _, ev := range batch {
			if ev.delivered != nil {
				ev.delivered.Inc()
			}
		}
	}
}

// replyWritten releases the reply bytes of a written batch and wakes the
// reader if it waits for them.
func (c *Conn) replyWritten(batch []*event) {
	n := 0
	for _, ev := range batch {
		if ev.reply {
			n += len(ev.frame)
		}
	}
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.replyBytes -= n
	c.mu.Unlock()
	c.drained.Broadcast()
}

// waitReplies blocks the reader while the connection's unwritten replies
// exceed their budget. It returns false once the connection is closed.
func (c *Conn) waitReplies() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.replyBytes > c.hub.cfg.ReplyBytes && !c.closed {
		c.drained.Wait()
	}
	return !c.closed
}

// batchLen returns how many queued events go in the next frame and their
// cost against the queue limit, with c.mu held.
func (c *Conn) batchLen() (n, cost int) {
	maxBytes, maxEvents := c.hub.cfg.FrameBytes, c.hub.cfg.FrameEvents
	size := 0
	for n < len(c.queue) && n < maxEvents {
		ev := c.queue[n]
		if n > 0 && size+len(ev.frame)+1 > maxBytes {
			break
		}
		size += len(ev.frame) + 1
		cost += ev.cost()
		n++
	}
	return n, cost
}

// write sends one frame. Its context has no deadline: a per-write timer
// (the library registers one for any cancellable context) costs more than
// the rest of a small write's user-space work. The hub's watchdog enforces
// WriteTimeout instead, and cancelling c.ctx cannot cut a write short, so a
// close frame decided meanwhile still goes out after it.
func (c *Conn) write(frame []byte) error {
	c.writeSince.Store(time.Now().UnixNano())
	err := c.ws.Write(context.Background(), websocket.MessageText, frame)
	c.writeSince.Store(0)
	return err
}

// stalled reports whether a write has been in progress for longer than d.
func (c *Conn) stalled(now time.Time, d time.Duration) bool {
	since := c.writeSince.Load()
	return since != 0 && now.UnixNano()-since > int64(d)
}

// close ends the connection with a close frame carrying code. The close
// handshake runs on its own goroutine, since it waits for the peer.
func (c *Conn) close(code websocket.StatusCode, reason string) {
	if !c.markClosed() {
		return
	}
	c.hub.metrics.closed(code)
	go func() {
		_ = c.ws.Close(code, reason)
		c.cancel()
	}()
}

// abort ends the connection without a handshake (dead peer, write error),
// and reports whether this call ended it.
func (c *Conn) abort(err error) bool {
	if !c.markClosed() {
		return false
	}
	c.hub.log.Debug("connection aborted", "conn", c.id, "err", err)
	c.hub.metrics.closed(websocket.StatusAbnormalClosure)
	_ = c.ws.CloseNow()
	c.cancel()
	return true
}

// ended records how a connection the server did not close came to an end:
// the peer closed it, it sent a frame over the read limit (the library
// answers 1009), or it simply went away.
func (c *Conn) ended(err error) {
	if !c.markClosed() {
		return // the server closed it and counted why
	}
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		c.hub.metrics.closed(wire.CloseTooBig)
	case websocket.CloseStatus(err) != -1:
		c.hub.metrics.peerCloses.Inc()
	default:
		c.hub.metrics.closed(websocket.StatusAbnormalClosure)
	}
	_ = c.ws.CloseNow()
}

// markClosed flags the connection closed and drops its queue; it reports
// whether this call did it.
func (c *Conn) markClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	c.queue = nil
	c.qbytes = 0
	if c.parked {
		c.writing = false
		c.unpark(false)
	}
	c.drained.Broadcast()
	return true
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// ping checks the peer answers within the pong timeout.
func (c *Conn) ping() {
	ctx, cancel := context.WithTimeout(c.ctx, c.hub.cfg.PongTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil && c.ctx.Err() == nil {
		c.hub.metrics.pingTimeouts.Inc()
		c.abort(err)
	}
}

// expired reports whether the connection's token has expired by now.
func (c *Conn) expired(now time.Time) bool {
	return !c.ident.ExpiresAt.IsZero() && now.After(c.ident.ExpiresAt)
}
