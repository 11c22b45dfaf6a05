package hub

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// readBufferSize holds the longest client frame (a 4096-byte command and
// its header) twice over, so a pass can always read behind a partial frame.
const readBufferSize = 2*wire.MaxCommandBytes + 64

// readBuffers lends reader passes their buffer: an idle connection holds
// none, only the few bytes of a frame that has not all arrived.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// start begins reading a connection just handed over by the handshake:
// through the poller if the hub has one, else on a goroutine of its own.
func (c *Conn) start() {
	if c.hub.poller != nil && c.sock.rc != nil {
		c.polled = true
		c.hub.poller.add(c)
		go c.readReady() // the bytes behind the handshake, then arm
		return
	}
	go c.readLoop()
}

// readReady runs when bytes may have arrived (the poller's event, or the
// start): it reads what is there without waiting, runs it, and arms the
// poller for the next bytes. One runs at a time per connection: the poller
// reports a connection once per arming.
func (c *Conn) readReady() {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.cleaned {
		return
	}
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	buf := *bp
	if len(c.pending) > len(buf)/2 {
		buf = make([]byte, 2*len(c.pending)) // a long pipeline behind the handshake
	}
	n := copy(buf, c.pending)
	c.pending = nil
	if c.unparsed { // the bytes that came behind the handshake
		c.unparsed = false
		var ok bool
		if n, ok = c.consume(buf, n); !ok {
			return
		}
	}
	for {
		m, err := c.sock.tryRead(buf[n:])
		if m > 0 {
			var ok bool
			if n, ok = c.consume(buf, n+m); !ok {
				return
			}
		}
		if errors.Is(err, errWouldBlock) {
			break
		}
		if err != nil {
			c.ended(err)
			return
		}
	}
	if n > 0 {
		c.pending = append([]byte(nil), buf[:n]...)
	}
	if err := c.hub.poller.arm(c); err != nil && !c.isDead() {
		c.ended(err)
	}
}

// readLoop is a connection's reader where the hub has no poller: it waits
// in Read, holding a small buffer of its own.
func (c *Conn) readLoop() {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	buf := make([]byte, max(1024, len(c.pending)))
	n := copy(buf, c.pending)
	c.pending, c.unparsed = nil, false
	for {
		var ok bool
		if n, ok = c.consume(buf, n); !ok {
			return
		}
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...) // a long frame is arriving
		}
		c.readMu.Unlock() // a clean-up may run while we wait
		m, err := c.sock.nc.Read(buf[n:])
		c.readMu.Lock()
		if c.cleaned {
			return
		}
		n += m
		if err != nil {
			if _, ok := c.consume(buf, n); ok {
				c.ended(err)
			}
			return
		}
	}
}

// consume parses the frames in buf[:n] and runs them; an incomplete frame
// at the end is moved to the front of buf, and its length returned. It
// reports false once the connection has ended or its bytes can no longer
// be read (a breach of the protocol: the connection is failed).
func (c *Conn) consume(buf []byte, n int) (int, bool) {
	used, err := c.parser.parse(buf[:n], c.onMessage)
	var pe *protocolError
	if errors.As(err, &pe) {
		c.fail(pe.code, pe.reason)
		return 0, false
	}
	rest := copy(buf, buf[used:n])
	return rest, !c.isDead()
}

// onMessage runs one client message or control frame.
func (c *Conn) onMessage(m message) error {
	switch m.op {
	case opPing:
		c.mu.Lock()
		r := delivered
		if !c.closed {
			r = c.push(controlEvent(controlFrame(opPong, m.payload)))
		}
		c.mu.Unlock()
		c.settle(r)
		return nil
	case opPong:
		c.mu.Lock()
		c.pingSent = 0
		c.mu.Unlock()
		return nil
	case opClose:
		c.peerClose(m.payload)
		return nil
	}
	if c.isClosed() {
		return nil // closing: run nothing more, wait for the peer's close
	}
	if !c.commands.take(time.Now(), c.hub.cfg.CommandRate, c.hub.cfg.CommandBurst) {
		c.close(wire.CloseTooMany, "too many commands")
		return nil
	}
	if m.op != opText {
		c.send(wire.EncodeError(0, wire.Errorf(wire.ErrBadRequest, "commands are JSON text frames")))
		return nil
	}
	c.handle(m.payload)
	c.waitReplies()
	return nil
}

// ended records how a connection the server did not close came to an
// end: the peer went away without a close frame, or reading failed.
func (c *Conn) ended(err error) {
	c.mu.Lock()
	counted := c.closed
	c.mu.Unlock()
	if !c.finish(err) || counted {
		return
	}
	var ne net.Error
	if !errors.Is(err, io.EOF) && !(errors.As(err, &ne) && ne.Timeout()) {
		c.hub.log.Debug("connection read failed", "conn", c.id, "err", err)
	}
	c.hub.metrics.closed(websocket.StatusAbnormalClosure)
}

func (c *Conn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}
