package api

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// maxVisitors bounds the limiter's memory. Past it, unknown addresses
	// share one overflow bucket until idle ones are swept.
	maxVisitors = 100_000
	// sweepEvery is how often idle buckets are dropped.
	sweepEvery = time.Minute
)

// ipLimiter is a token bucket per client address; IPv6 clients are grouped
// by /64, the block one subscriber usually holds. Idle buckets are swept on
// the way, so it needs no goroutine. It is safe for concurrent use.
type ipLimiter struct {
	limit rate.Limit
	burst int
	idle  time.Duration // a bucket idle this long is full again: forget it
	now   func() time.Time

	mu        sync.Mutex
	visitors  map[netip.Addr]*visitor
	overflow  *rate.Limiter
	lastSweep time.Time
}

type visitor struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perSecond float64, burst int, now func() time.Time) *ipLimiter {
	refill := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &ipLimiter{
		limit:     rate.Limit(perSecond),
		burst:     burst,
		idle:      max(refill, sweepEvery),
		now:       now,
		visitors:  make(map[netip.Addr]*visitor),
		overflow:  rate.NewLimiter(rate.Limit(perSecond), burst),
		lastSweep: now(),
	}
}

// allow takes a token for ip. If none is left it reports how long until
// one will be, without taking it.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.bucket(clientKey(ip), now)
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// bucket returns key's bucket, creating it if there is room.
func (l *ipLimiter) bucket(key netip.Addr, now time.Time) *rate.Limiter {
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	if v, ok := l.visitors[key]; ok {
		v.seen = now
		return v.lim
	}
	if len(l.visitors) >= maxVisitors {
		return l.overflow
	}
	v := &visitor{lim: rate.NewLimiter(l.limit, l.burst), seen: now}
	l.visitors[key] = v
	return v.lim
}

func (l *ipLimiter) sweep(now time.Time) {
	for k, v := range l.visitors {
		if now.Sub(v.seen) >= l.idle {
			delete(l.visitors, k)
		}
	}
	l.lastSweep = now
}

// clientKey is the bucket key for ip: the address itself, or its /64 for
// IPv6. An unparseable address (not from Echo's extractors) shares the
// zero key.
func clientKey(ip string) netip.Addr {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
