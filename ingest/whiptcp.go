package ingest

import (
	"net"
	"net/netip"
	"sync"
)

// limitListener bounds the ICE-TCP connections open at once, in all and
// per client address (an IPv6 address counts by its /64): beyond, a new
// connection is closed as soon as it is accepted. With pion's short wait
// for a connection's first STUN message, strangers cannot hold every file
// descriptor of the node.
type limitListener struct {
	net.Listener
	max, perAddr int

	mu     sync.Mutex
	open   int
	byAddr map[netip.Addr]int
}

func newLimitListener(ln net.Listener, max, perAddr int) *limitListener {
	return &limitListener{Listener: ln, max: max, perAddr: perAddr, byAddr: map[netip.Addr]int{}}
}

// Accept returns the next connection within the limits; it closes the
// others itself.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := clientAddr(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open < l.max && l.byAddr[a] < l.perAddr
		if ok {
			l.open++
			l.byAddr[a]++
		}
		l.mu.Unlock()
		if !ok {
			_ = c.Close()
			continue
		}
		return &limitConn{Conn: c, l: l, addr: a}, nil
	}
}

func (l *limitListener) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[a]--; l.byAddr[a] <= 0 {
		delete(l.byAddr, a)
	}
}

// limitConn gives its slot back when closed.
type limitConn struct {
	net.Conn
	l    *limitListener
	addr netip.Addr
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.addr) })
	return err
}
