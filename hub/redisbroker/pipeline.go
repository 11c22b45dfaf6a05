package redisbroker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// Publications are pipelined: Publish queues a request, and a few sender
// goroutines each take every request waiting (up to maxBatch) and send
// them to Redis in one round trip. A lone publish goes out at once; under
// load the requests that arrive during one round trip share the next, so
// a node's publish rate is not bounded by its round-trip time. go-redis
// does not batch by itself.

// maxBatch caps the commands in one pipeline.
const maxBatch = 256

type pubRequest struct {
	ctx  context.Context
	room string
	p    hub.Publication
	done chan pubResult // buffered: the sender never waits on it
}

type pubResult struct {
	pos wire.Position
	err error
	// fresh is set for a volatile publication to a room that has no epoch
	// yet: Publish creates one as History does.
	fresh bool
}

// pipelineTimeout bounds one pipeline's round trip. Pipelines do not use
// the broker's context, so that Close lets the ones under way finish (a
// publication cut off after Redis ran it would be published again by its
// caller's retry).
const pipelineTimeout = 5 * time.Second

// send is one sender goroutine. When Close stops it, it sends what is
// still queued first.
func (b *Broker) send() {
	batch := make([]*pubRequest, 0, maxBatch)
	for {
		select {
		case <-b.stopSend:
			for {
				batch = b.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				b.sendBatch(batch)
				clear(batch)
			}
		case r := <-b.pubs:
			batch = b.fill(append(batch[:0], r))
		}
		b.sendBatch(batch)
		clear(batch)
	}
}

// fill adds the requests waiting, up to maxBatch, without blocking.
func (b *Broker) fill(batch []*pubRequest) []*pubRequest {
	return takeWaiting(b.pubs, batch, maxBatch)
}

// takeWaiting appends to batch what ch holds now, up to max items in all,
// without blocking: the batching both publishes and subscriptions use.
func takeWaiting[T any](ch <-chan T, batch []T, max int) []T {
	for len(batch) < max {
		select {
		case v := <-ch:
			batch = append(batch, v)
		default:
			return batch
		}
	}
	return batch
}

// sendBatch sends the live requests of batch in one pipeline and answers
// each. Scripts Redis does not know yet (NOSCRIPT: not run) are loaded and
// the batch's requests sent again, once.
func (b *Broker) sendBatch(batch []*pubRequest) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- pubResult{err: err} // not sent: nothing was published
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	b.batches.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), pipelineTimeout)
	defer cancel()
	cmds, err := b.pipeline(ctx, live)
	if err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		b.answer(live, cmds)
		return
	}
	// NOSCRIPT is per command: answer the ones that ran, retry the rest.
	var retry []*pubRequest
	var ran []*pubRequest
	var ranCmds [][]redis.Cmder
	for i, r := range live {
		if redis.HasErrorPrefix(cmds[i][0].Err(), "NOSCRIPT") {
			retry = append(retry, r)
			continue
		}
		ran, ranCmds = append(ran, r), append(ranCmds, cmds[i])
	}
	b.answer(ran, ranCmds)
	if err := publishScript.Load(ctx, b.client).Err(); err != nil {
		for _, r := range retry {
			r.done <- pubResult{err: fmt.Errorf("failed to publish to room %s: load script: %w", r.room, err)}
		}
		return
	}
	cmds, _ = b.pipeline(ctx, retry)
	b.answer(retry, cmds)
}

// pipeline sends one pipeline for reqs; cmds[i] are request i's commands.
func (b *Broker) pipeline(ctx context.Context, reqs []*pubRequest) ([][]redis.Cmder, error) {
	cmds := make([][]redis.Cmder, len(reqs))
	_, err := b.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, r := range reqs {
			if wire.Recoverable(r.p.Type) {
				cmds[i] = []redis.Cmder{pipe.EvalSha(ctx, publishScript.Hash(),
					[]string{b.metaKey(r.room), b.streamKey(r.room)},
					newEpoch(), b.channel(r.room), r.p.Type, r.p.Time, r.p.Data, b.cfg.HistorySize, b.ttlMillis(), b.publish)}
				continue
			}
			msg := appendVolatile(make([]byte, 0, 32+len(r.p.Type)+len(r.p.Data)), r.p)
			pub := pipe.Publish
			if b.cluster != nil {
				pub = pipe.SPublish
			}
			cmds[i] = []redis.Cmder{pipe.HMGet(ctx, b.metaKey(r.room), "e", "o"), pub(ctx, b.channel(r.room), msg)}
		}
		return nil
	})
	return cmds, err
}

// answer reads each request's replies and answers it.
func (b *Broker) answer(reqs []*pubRequest, cmds [][]redis.Cmder) {
	for i, r := range reqs {
		r.done <- b.result(r, cmds[i])
	}
}

func (b *Broker) result(r *pubRequest, cmds []redis.Cmder) pubResult {
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return pubResult{err: fmt.Errorf("failed to publish to room %s: %w", r.room, err)}
		}
	}
	if len(cmds) == 1 { // the publish script
		res, err := cmds[0].(*redis.Cmd).Slice()
		if err == nil {
			var pos wire.Position
			if pos, err = position(res); err == nil {
				return pubResult{pos: pos}
			}
		}
		return pubResult{err: fmt.Errorf("failed to publish to room %s: %w", r.room, err)}
	}
	v := cmds[0].(*redis.SliceCmd).Val()
	epoch, _ := v[0].(string)
	if epoch == "" {
		return pubResult{fresh: true}
	}
	offset, _ := v[1].(string)
	n, err := strconv.ParseUint(offset, 10, 64)
	if err != nil {
		return pubResult{err: fmt.Errorf("failed to publish to room %s: bad offset %q", r.room, offset)}
	}
	return pubResult{pos: wire.Position{Epoch: epoch, Offset: n}}
}
