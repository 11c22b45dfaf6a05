package redisbroker_test

import (
	"context"
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
