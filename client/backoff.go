package client

import (
	"math/rand/v2"
	"time"
)

// Backoff is how the SDK spaces reconnects: exponential backoff with full
// jitter. The n-th wait in a row is a random duration in
// [0, min(Max, Min·2ⁿ)), so clients that lost their connections together
// (a node restarted) come back spread over the window instead of at once.
// Slow waits (after close code 4029) are drawn from [Max/2, Max) instead.
// It has no state: the caller counts attempts. The load tester reconnects
// with it too, to measure what the SDK's clients do to a server.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff is the SDK's policy for WebSocket reconnects.
func DefaultBackoff() Backoff { return Backoff{Min: DefaultBackoffMin, Max: DefaultBackoffMax} }

// Delay is the wait before reconnect attempt number attempt (0 first).
func (b Backoff) Delay(attempt int, slow bool) time.Duration {
	if slow {
		half := b.Max / 2
		return half + rand.N(b.Max-half+1)
	}
	ceil := b.Max
	if attempt < 32 && b.Min<<attempt > 0 && b.Min<<attempt < b.Max {
		ceil = b.Min << attempt
	}
	return rand.N(ceil + 1)
}

// sleep waits d or until done is closed, and reports whether it waited.
func sleep(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
