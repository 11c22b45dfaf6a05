package hub

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// BenchmarkFanout measures the hub's own cost of one publication reaching
// every subscriber of a room: framing once, then handing the same frame to
// each connection, which writes it at once. The sockets are one end of
// net.Pipe with nobody reading, so every connection has no file
// descriptor and takes the queueing path, the slower one; the loopback
// measurement in docs/BENCHMARKS.md covers real sockets. ns/delivery and
// allocs/op are reported per publication and per delivery.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h, err := New(Config{ViewerInterval: time.Hour, PingInterval: time.Hour, ReaderGoroutines: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { h.Shutdown(b.Context()) })
			room := "f_bench"
			sh := h.shard(room)
			conns := make([]*Conn, n)
			for i := range conns {
				a, z := net.Pipe()
				b.Cleanup(func() { a.Close(); z.Close() })
				c := newConn(h, a, Identity{})
				c.writing = true // held: we drain by hand
				s, err := h.join(b.Context(), c, room, RoomInfo{})
				if err != nil {
					b.Fatal(err)
				}
				pos, _ := h.Position(b.Context(), room)
				s.joining, s.epoch, s.offset = false, pos.Epoch, pos.Offset
				conns[i] = c
			}
			r := sh.rooms[room]
			data := []byte(`{"id":"c_0193a2b4c5d6","user":{"id":"u_1","name":"Ada","badges":["donor"]},"text":"thank you for streaming!"}`)
			subs := append([]*subscription(nil), r.subs...)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				fb := newFrameBuilder(96 + len(data))
				fb.buf = wire.AppendEvent(fb.buf, room, wire.TypeChat, uint64(i+1), 1, data)
				ev := newEvent(fb)
				ev.room, ev.typ, ev.offset, ev.epoch, ev.recoverable = room, wire.TypeChat, uint64(i+1), subs[0].epoch, true
				ev.delivered = h.metrics.deliveredCounter(wire.TypeChat)
				h.fanout(subs, h.newBatch([]*event{ev}))
				if i%64 == 63 { // keep queues short, as flushers would
					b.StopTimer()
					for _, c := range conns {
						c.queue, c.qbytes = c.queue[:0], 0
					}
					b.StartTimer()
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}
