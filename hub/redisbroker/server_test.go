package redisbroker_test

import (
	"context"
	"testing"
	"time"

	"github.com/givelive/givelive/internal/testredis"
)

// startRedis starts a redis-server for the test (internal/testredis).
func startRedis(t testing.TB) *testredis.Server { return testredis.Start(t) }

// timeout returns a context for one call.
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
