package hub

import (
	"context"
	"errors"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// viewerLoop publishes each room's viewer count when it has changed, at
// most once per ViewerInterval, and forgets idle rate-limit buckets.
func (h *Hub) viewerLoop() {
	defer h.loops.Done()
	t := time.NewTicker(h.cfg.ViewerInterval)
	defer t.Stop()
	var changed []roomCount
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			if vc, ok := h.broker.(ViewerCounter); ok {
				h.publishTotals(vc)
				h.limits.sweep(now)
				continue
			}
			changed = h.changedCounts(changed[:0])
			for _, rc := range changed {
				_, err := h.Publish(context.Background(), rc.room, wire.TypeViewers, wire.ViewersData{Count: rc.count})
				if err != nil {
					h.log.Warn("failed to publish viewer count", "room", rc.room, "err", err)
				}
			}
			h.limits.sweep(now)
		}
	}
}

// publishTotals reports every local room's count to a shared broker and
// publishes the total over all nodes where this node announces it and the
// total has changed.
func (h *Hub) publishTotals(vc ViewerCounter) {
	var local []roomCount
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for id, r := range sh.rooms {
			local = append(local, roomCount{id, r.viewers})
		}
		sh.mu.RUnlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ViewerInterval)
	defer cancel()
	for _, rc := range local {
		total, announce, err := vc.CountViewers(ctx, rc.room, rc.count)
		if err != nil {
			h.log.Warn("failed to count viewers", "room", rc.room, "err", err)
			return // the broker is likely down; try again next tick
		}
		if !announce || !h.swapSentViewers(rc.room, total) {
			continue
		}
		if _, err := h.Publish(ctx, rc.room, wire.TypeViewers, wire.ViewersData{Count: total}); err != nil {
			h.log.Warn("failed to publish viewer count", "room", rc.room, "err", err)
		}
	}
}

// swapSentViewers records n as room's last published count and reports
// whether it differs from the one before.
func (h *Hub) swapSentViewers(room string, n int64) bool {
	sh := h.shard(room)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	r, ok := sh.rooms[room]
	return ok && r.sentViewers.Swap(n) != n
}

type roomCount struct {
	room  string
	count int64
}

func (h *Hub) changedCounts(dst []roomCount) []roomCount {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for id, r := range sh.rooms {
			n := r.viewers
			if r.sentViewers.Swap(n) != n {
				dst = append(dst, roomCount{id, n})
			}
		}
		sh.mu.RUnlock()
	}
	return dst
}

// keepaliveLoop pings every connection once per PingInterval, one shard at
// a time so pings are spread over the interval. The watchdog drops a
// connection whose pong has not come within PongTimeout.
func (h *Hub) keepaliveLoop() {
	defer h.loops.Done()
	t := time.NewTicker(h.cfg.PingInterval / shardCount)
	defer t.Stop()
	var conns []*Conn
	for i := 0; ; i = (i + 1) % shardCount {
		var now time.Time
		select {
		case <-h.stop:
			return
		case now = <-t.C:
		}
		sh := &h.shards[i]
		sh.mu.RLock()
		conns = conns[:0]
		for c := range sh.conns {
			conns = append(conns, c)
		}
		sh.mu.RUnlock()
		for _, c := range conns {
			c.ping(now)
		}
		clear(conns)
	}
}

// watchdogLoop ends connections that stopped answering: a flusher's write
// stuck for longer than WriteTimeout (the peer stopped reading: a slow
// consumer, closed with 4000 like one whose queue overflowed), a ping
// unanswered for longer than PongTimeout, a closing handshake the peer
// never finished (the socket is dropped). One loop for the node costs less
// than a timer per write.
func (h *Hub) watchdogLoop() {
	defer h.loops.Done()
	beat := min(h.cfg.WriteTimeout, h.cfg.PongTimeout, closeTimeout) / 4
	t := time.NewTicker(max(beat, 10*time.Millisecond))
	defer t.Stop()
	type verdict struct {
		c   *Conn
		why int
	}
	const (
		stuckWrite = iota
		latePong
		lateClose
	)
	var ends []verdict
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			ends = ends[:0]
			for i := range h.shards {
				sh := &h.shards[i]
				sh.mu.RLock()
				for c := range sh.conns {
					switch {
					case c.closeLate(now):
						ends = append(ends, verdict{c, lateClose})
					case c.stalled(now, h.cfg.WriteTimeout):
						ends = append(ends, verdict{c, stuckWrite})
					case c.pongLate(now, h.cfg.PongTimeout):
						ends = append(ends, verdict{c, latePong})
					}
				}
				sh.mu.RUnlock()
			}
			for _, v := range ends {
				switch v.why {
				case stuckWrite:
					if v.c.overflow() {
						h.metrics.writeTimeouts.Inc()
					}
				case latePong:
					if v.c.abort(errPongTimeout) {
						h.metrics.pingTimeouts.Inc()
					}
				case lateClose:
					v.c.finish(errCloseTimeout)
				}
			}
			clear(ends)
		}
	}
}

var (
	errPongTimeout  = errors.New("no pong within the pong timeout")
	errCloseTimeout = errors.New("the peer did not finish the closing handshake")
)
