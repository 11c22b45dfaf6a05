package ingest

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTracked bounds the bad-key limiter's memory; past it, full buckets are
// swept, and if none is full every unknown address shares one bucket.
const maxTracked = 10_000

// ipLimiter counts failed publishes (unknown stream keys) per client
// address, so a stream key cannot be guessed by trying many: each address
// has a token bucket that failures drain, and a publish from an address
// with an empty bucket is answered after a delay. It is never refused
// unheard: a broadcaster behind the same NAT as a guesser still goes live
// with the right key. It is safe for concurrent use.
type ipLimiter struct {
	every time.Duration
	burst int
	wait  time.Duration
	now   func() time.Time

	mu       sync.Mutex
	buckets  map[netip.Addr]*rate.Limiter
	overflow *rate.Limiter
}

func newIPLimiter(burst int, every, wait time.Duration, now func() time.Time) *ipLimiter {
	return &ipLimiter{
		every:    every,
		burst:    burst,
		wait:     wait,
		now:      now,
		buckets:  map[netip.Addr]*rate.Limiter{},
		overflow: rate.NewLimiter(rate.Every(every), burst),
	}
}

// delay returns how long to wait before looking up a key from addr: zero
// while it has failures left.
func (l *ipLimiter) delay(addr netip.Addr) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		b = l.overflow
		if len(l.buckets) < maxTracked {
			return 0
		}
	}
	if b.TokensAt(l.now()) < 1 {
		return l.wait
	}
	return 0
}

// failed records one failure from addr.
func (l *ipLimiter) failed(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= maxTracked {
			l.sweep(now)
		}
		if len(l.buckets) >= maxTracked {
			l.overflow.AllowN(now, 1)
			return
		}
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.buckets[addr] = b
	}
	b.AllowN(now, 1)
}

// sweep forgets addresses whose bucket has refilled: they are as if new.
func (l *ipLimiter) sweep(now time.Time) {
	for a, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, a)
		}
	}
}

// clientAddr is the address a connection comes from, IPv6 grouped by /64
// (the block one subscriber usually holds).
func clientAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
