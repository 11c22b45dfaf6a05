package hub

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// closeTimeout is how long a connection the server closed waits for the
// peer's close frame before the socket is closed anyway.
const closeTimeout = 5 * time.Second

// Conn is one client connection. It has no goroutine of its own while it
// is idle: a reader runs only while bytes have arrived (started by the
// hub's poller, or a goroutine per connection where there is none), and a
// flusher only while the socket cannot take what is queued. Fan-out calls
// deliver from any goroutine, and writes straight to the socket when
// nothing is queued ahead.
//
// Writing: whoever sets writing (under mu) owns the socket's write side
// until it clears it: a fan-out writing a frame that the socket takes at
// once, or a flusher goroutine that waits for the socket. A frame the
// socket took in part leaves its rest in head, which goes before anything
// queued.
type Conn struct {
	hub   *Hub
	sock  sock
	id    uint64
	addr  string // client address key, counted in hub.addrs
	ident Identity
	role  string // what the handshake declared (see RoleViewer); set before serving

	// readMu is held by the reader while it runs commands, and by the
	// clean-up, which must not run beside them. The fields after it
	// belong to whoever holds it.
	readMu   sync.Mutex
	subs     []*subscription
	commands bucket // commands allowed, against CommandRate and CommandBurst
	parser   frameParser
	pending  []byte // the start of a frame that has not all arrived
	unparsed bool   // pending holds the bytes behind the handshake, not parsed yet
	polled   bool   // read through the hub's poller (set before the first read)
	pslot    int32  // the poller's slot for this connection
	pgen     uint32
	parmed   bool // in the poller's set
	cleaned  bool

	mu     sync.Mutex // guards the fields below and every subscription's delivery state
	queue  []*event
	qbytes int    // event bytes queued, against Config.QueueBytes
	head   []byte // the unwritten rest of a frame the socket took in part
	headEv *event // the event head belongs to, if it needs accounting
	// replyBytes counts reply bytes queued or being written. The reader
	// waits on drained while it exceeds Config.ReplyBytes, so a client that
	// asks for replays faster than it reads them holds back only itself.
	replyBytes int
	drained    sync.Cond
	writing    bool
	// The end: closed once no more events are taken (a close is under
	// way or the socket is gone), dead once the socket is closed.
	closed       bool
	dead         bool
	closeWritten bool  // our close frame is out
	peerClosed   bool  // the peer's close frame came in
	failing      bool  // the peer broke the protocol: end once our close frame is out
	closeBy      int64 // Unix nanoseconds after which a close handshake is given up; 0: none
	pingSent     int64 // Unix nanoseconds of the unanswered ping; 0: none
	// writeSince is when the flusher's write in progress began (Unix
	// nanoseconds, 0 when none); the watchdog aborts writes older than
	// WriteTimeout.
	writeSince atomic.Int64
}

func newConn(h *Hub, nc net.Conn, ident Identity) *Conn {
	c := &Conn{
		hub:    h,
		id:     h.nextID.Add(1),
		ident:  ident,
		parser: frameParser{limit: wire.MaxCommandBytes},
	}
	c.commands.fill(h.cfg.CommandBurst)
	if nc != nil {
		c.sock = newSock(nc)
	}
	c.drained.L = &c.mu
	return c
}

// deliverResult says what a delivery needs once c.mu is released.
type deliverResult uint8

const (
	delivered  deliverResult = iota // queued or dropped: nothing to do
	needKick                        // queued: make sure it gets written
	overflowed                      // a recoverable event did not fit: close with 4000
	gapped                          // the room's stream jumped: close with 4000
)

// deliverLocked queues one room event for this connection, with c.mu held.
func (c *Conn) deliverLocked(s *subscription, ev *event) deliverResult {
	if c.closed || s.left {
		return delivered
	}
	if s.joining {
		if !ev.recoverable {
			c.hub.metrics.drop(dropJoining)
			return delivered
		}
		s.pending = append(s.pending, ev)
		s.pendingBytes += ev.cost()
		if c.qbytes+s.pendingBytes > c.hub.cfg.QueueBytes {
			return overflowed
		}
		return delivered
	}
	if ev.recoverable {
		switch {
		case ev.epoch == s.epoch && ev.offset <= s.offset:
			return delivered // already queued (around a resubscribe)
		case ev.epoch != s.epoch || ev.offset != s.offset+1:
			c.hub.log.Warn("gap in room stream, closing connection so it resumes",
				"room", ev.room, "conn", c.id, "have", s.offset, "got", ev.offset)
			return gapped
		}
		s.offset = ev.offset
	}
	return c.push(ev)
}

// settle acts on a delivery's result once c.mu is released.
func (c *Conn) settle(r deliverResult) {
	switch r {
	case needKick:
		c.kick()
	case overflowed:
		c.overflow()
	case gapped:
		c.close(wire.CloseSlowConsumer, "gap in event stream: resume with since")
	}
}

// push appends ev to the queue with c.mu held. Volatile events are
// coalesced (viewer counts) or dropped when the queue is half full; a
// recoverable event that does not fit reports overflowed.
func (c *Conn) push(ev *event) deliverResult {
	limit := c.hub.cfg.QueueBytes
	switch {
	case ev.reply, ev.control:
		// Bounded by the history size (replies) or a handful (control).
	case ev.recoverable:
		if c.qbytes+ev.cost() > limit {
			return overflowed
		}
	case ev.typ == wire.TypeViewers:
		for i := len(c.queue) - 1; i >= 0; i-- {
			if q := c.queue[i]; q.typ == wire.TypeViewers && q.room == ev.room {
				c.qbytes += ev.cost() - q.cost()
				c.queue[i] = ev
				c.hub.metrics.drop(dropCoalesced)
				return delivered
			}
		}
		fallthrough
	default:
		if c.qbytes+ev.cost() > limit/2 {
			c.hub.metrics.drop(dropQueueFull)
			return delivered
		}
	}
	c.queue = append(c.queue, ev)
	c.qbytes += ev.cost()
	if ev.reply {
		c.replyBytes += len(ev.wire)
	}
	return needKick
}

// send queues a reply frame and gets it written.
func (c *Conn) send(payload []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	r := c.push(replyEvent(payload))
	c.mu.Unlock()
	c.settle(r)
}

// overflow closes a slow consumer with 4000 (the client resumes with
// since) and reports whether this call did.
func (c *Conn) overflow() bool {
	if !c.close(wire.CloseSlowConsumer, "slow consumer: resume with since") {
		return false
	}
	c.hub.metrics.slowConsumerCloses.Inc()
	return true
}

// kick gets what is queued written. With the write side free and one
// frame queued (the usual case), it writes it at once without waiting;
// anything more, or anything the socket did not take, goes to a flusher.
func (c *Conn) kick() {
	c.mu.Lock()
	if c.writing || c.dead || (c.head == nil && len(c.queue) == 0) {
		c.mu.Unlock()
		return
	}
	c.writing = true
	if c.head == nil && len(c.queue) == 1 {
		ev := c.queue[0]
		c.queue = nil
		c.qbytes -= ev.cost()
		c.mu.Unlock()
		c.writeNow(ev.wire, ev)
		return
	}
	c.mu.Unlock()
	go c.flush()
}

// writeNow writes frame without waiting, the caller owning the write side
// (writing set). What the socket does not take goes to a flusher, which
// then owns the write side. ev, if not nil, is accounted once written.
func (c *Conn) writeNow(frame []byte, ev *event) {
	n, err := c.sock.tryWrite(frame)
	if err != nil && !errors.Is(err, errWouldBlock) {
		c.mu.Lock()
		c.writing = false
		c.mu.Unlock()
		c.abort(err)
		return
	}
	c.mu.Lock()
	if n < len(frame) {
		c.head, c.headEv = frame[n:], ev
		c.mu.Unlock()
		go c.flush()
		return
	}
	more := c.head != nil || len(c.queue) > 0
	if !more {
		c.writing = false
	}
	c.mu.Unlock()
	if ev != nil { // the fan-out counts its own frames, per round
		c.hub.metrics.framesWritten.Inc()
		c.written(ev)
	}
	if more {
		go c.flush()
	}
}

// flush writes the queue, waiting for the socket as long as it takes (the
// watchdog ends a write stuck past WriteTimeout), packing several queued
// events into one frame, until the queue is empty.
func (c *Conn) flush() {
	var pack *[]byte
	defer func() {
		if pack != nil {
			c.hub.frames.put(pack)
		}
	}()
	for {
		c.mu.Lock()
		if c.dead {
			c.writing = false
			c.mu.Unlock()
			return
		}
		head, headEv := c.head, c.headEv
		c.head, c.headEv = nil, nil
		n, size := c.batchLen()
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		if len(c.queue) == 0 {
			c.queue = nil // let an idle connection's queue be collected
		}
		c.qbytes -= size
		if head == nil && n == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		var bufs net.Buffers
		if head != nil {
			bufs = append(bufs, head)
		}
		switch {
		case n == 1:
			bufs = append(bufs, batch[0].wire)
		case n > 1:
			if pack == nil {
				pack = c.hub.frames.get()
			}
			*pack = packFrame((*pack)[:0], batch)
			bufs = append(bufs, *pack)
		}
		c.writeSince.Store(time.Now().UnixNano())
		_, err := bufs.WriteTo(c.sock.nc)
		c.writeSince.Store(0)
		if err != nil {
			c.abort(err)
			continue // sees dead and leaves
		}
		// A frame is counted once whole: the rest of one the fan-out wrote
		// in part was counted there.
		if frames := min(n, 1) + bool01(headEv != nil); frames > 0 {
			c.hub.metrics.framesWritten.Add(float64(frames))
		}
		c.written(headEv)
		for _, ev := range batch {
			c.written(ev)
		}
	}
}

// packFrame joins the events' JSON with newlines into one text frame.
func packFrame(dst []byte, batch []*event) []byte {
	size := len(batch) - 1
	for _, ev := range batch {
		size += len(ev.payload())
	}
	h := headerLen(size)
	dst = append(dst[:0], make([]byte, h)...)
	putHeader(dst[:h], opText, size)
	for i, ev := range batch {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = append(dst, ev.payload()...)
	}
	return dst
}

// written accounts for an event whose frame is out: counters, the reply
// budget, and the end of a close handshake.
func (c *Conn) written(ev *event) {
	switch {
	case ev == nil:
	case ev.delivered != nil:
		ev.delivered.Inc()
	case ev.reply:
		c.mu.Lock()
		c.replyBytes -= len(ev.wire)
		c.mu.Unlock()
		c.drained.Broadcast()
	case ev.close:
		c.mu.Lock()
		c.closeWritten = true
		done := c.peerClosed || c.failing
		c.mu.Unlock()
		if done {
			c.finish(nil)
		}
	}
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
// cost against the queue limit, with c.mu held. Control frames go alone.
func (c *Conn) batchLen() (n, cost int) {
	maxBytes, maxEvents := c.hub.cfg.FrameBytes, c.hub.cfg.FrameEvents
	size := 0
	for n < len(c.queue) && n < maxEvents {
		ev := c.queue[n]
		if ev.control && n > 0 {
			break
		}
		if n > 0 && size+len(ev.payload())+1 > maxBytes {
			break
		}
		size += len(ev.payload()) + 1
		cost += ev.cost()
		n++
		if ev.control {
			break
		}
	}
	return n, cost
}

// stalled reports whether a flusher's write has been in progress for
// longer than d.
func (c *Conn) stalled(now time.Time, d time.Duration) bool {
	since := c.writeSince.Load()
	return since != 0 && now.UnixNano()-since > int64(d)
}

// close starts the closing handshake with code: nothing more is queued,
// what was queued is dropped, and the close frame goes out after any frame
// already on its way. The connection ends when the peer answers, or after
// closeTimeout. It reports whether this call started the close.
func (c *Conn) close(code websocket.StatusCode, reason string) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.startClose(closeFrame(code, reason))
	c.mu.Unlock()
	c.hub.metrics.closed(code)
	c.kick()
	return true
}

// fail closes a connection whose peer broke the protocol: its bytes can
// no longer be read, so the socket closes as soon as our close frame is out
// (RFC 6455 section 7.1.7), without waiting for the peer's.
func (c *Conn) fail(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	c.failing = true
	c.mu.Unlock()
	c.close(code, reason)
}

// startClose queues our close frame in place of everything queued, with
// c.mu held.
func (c *Conn) startClose(frame []byte) {
	c.closed = true
	c.queue, c.qbytes, c.replyBytes = nil, 0, 0
	ev := controlEvent(frame)
	ev.close = true
	c.queue = append(c.queue, ev)
	c.closeBy = time.Now().Add(closeTimeout).UnixNano()
	c.drained.Broadcast()
}

// peerClose answers the peer's close frame: with our own close frame
// echoing its code (RFC 6455 section 5.5.1) if we had not sent one, then
// the connection ends once ours is out.
func (c *Conn) peerClose(payload []byte) {
	c.mu.Lock()
	c.peerClosed = true
	if !c.closed {
		code, _ := closeCode(payload)
		var frame []byte
		if code == closeNoStatus {
			frame = controlFrame(opClose, nil)
		} else {
			frame = closeFrame(code, "")
		}
		c.startClose(frame)
		c.mu.Unlock()
		c.hub.metrics.peerCloses.Inc()
		c.kick()
		return
	}
	done := c.closeWritten
	c.mu.Unlock()
	if done {
		c.finish(nil)
	}
}

// abort ends the connection without a handshake (dead peer, write error,
// stuck write), and reports whether this call ended it.
func (c *Conn) abort(err error) bool {
	c.mu.Lock()
	counted := c.closed
	c.mu.Unlock()
	if !c.finish(err) {
		return false
	}
	c.hub.log.Debug("connection aborted", "conn", c.id, "err", err)
	if !counted {
		c.hub.metrics.closed(websocket.StatusAbnormalClosure)
	}
	return true
}

// finish closes the socket and ends the connection, once; it reports
// whether this call did. The connection leaves its rooms on a goroutine of
// its own unless the reader (which does it when it leaves) is running.
func (c *Conn) finish(err error) bool {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return false
	}
	c.dead, c.closed = true, true
	c.queue, c.qbytes, c.head, c.headEv = nil, 0, nil, nil
	c.drained.Broadcast()
	c.mu.Unlock()
	if c.polled {
		c.hub.poller.remove(c)
	}
	if c.sock.nc != nil {
		_ = c.sock.nc.Close()
	}
	go c.cleanup()
	return true
}

// cleanup takes the ended connection out of its rooms and of the hub, once
// no command of its reader is running.
func (c *Conn) cleanup() {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.cleaned {
		return
	}
	c.cleaned = true
	c.leaveAll()
	c.hub.removeConn(c)
	c.hub.addrs.release(c.addr)
	c.hub.conns.Done()
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// ping sends a ping unless one is unanswered (the watchdog ends
// connections whose pong is late).
func (c *Conn) ping(now time.Time) {
	c.mu.Lock()
	if c.closed || c.pingSent != 0 {
		c.mu.Unlock()
		return
	}
	c.pingSent = now.UnixNano()
	r := c.push(controlEvent(controlFrame(opPing, nil)))
	c.mu.Unlock()
	c.settle(r)
}

// pongLate reports whether a ping has gone unanswered for longer than d.
func (c *Conn) pongLate(now time.Time, d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pingSent != 0 && now.UnixNano()-c.pingSent > int64(d)
}

// closeLate reports whether a close handshake has waited past its time.
func (c *Conn) closeLate(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeBy != 0 && now.UnixNano() > c.closeBy
}

// expired reports whether the connection's token has expired by now.
func (c *Conn) expired(now time.Time) bool {
	return !c.ident.ExpiresAt.IsZero() && now.After(c.ident.ExpiresAt)
}

func bool01(b bool) int {
	if b {
		return 1
	}
	return 0
}
