//go:build !unix

package loadtest

import (
	"errors"
	"syscall"
	"time"
)

var (
	errAddrNotAvail = errors.New("address not available")
	errTooManyFiles = errors.New("too many open files")
)

// processUsage is not available on this platform: the report's generator
// CPU figures stay zero.
func processUsage() (cpu time.Duration, maxRSS int64) { return 0, 0 }

func fileLimit() int { return 0 }

// smallReceiveBuffer cannot shrink a socket's buffer here: stalled viewers
// keep the system's.
func smallReceiveBuffer(_, _ string, _ syscall.RawConn) error { return nil }
