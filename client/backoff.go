package client

import (
	"math/rand/v2"
	"time"
)

// backoff is exponential backoff with full jitter: the n-th wait in a row
// is a random duration in [0, min(max, min·2ⁿ)). Slow waits (after 4029)
// are drawn from [max/2, max) instead. It has no state: the caller counts.
type backoff struct {
	min, max time.Duration
}

func (b backoff) delay(attempt int, slow bool) time.Duration {
	if slow {
		half := b.max / 2
		return half + rand.N(b.max-half+1)
	}
	ceil := b.max
	if attempt < 32 && b.min<<attempt > 0 && b.min<<attempt < b.max {
		ceil = b.min << attempt
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
