package fifocache

import "testing"

func TestOldestOutFirst(t *testing.T) {
	c := New(10, func(s string) int { return len(s) })
	c.Put("a", "aaaa")
	c.Put("b", "bbbb")
	c.Put("a", "zz") // kept already: not replaced
	if v, _ := c.Get("a"); v != "aaaa" {
		t.Fatalf("a = %q, want the first value", v)
	}
	c.Put("c", "cccc") // 12 bytes: a goes
	if _, ok := c.Get("a"); ok {
		t.Fatal("the oldest value was kept past the bound")
	}
	for _, k := range []string{"b", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s is gone", k)
		}
	}
	c.Put("big", "0123456789x") // larger than the cache: not kept, nothing evicted
	if _, ok := c.Get("big"); ok {
		t.Fatal("a value larger than the cache was kept")
	}
	if _, ok := c.Get("b"); !ok {
		t.Fatal("a value too large to keep evicted another")
	}
}
