package redisbroker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/brokertest"
	"github.com/givelive/givelive/hub/redisbroker"
	"github.com/givelive/givelive/hub/wire"
)

// BenchmarkPublish measures a recoverable publication from Publish to the
// handler on the same node: one script run and one pub/sub delivery.
func BenchmarkPublish(b *testing.B) {
	srv := startRedis(b)
	rec := brokertest.NewRecorder()
	br, err := redisbroker.New(redisbroker.Config{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.Start(rec); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := br.Subscribe(ctx, "f_bench"); err != nil {
		b.Fatal(err)
	}
	p := hub.Publication{Type: wire.TypeChat, Data: []byte(`{"user":"someone","text":"hello there, and thanks"}`), Time: time.Now().UnixMilli()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Publish(ctx, "f_bench", p); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	rec.Wait(b, "f_bench", b.N)
}

// BenchmarkPublishParallel measures how many recoverable publications one
// node pushes through one Redis when many goroutines publish at once (as
// the hub's connections do): the pipelines carry what arrives during each
// round trip. Nobody subscribes, so this is the publish side alone.
func BenchmarkPublishParallel(b *testing.B) {
	srv := startRedis(b)
	br, err := redisbroker.New(redisbroker.Config{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.Start(brokertest.NewRecorder()); err != nil {
		b.Fatal(err)
	}
	p := hub.Publication{Type: wire.TypeChat, Data: []byte(`{"user":"someone","text":"hello there, and thanks"}`), Time: time.Now().UnixMilli()}
	var next atomic.Int64
	b.SetParallelism(32) // 32 × GOMAXPROCS publishers
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		room := fmt.Sprintf("f_bench%d", next.Add(1)%100)
		for pb.Next() {
			if _, err := br.Publish(context.Background(), room, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
	s := br.Stats()
	if s.Batches > 0 {
		b.ReportMetric(float64(b.N)/float64(s.Batches), "per-pipeline")
	}
}
