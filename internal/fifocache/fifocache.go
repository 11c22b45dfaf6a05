// Package fifocache is a cache of values bounded by the sum of their sizes,
// oldest out first. The HLS server keeps a stream's finished files in one,
// and a node keeps the files it fetched from other nodes in another.
package fifocache

import "sync"

// Cache maps keys to values of at most Max bytes in all, as Size counts
// them; when a new value would exceed that, the oldest go first. A value is
// never replaced: the files it holds are immutable. Safe for concurrent
// use; the zero value is not ready, use New.
type Cache[V any] struct {
	mu      sync.RWMutex
	max     int
	size    func(V) int
	bytes   int
	entries map[string]V
	order   []string
}

// New returns an empty cache of at most max bytes.
func New[V any](max int, size func(V) int) *Cache[V] {
	return &Cache[V]{max: max, size: size, entries: map[string]V{}}
}

// Get returns key's value, if it is kept.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.entries[key]
	return v, ok
}

// Put keeps v under key, unless the key is kept already or v alone is
// larger than the cache.
func (c *Cache[V]) Put(key string, v V) {
	n := c.size(v)
	if n > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	c.entries[key] = v
	c.order = append(c.order, key)
	c.bytes += n
	for c.bytes > c.max {
		old := c.order[0]
		c.order[0] = ""
		c.order = c.order[1:]
		c.bytes -= c.size(c.entries[old])
		delete(c.entries, old)
	}
}
