//go:build linux

package hub

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// poller watches idle connections for bytes, so that no goroutine waits
// in Read for each of them: every connection the hub reads sits in one
// epoll set, armed for a single readiness event at a time (EPOLLONESHOT).
// When bytes arrive, the poller starts that connection's reader, which
// reads what is there without waiting, runs it and arms the connection
// again. The epoll descriptor itself sits in Go's network poller, so the
// poller's goroutine is parked there, not in a system call.
//
// Methods are safe for concurrent use; arm is called by a connection's
// reader, one at a time per connection.
type poller struct {
	epfd  int
	file  *os.File
	ready func(*Conn) // called on the poller's goroutine when a connection has bytes

	mu    sync.Mutex
	conns []*Conn  // by slot; nil when free
	gens  []uint32 // by slot: bumped when a slot is freed, so stale events miss
	free  []int32
	done  chan struct{}
}

// pollable reports whether this platform has a poller.
const pollable = true

func newPoller(ready func(*Conn)) (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("failed to create epoll set: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("failed to make epoll set nonblocking: %w", err)
	}
	p := &poller{epfd: epfd, file: os.NewFile(uintptr(epfd), "epoll"), ready: ready, done: make(chan struct{})}
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.file.Close()
		return nil, fmt.Errorf("failed to poll epoll set: %w", err)
	}
	go p.run(rc)
	return p, nil
}

// run hands every readiness event to ready, until close.
func (p *poller) run(rc syscall.RawConn) {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, werr = syscall.EpollWait(int(fd), events, 0)
				if werr != syscall.EINTR {
					return n != 0 || werr != nil // nothing ready: park until the set is readable
				}
			}
		})
		if err != nil || werr != nil {
			return // closed
		}
		for i := range events[:n] {
			if c := p.lookup(events[i].Fd, uint32(events[i].Pad)); c != nil {
				p.ready(c)
			}
		}
	}
}

func (p *poller) lookup(slot int32, gen uint32) *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slot < 0 || int(slot) >= len(p.conns) || p.gens[slot] != gen {
		return nil // a connection gone since the event was queued
	}
	return p.conns[slot]
}

// add gives c a slot; arm then puts it in the set.
func (p *poller) add(c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var slot int32
	if n := len(p.free); n > 0 {
		slot, p.free = p.free[n-1], p.free[:n-1]
	} else {
		slot = int32(len(p.conns))
		p.conns = append(p.conns, nil)
		p.gens = append(p.gens, 0)
	}
	p.conns[slot] = c
	c.pslot, c.pgen = slot, p.gens[slot]
}

// arm asks for one event when c has bytes to read (or its peer hung up).
// If bytes are already there, the event comes at once.
func (p *poller) arm(c *Conn) error {
	op := syscall.EPOLL_CTL_MOD
	if !c.parmed {
		op = syscall.EPOLL_CTL_ADD
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: c.pslot, Pad: int32(c.pgen)}
	var cerr error
	err := c.sock.rc.Control(func(fd uintptr) { cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev) })
	if err == nil {
		err = cerr
	}
	if err == nil {
		c.parmed = true
	}
	return err
}

// remove takes c out of the set and frees its slot. Call it before closing
// c's socket.
func (p *poller) remove(c *Conn) {
	_ = c.sock.rc.Control(func(fd uintptr) { _ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[c.pslot] == c {
		p.conns[c.pslot] = nil
		p.gens[c.pslot]++
		p.free = append(p.free, c.pslot)
	}
}

// close stops the poller and waits for its goroutine.
func (p *poller) close() {
	p.file.Close()
	<-p.done
}
