package api

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestIPLimiter(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := newIPLimiter(2, 3, c.now)

	for i := range 3 {
		if ok, _ := l.allow("192.0.2.1"); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := l.allow("192.0.2.1")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("over the burst: ok %v wait %v", ok, wait)
	}
	// A refused request takes no token: after the wait one is there.
	c.t = c.t.Add(wait)
	if ok, _ := l.allow("192.0.2.1"); !ok {
		t.Fatal("refused after waiting as told")
	}
	// Another address has its own bucket; IPv4-mapped IPv6 is the same
	// address.
	if ok, _ := l.allow("192.0.2.2"); !ok {
		t.Fatal("another address was limited")
	}
	if ok, _ := l.allow("::ffff:192.0.2.1"); ok {
		t.Fatal("an IPv4-mapped address escaped its bucket")
	}
}

func TestIPLimiterGroupsIPv6By64(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := newIPLimiter(1, 2, c.now)
	l.allow("2001:db8:1:2::1")
	l.allow("2001:db8:1:2:ffff::9")
	if ok, _ := l.allow("2001:db8:1:2:abcd::1"); ok {
		t.Fatal("addresses in one /64 have separate buckets")
	}
	if ok, _ := l.allow("2001:db8:1:3::1"); !ok {
		t.Fatal("the next /64 shares the bucket")
	}
}

func TestIPLimiterSweepsAndStaysBounded(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := newIPLimiter(1, 1, c.now)
	for i := range 10 {
		l.allow(fmt.Sprintf("198.51.100.%d", i))
	}
	if len(l.visitors) != 10 {
		t.Fatalf("%d visitors", len(l.visitors))
	}
	c.t = c.t.Add(2 * sweepEvery)
	l.allow("203.0.113.1")
	if len(l.visitors) != 1 {
		t.Fatalf("%d visitors after the sweep, want 1", len(l.visitors))
	}

	// Past maxVisitors, newcomers share the overflow bucket.
	for i := range maxVisitors {
		l.visitors[clientKey(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))] = &visitor{lim: l.overflow, seen: c.t}
	}
	before := len(l.visitors)
	l.allow("172.16.0.1")
	if len(l.visitors) != before {
		t.Fatal("the visitor map grew past its bound")
	}
}
