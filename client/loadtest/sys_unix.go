//go:build unix

package loadtest

import (
	"syscall"
	"time"
)

var (
	errAddrNotAvail error = syscall.EADDRNOTAVAIL // out of ephemeral ports for a source address
	errTooManyFiles error = syscall.EMFILE
)

// processUsage returns this process's CPU time so far (user plus system)
// and its peak resident set size in bytes.
func processUsage() (cpu time.Duration, maxRSS int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, int64(ru.Maxrss) * maxRSSUnit
}

// fileLimit returns how many files this process may open (the soft limit,
// which the Go runtime raises to the hard one at start-up); 0 if unknown.
func fileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return int(min(rl.Cur, 1<<30))
}

// smallReceiveBuffer shrinks a socket's receive buffer before it connects
// (so the window it advertises is small from the start).
func smallReceiveBuffer(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, stalledReceiveBuffer)
	})
	if err != nil {
		return err
	}
	return serr
}
