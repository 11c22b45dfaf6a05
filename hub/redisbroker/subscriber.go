package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// Subscribe implements hub.Broker: it returns once Redis has confirmed the
// subscription, so every later publication reaches the handler.
func (b *Broker) Subscribe(ctx context.Context, room string) error {
	ch := b.channel(room)
	done := make(chan struct{})
	b.mu.Lock()
	if b.closed || !b.started {
		b.mu.Unlock()
		return hub.ErrBrokerClosed
	}
	b.rooms[room]++
	b.waiters[ch] = append(b.waiters[ch], done)
	b.mu.Unlock()

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.SubscribeTimeout)
		defer cancel()
	}
	// The room's position before subscribing: a safe point to catch up
	// from if the connection is lost before anything is delivered.
	h, err := b.History(ctx, room, nil)
	if err == nil {
		b.mu.Lock()
		b.baselines[ch] = h.Position
		b.mu.Unlock()
		err = b.request(ctx, ch, false)
	}
	if err == nil {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		case <-b.ctx.Done():
			err = hub.ErrBrokerClosed
		}
	}
	// The hub forgets a room whose Subscribe failed: undo it.
	b.mu.Lock()
	b.waiters[ch] = slices.DeleteFunc(b.waiters[ch], func(c chan struct{}) bool { return c == done })
	if len(b.waiters[ch]) == 0 {
		delete(b.waiters, ch)
		delete(b.baselines, ch)
	}
	last := b.unpin(room)
	b.mu.Unlock()
	if last {
		_ = b.request(context.WithoutCancel(ctx), ch, true)
	}
	return fmt.Errorf("failed to subscribe to room %s: %w", room, err)
}

// Unsubscribe implements hub.Broker. Even when it fails to reach Redis the
// room is forgotten: it is not subscribed again on reconnection.
func (b *Broker) Unsubscribe(ctx context.Context, room string) error {
	b.mu.Lock()
	if b.closed || !b.started {
		b.mu.Unlock()
		return hub.ErrBrokerClosed
	}
	last := b.unpin(room)
	b.mu.Unlock()
	if !last {
		return nil
	}
	b.enqueue(delivery{room: room, kind: deliverForget})
	if err := b.request(ctx, b.channel(room), true); err != nil {
		return fmt.Errorf("failed to unsubscribe from room %s: %w", room, err)
	}
	return nil
}

// subRequest asks the subscription batcher to (un)subscribe one channel.
type subRequest struct {
	channel string
	unsub   bool
	done    chan error // buffered
}

// maxSubBatch caps the channels of one SUBSCRIBE or UNSUBSCRIBE command.
const maxSubBatch = 512

// request has the batcher send SUBSCRIBE (or UNSUBSCRIBE) for channel,
// together with every other request waiting, and returns once it is
// written. A subscription is confirmed later, by the reader.
func (b *Broker) request(ctx context.Context, channel string, unsub bool) error {
	r := subRequest{channel: channel, unsub: unsub, done: make(chan error, 1)}
	select {
	case b.subReqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.ctx.Done():
		return hub.ErrBrokerClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.ctx.Done():
		return hub.ErrBrokerClosed
	}
}

// batchSubscriptions sends the waiting (un)subscribe requests in as few
// commands as it can: when many rooms gain or lose their first viewer at
// once (a node starting, a reconnect storm), one command carries hundreds
// of channels. The hub subscribes and unsubscribes a room one call at a
// time, so a batch never holds both for one channel. On Redis Cluster each
// channel goes to the connection of its slot's master, one command per
// channel (a sharded subscription cannot span slots).
func (b *Broker) batchSubscriptions() {
	batch := make([]subRequest, 0, maxSubBatch)
	for {
		select {
		case <-b.ctx.Done():
			return
		case r := <-b.subReqs:
			batch = takeWaiting(b.subReqs, append(batch[:0], r), maxSubBatch)
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.SubscribeTimeout)
		b.sendSubscriptions(ctx, batch)
		cancel()
		clear(batch)
	}
}

// sendSubscriptions sends one batch and answers its requests.
func (b *Broker) sendSubscriptions(ctx context.Context, batch []subRequest) {
	type group struct {
		subs, unsubs []string
		subErr       error
		unsubErr     error
	}
	groups := make(map[*subConn]*group)
	conns := make([]*subConn, len(batch))
	errs := make([]error, len(batch))
	for i, r := range batch {
		c, err := b.connFor(ctx, r.channel, r.unsub)
		if err != nil || c == nil {
			errs[i] = err // unsubscribing a channel no connection has is done
			continue
		}
		conns[i] = c
		g := groups[c]
		if g == nil {
			g = &group{}
			groups[c] = g
		}
		if r.unsub {
			g.unsubs = append(g.unsubs, r.channel)
		} else {
			g.subs = append(g.subs, r.channel)
		}
	}
	for c, g := range groups {
		b.mu.Lock()
		ps := c.ps
		b.mu.Unlock()
		g.subErr = c.send(ctx, ps, false, g.subs, &b.subCommands)
		if errors.Is(g.subErr, redis.ErrClosed) && b.ctx.Err() == nil {
			g.subErr = nil // the reader replaced ps and subscribes the channels on the new one
		}
		g.unsubErr = c.send(ctx, ps, true, g.unsubs, &b.subCommands)
	}
	for i, r := range batch {
		switch g := groups[conns[i]]; {
		case conns[i] == nil:
			r.done <- errs[i]
		case r.unsub:
			r.done <- g.unsubErr
		default:
			r.done <- g.subErr
		}
	}
}

// unpin undoes one Subscribe and reports whether it was the last. Called
// with b.mu held.
func (b *Broker) unpin(room string) bool {
	n := b.rooms[room] - 1
	if n > 0 {
		b.rooms[room] = n
		return false
	}
	delete(b.rooms, room)
	return true
}

// read is the reader of one pub/sub connection. It never waits on the
// hub: publications go to the workers' queues, or are dropped and counted
// when a queue is full. go-redis reconnects and resubscribes on the next
// Receive after an error; read backs off between failures, and replaces a
// connection that stays silent after a ping. On Redis Cluster it also
// moves the channels whose slots another node now serves.
func (b *Broker) read(c *subConn) {
	const minBackoff, maxBackoff = 50 * time.Millisecond, time.Second
	backoff := time.Duration(0)
	pinged := false
	for {
		b.mu.Lock()
		ps, retired := c.ps, c.retired
		b.mu.Unlock()
		if retired {
			return
		}
		msg, err := ps.ReceiveTimeout(b.ctx, b.cfg.PingInterval)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !pinged {
					pinged = true
					_ = ps.Ping(b.ctx)
					continue
				}
				b.log.Warn("redis pub/sub connection silent, replacing it", "node", c.addr)
				b.replace(c)
				pinged = false
				continue
			}
			pinged = false
			if backoff == 0 {
				b.log.Warn("redis pub/sub connection lost", "node", c.addr, "err", err)
				backoff = minBackoff
			} else {
				backoff = min(2*backoff, maxBackoff)
			}
			select {
			case <-time.After(backoff):
			case <-b.ctx.Done():
				return
			}
			if b.cluster != nil {
				b.reroute(c) // its node may have lost its slots (failover)
				b.resubscribeSharded(c)
			}
			continue
		}
		pinged = false
		if backoff != 0 {
			backoff = 0
			b.reconnects.Add(1)
			b.log.Info("redis pub/sub connection restored", "node", c.addr)
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			switch m.Kind {
			case "subscribe", "ssubscribe":
				base, fresh := b.confirm(m.Channel)
				if room, ok := b.roomOf(m.Channel); ok {
					// Ahead of the channel's first publication: a new
					// subscription records its baseline, a renewed one
					// (after a reconnection) recovers what it missed.
					d := delivery{room: room, kind: deliverResync}
					if fresh {
						d = delivery{room: room, kind: deliverFresh, pub: hub.Publication{Epoch: base.Epoch, Offset: base.Offset}}
					}
					if !b.enqueue(d) {
						b.markBehind(room, deliverResync) // from the baseline it may lack: the hub resumes
					}
				}
			case "sunsubscribe":
				if !c.ours(m.Channel) {
					b.moved(c, m.Channel) // Redis moved the slot away
				}
			}
		case *redis.Message:
			b.dispatch(m)
		}
	}
}

// replace swaps a pub/sub connection for a new one that subscribes all its
// channels. Subscribe calls racing with it find the old one closed and
// wait for the new one's confirmation.
func (b *Broker) replace(c *subConn) {
	b.mu.Lock()
	if b.closed || c.retired {
		b.mu.Unlock()
		return
	}
	old := c.ps
	c.ps = c.open(b.ctx)
	ps := c.ps
	channels := b.channelsOf(c)
	b.mu.Unlock()
	b.stale.Add(1)
	_ = old.Close()
	// On failure the channels stay registered: the next Receive
	// reconnects and subscribes them.
	_ = c.send(b.ctx, ps, false, channels, &b.subCommands)
}

// resubscribeSharded replaces a cluster connection after an error with a
// new one that subscribes its channels one command each, once the node
// answers. go-redis would resubscribe them all in one SSUBSCRIBE, which a
// cluster refuses when they span slots (CROSSSLOT); a connection that
// holds no channel until the node answers never attempts that.
func (b *Broker) resubscribeSharded(c *subConn) {
	b.mu.Lock()
	if b.closed || c.retired {
		b.mu.Unlock()
		return
	}
	old := c.ps
	c.ps = c.open(b.ctx)
	ps := c.ps
	channels := b.channelsOf(c)
	b.mu.Unlock()
	_ = old.Close()
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.SubscribeTimeout)
	defer cancel()
	if err := ps.Ping(ctx); err != nil {
		return // still down: the reader fails again, and comes back here
	}
	_ = c.send(ctx, ps, false, channels, &b.subCommands)
}

// confirm wakes the Subscribe calls waiting for channel, and reports
// whether there were any, with the baseline they read: the hub subscribes
// a room once, for its first viewer, so a confirmation nobody waits for
// renews an older subscription.
func (b *Broker) confirm(channel string) (base wire.Position, fresh bool) {
	b.mu.Lock()
	ws := b.waiters[channel]
	delete(b.waiters, channel)
	base = b.baselines[channel]
	delete(b.baselines, channel)
	b.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
	return base, len(ws) > 0
}

func (b *Broker) dispatch(m *redis.Message) {
	room, ok := b.roomOf(m.Channel)
	if !ok {
		return
	}
	p, err := decodeMessage(m.Payload)
	if err != nil {
		b.log.Warn("dropping malformed publication", "room", room, "err", err)
		return
	}
	if !b.enqueue(delivery{room: room, pub: p}) {
		b.dropped.Add(1)
		if p.Offset > 0 {
			b.markBehind(room, deliverResync) // recovered from history
		}
	}
}

// enqueue queues d on its room's worker without waiting, and reports
// whether there was room.
func (b *Broker) enqueue(d delivery) bool {
	select {
	case b.workers[fnv32(d.room)%uint32(len(b.workers))] <- d:
		return true
	default:
		return false
	}
}

// roomState is what a worker knows of one subscribed room: the position
// of the last publication it delivered (delivered) or, before any, the
// room's position when it was subscribed (a baseline, for a resync only).
type roomState struct {
	pos       wire.Position
	delivered bool
}

// work hands one worker's queue to the hub. It remembers where each
// subscribed room stands, so that when a room is subscribed again after
// the connection was lost, or a delivery for it was dropped, it can
// deliver what was published meanwhile from the room's history or, when
// history no longer holds it, tell the hub to make the room's viewers
// resume.
func (b *Broker) work(q <-chan delivery) {
	rooms := make(map[string]roomState)
	for d := range q {
		if b.behindCount.Load() > 0 {
			if kind, ok := b.takeBehind(d.room); ok {
				b.control(rooms, delivery{room: d.room, kind: kind})
			}
		}
		if d.kind != deliverPub {
			b.control(rooms, d)
			continue
		}
		if d.pub.Offset > 0 {
			st, ok := rooms[d.room]
			if ok && st.delivered && st.pos.Epoch == d.pub.Epoch && d.pub.Offset <= st.pos.Offset {
				continue // delivered already, by a resync
			}
			rooms[d.room] = roomState{pos: wire.Position{Epoch: d.pub.Epoch, Offset: d.pub.Offset}, delivered: true}
		}
		b.handler.HandlePublication(d.room, d.pub)
	}
}

// control acts on a mark d for its room: forget the room, record its
// baseline (a new subscription), or resync it.
func (b *Broker) control(rooms map[string]roomState, d delivery) {
	room := d.room
	switch d.kind {
	case deliverForget:
		delete(rooms, room)
	case deliverFresh:
		// The position read before subscribing (carried in the mark's
		// publication fields). Not marked delivered: it only says where
		// to catch up from.
		rooms[room] = roomState{pos: wire.Position{Epoch: d.pub.Epoch, Offset: d.pub.Offset}}
	case deliverResync:
		st, ok := rooms[room]
		if !ok {
			b.lostGap(room, nil) // nothing known to resume from
			return
		}
		if pos, ok := b.resync(room, st.pos); ok {
			rooms[room] = roomState{pos: pos, delivered: true}
		}
	}
}

// resync delivers the room's publications after since and returns the
// position reached (false when it could not read the room). Publications
// the hub already has are dropped there, by offset. A gap history cannot
// fill goes to the hub's HandleGap, when the handler has one.
func (b *Broker) resync(room string, since wire.Position) (wire.Position, bool) {
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.SubscribeTimeout)
	defer cancel()
	h, err := b.History(ctx, room, &since)
	if err == nil && h.Recovered {
		for _, p := range h.Publications {
			b.handler.HandlePublication(room, p)
		}
		b.recovered.Add(uint64(len(h.Publications)))
		return h.Position, true
	}
	if b.ctx.Err() != nil {
		return since, false
	}
	b.lostGap(room, err)
	return h.Position, err == nil
}

// lostGap tells the hub a room's missed publications cannot be recovered.
func (b *Broker) lostGap(room string, err error) {
	b.lost.Add(1)
	b.log.Warn("publications this node missed are not in history; its viewers resume", "room", room, "err", err)
	if g, ok := b.handler.(hub.GapHandler); ok {
		g.HandleGap(room)
	}
}

// markBehind records that room needs a resync (or, kind deliverFresh, a
// baseline) its mark could not be queued for: the room's worker does it
// before its next delivery, and the sweeper queues it when there is room.
func (b *Broker) markBehind(room string, kind deliveryKind) {
	b.behindMu.Lock()
	if old, ok := b.behind[room]; !ok || kind > old {
		if !ok {
			b.behindCount.Add(1)
		}
		b.behind[room] = kind
	}
	b.behindMu.Unlock()
}

// takeBehind removes and returns room's pending mark, if any.
func (b *Broker) takeBehind(room string) (deliveryKind, bool) {
	b.behindMu.Lock()
	defer b.behindMu.Unlock()
	kind, ok := b.behind[room]
	if ok {
		delete(b.behind, room)
		b.behindCount.Add(-1)
	}
	return kind, ok
}

// sweep queues the pending marks of rooms whose worker had no room for
// them, once a second, so a quiet room is resynced too.
func (b *Broker) sweep() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		if b.behindCount.Load() == 0 {
			continue
		}
		b.behindMu.Lock()
		pending := maps.Clone(b.behind)
		b.behindMu.Unlock()
		for room := range pending {
			if k, ok := b.takeBehind(room); ok {
				if !b.enqueue(delivery{room: room, kind: k}) {
					b.markBehind(room, k)
				}
			}
		}
	}
}

// keepalive keeps the epoch of subscribed rooms alive however quiet they
// are, as the memory broker does, by renewing their meta keys' expiry.
func (b *Broker) keepalive() {
	t := time.NewTicker(b.cfg.RenewInterval)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		rooms := make([]string, 0, len(b.rooms))
		for r := range b.rooms {
			rooms = append(rooms, r)
		}
		b.mu.Unlock()
		for batch := range slices.Chunk(rooms, 500) {
			_, err := b.client.Pipelined(b.ctx, func(pipe redis.Pipeliner) error {
				for _, r := range batch {
					pipe.PExpire(b.ctx, b.metaKey(r), b.cfg.HistoryTTL)
				}
				return nil
			})
			if err != nil && b.ctx.Err() == nil {
				b.log.Warn("failed to renew room expiry", "err", err)
				break
			}
		}
	}
}

// fnv32 is FNV-1a.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
