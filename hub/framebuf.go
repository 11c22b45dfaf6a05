package hub

import "sync"

// framePool lends flushers the buffer they pack several queued events
// into, only while that frame is being written: an idle connection holds
// none. The zero value is ready to use.
type framePool struct{ pool sync.Pool }

func (p *framePool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (p *framePool) put(b *[]byte) {
	if cap(*b) > 256<<10 {
		return // do not keep rare huge buffers alive
	}
	*b = (*b)[:0]
	p.pool.Put(b)
}
