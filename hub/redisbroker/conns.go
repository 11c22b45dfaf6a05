package redisbroker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/givelive/givelive/hub"
)

// subConn is one pub/sub connection with its reader. A single Redis server
// has one, holding every channel; Redis Cluster has one per master node
// that serves a subscribed room, holding the channels of that node's slots
// (sharded pub/sub: SSUBSCRIBE reaches only the node that owns the slot).
type subConn struct {
	mu sync.Mutex // guards unsubs

	addr    string        // the node's address; "" for a single server
	node    *redis.Client // the client it connects through
	sharded bool          // SSUBSCRIBE rather than SUBSCRIBE

	// Guarded by Broker.mu.
	ps       *redis.PubSub
	channels map[string]bool // cluster only: the channels it holds
	retired  bool            // its node no longer serves any of them
	// unsubs counts, per channel, the SUNSUBSCRIBEs this node sent whose
	// replies have not come back: Redis answers each, so a reply counted
	// here is ours, and any other means Redis moved the channel's slot.
	unsubs map[string]int
}

// open returns a new pub/sub of c's kind. Replies to SUNSUBSCRIBEs sent
// on the one it replaces will not come: their count is cleared.
func (c *subConn) open(ctx context.Context) *redis.PubSub {
	c.mu.Lock()
	clear(c.unsubs)
	c.mu.Unlock()
	if c.sharded {
		return c.node.SSubscribe(ctx)
	}
	return c.node.Subscribe(ctx)
}

// send writes (un)subscribe commands for channels on ps: one for them all
// on a single server, one per channel on a cluster (a sharded command may
// not span slots). It counts the commands in n.
func (c *subConn) send(ctx context.Context, ps *redis.PubSub, unsub bool, channels []string, n *atomic.Uint64) error {
	if len(channels) == 0 {
		return nil
	}
	if !c.sharded {
		n.Add(1)
		if unsub {
			return ps.Unsubscribe(ctx, channels...)
		}
		return ps.Subscribe(ctx, channels...)
	}
	var first error
	for _, ch := range channels {
		n.Add(1)
		var err error
		if unsub {
			err = c.sunsubscribe(ctx, ps, ch)
		} else {
			err = ps.SSubscribe(ctx, ch)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// sunsubscribe sends SUNSUBSCRIBE for channel on ps, counting the reply
// to come (see unsubs). Called without Broker.mu.
func (c *subConn) sunsubscribe(ctx context.Context, ps *redis.PubSub, channel string) error {
	c.mu.Lock()
	c.unsubs[channel]++
	c.mu.Unlock()
	err := ps.SUnsubscribe(ctx, channel)
	if err != nil { // not sent: no reply will come
		c.ours(channel)
	}
	return err
}

// ours reports whether a SUNSUBSCRIBE reply for channel answers one this
// node sent, and counts it off.
func (c *subConn) ours(channel string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.unsubs[channel]
	switch {
	case n <= 0:
		return false
	case n == 1:
		delete(c.unsubs, channel)
	default:
		c.unsubs[channel] = n - 1
	}
	return true
}

// startConns opens the single server's connection; a cluster's open as
// rooms need them. Called with b.mu held, from Start.
func (b *Broker) startConns() {
	if b.cluster != nil {
		return
	}
	c := &subConn{node: b.single}
	c.ps = c.open(b.ctx)
	b.conns[""] = c
	b.wg.Go(func() { b.read(c) })
}

// connFor returns the connection channel is (to be) subscribed on: the one
// connection of a single server, or on a cluster the one of the master
// that serves the channel's slot (opened if needed) — for an unsubscribe,
// the one that holds it, nil if none does.
func (b *Broker) connFor(ctx context.Context, channel string, unsub bool) (*subConn, error) {
	if b.cluster == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.conns[""], nil
	}
	if unsub {
		b.mu.Lock()
		defer b.mu.Unlock()
		c := b.where[channel]
		if c != nil {
			delete(c.channels, channel)
			delete(b.where, channel)
		}
		return c, nil
	}
	node, err := b.cluster.MasterForKey(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("redis cluster: no master for %s: %w", channel, err)
	}
	addr := node.Options().Addr
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, hub.ErrBrokerClosed
	}
	c := b.conns[addr]
	if c == nil || c.retired {
		c = &subConn{addr: addr, node: node, sharded: true, channels: make(map[string]bool), unsubs: make(map[string]int)}
		c.ps = c.open(b.ctx)
		b.conns[addr] = c
		b.wg.Go(func() { b.read(c) })
	}
	if old := b.where[channel]; old != nil && old != c {
		delete(old.channels, channel)
	}
	c.channels[channel] = true
	b.where[channel] = c
	return c, nil
}

// channelsOf lists the channels c holds. Called with b.mu held.
func (b *Broker) channelsOf(c *subConn) []string {
	var out []string
	if b.cluster == nil {
		for r := range b.rooms {
			out = append(out, b.channel(r))
		}
		return out
	}
	for ch := range c.channels {
		out = append(out, ch)
	}
	return out
}

// reroute, on a cluster, moves the channels of c whose slots another node
// now serves (after a failover or a resharding) to that node, and retires c
// when it holds none. The moved rooms then resync from history.
func (b *Broker) reroute(c *subConn) {
	b.cluster.ReloadState(b.ctx)
	b.mu.Lock()
	channels := b.channelsOf(c)
	b.mu.Unlock()
	for _, ch := range channels {
		node, err := b.cluster.MasterForKey(b.ctx, ch)
		if err != nil || node.Options().Addr == c.addr {
			continue
		}
		b.moved(c, ch)
	}
}

// moved handles a channel c no longer serves: a slot that migrated (Redis
// sends SUNSUBSCRIBE) or a node that failed over. If the room is still
// wanted it is subscribed again wherever its slot now lives.
func (b *Broker) moved(c *subConn, channel string) {
	room, ok := b.roomOf(channel)
	if !ok {
		return
	}
	b.mu.Lock()
	if !c.channels[channel] {
		b.mu.Unlock()
		return // not held here (any more)
	}
	wanted := b.rooms[room] > 0
	if b.where[channel] == c {
		delete(b.where, channel)
	}
	delete(c.channels, channel)
	ps := c.ps
	empty := len(c.channels) == 0
	if empty {
		c.retired = true
		delete(b.conns, c.addr)
	}
	b.mu.Unlock()
	// Forget it on the old connection, so go-redis does not subscribe it
	// there again when it reconnects (the reply is counted as ours).
	_ = c.sunsubscribe(b.ctx, ps, channel)
	if empty {
		_ = ps.Close()
	}
	if !wanted {
		return
	}
	b.log.Info("redis cluster: room moved to another node, subscribing there", "room", room, "from", c.addr)
	b.wg.Go(func() {
		if err := b.request(b.ctx, channel, false); err != nil && b.ctx.Err() == nil {
			b.log.Warn("redis cluster: failed to subscribe a moved room", "room", room, "err", err)
		}
	})
}
