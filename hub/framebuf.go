package hub

import "sync"

// framePool recycles the buffers writers pack several events into, so an
// idle connection holds none. The zero value is ready to use.
type framePool struct{ pool sync.Pool }

func (p *framePool) get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 4096)
}

func (p *framePool) put(b []byte) {
	if cap(b) > 256<<10 {
		return // do not keep rare huge buffers alive
	}
	p.pool.Put(&b)
}
