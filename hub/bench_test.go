package hub

import (
	"fmt"
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// BenchmarkFanout measures the hub's own cost of one publication reaching
// every subscriber of a room: encoding once, then queueing the shared bytes
// on each connection. Sockets are left out (the connections are marked as
// already writing, so no writer starts); their cost is measured end to end
// by the loopback measurement in docs/BENCHMARKS.md. ns/delivery and
// allocs/op are reported per publication and per delivery.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h, err := New(Config{ViewerInterval: time.Hour, PingInterval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { h.Shutdown(b.Context()) })
			room := "f_bench"
			conns := make([]*Conn, n)
			for i := range conns {
				c := newConn(h, nil, Identity{})
				c.writing = true // no writer goroutine: we drain by hand
				s, err := h.join(b.Context(), c, room, RoomInfo{})
				if err != nil {
					b.Fatal(err)
				}
				pos, _ := h.Position(b.Context(), room)
				s.joining, s.epoch, s.offset = false, pos.Epoch, pos.Offset
				conns[i] = c
			}
			data := []byte(`{"id":"c_0193a2b4c5d6","user":{"id":"u_1","name":"Ada","badges":["donor"]},"text":"thank you for streaming!"}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.Publish(b.Context(), room, wire.TypeChat, data); err != nil {
					b.Fatal(err)
				}
				if i%64 == 63 { // keep queues short, as writers would
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
