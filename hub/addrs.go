package hub

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
)

type clientAddrKey struct{}

// WithClientAddr returns a context that tells the hub which client address
// a handshake comes from (an IP address as text), when the server in front
// of it knows better than the connection's remote address: behind a
// trusted proxy, the forwarded client address. The hub counts open
// WebSockets per address against Config.MaxConnsPerAddr.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// addrKey is the key a handshake counts under: its client address, an
// IPv6 address reduced to its /64 (what one subscriber is usually given).
func addrKey(r *http.Request) string {
	addr, _ := r.Context().Value(clientAddrKey{}).(string)
	if addr == "" {
		addr = r.RemoteAddr
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = host
		}
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// addrCounts counts open WebSockets per client address. The zero value
// is ready to use.
type addrCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// take counts one more connection for key unless it already has limit
// (limit <= 0: no bound), and reports whether it did.
func (a *addrCounts) take(key string, limit int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if limit > 0 && a.n[key] >= limit {
		return false
	}
	if a.n == nil {
		a.n = make(map[string]int)
	}
	a.n[key]++
	return true
}

// release counts one connection of key out.
func (a *addrCounts) release(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[key] <= 1 {
		delete(a.n, key)
		return
	}
	a.n[key]--
}
