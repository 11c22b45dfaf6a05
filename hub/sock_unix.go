//go:build unix

package hub

import (
	"io"
	"syscall"
)

// tryWrite writes what the socket takes now, without waiting; a socket
// that takes nothing gives errWouldBlock.
func (s sock) tryWrite(b []byte) (int, error) {
	if s.rc == nil {
		return 0, errWouldBlock
	}
	var n int
	var werr error
	err := s.rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true // never wait: the caller decides what to do
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if werr == syscall.EAGAIN {
		werr = errWouldBlock
	}
	return n, werr
}

// tryRead reads what has arrived, without waiting: errWouldBlock when
// nothing has, io.EOF when the peer closed.
func (s sock) tryRead(b []byte) (int, error) {
	var n int
	var rerr error
	err := s.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), b)
			if rerr != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// setSendBuffer sets the socket's kernel send buffer (SO_SNDBUF), which
// also stops the kernel growing it.
func (s sock) setSendBuffer(n int) error {
	if s.rc == nil {
		return nil
	}
	var serr error
	err := s.rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, n)
	})
	if err != nil {
		return err
	}
	return serr
}
