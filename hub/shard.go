package hub

import (
	"context"
	"sync"
	"sync/atomic"
)

// shard holds a 64th of the node's rooms and connections.
type shard struct {
	// joinMu serialises changes to the set of rooms in this shard, so the
	// broker sees Subscribe and Unsubscribe for a room in order. It is never
	// held during fan-out.
	joinMu sync.Mutex
	// mu guards rooms, conns and every room's subs. Fan-out holds it for
	// reading while it queues an event (queuing never blocks).
	mu    sync.RWMutex
	rooms map[string]*room
	conns map[*Conn]struct{}
}

// room is the set of this node's subscribers to one room.
type room struct {
	id   string
	info RoomInfo
	subs []*subscription // order is irrelevant; removal swaps with the last
	// viewers counts the subs that watch (see Conn.watches): the room's
	// viewer count. Guarded by the shard's mu.
	viewers int64
	// sentViewers is the last viewer count published for this room.
	sentViewers atomic.Int64
	// seenViewers is the last viewer count that reached this node (-1:
	// none yet), for Hub.Viewers.
	seenViewers atomic.Int64

	// The room's publications waiting for its dispatcher, which fans them
	// out in order, one round at a time: what arrives during a round goes
	// out together in the next, as one frame.
	dmu         sync.Mutex
	inbox       []*event
	dispatching bool
}

// subscription is one connection's membership in one room. idx is guarded
// by the shard's mu; the delivery state by the connection's mu.
type subscription struct {
	conn    *Conn
	room    *room
	idx     int
	watches bool // counted in room.viewers

	// Delivery state, guarded by conn.mu.
	left         bool     // unsubscribed: deliver nothing more
	joining      bool     // subscribe in progress: buffer instead of queueing
	pending      []*event // recoverable events that arrived while joining
	pendingBytes int
	epoch        string // position of the last event queued
	offset       uint64
}

// join adds c to a room, creating the room (and subscribing the broker) if
// this node had no subscriber in it. The subscription starts joining: live
// events are buffered until finishJoin.
func (h *Hub) join(ctx context.Context, c *Conn, roomID string, info RoomInfo) (*subscription, error) {
	sh := h.shard(roomID)
	sh.joinMu.Lock()
	defer sh.joinMu.Unlock()

	sh.mu.Lock()
	r := sh.rooms[roomID]
	created := r == nil
	if created {
		r = &room{id: roomID, info: info}
		r.sentViewers.Store(-1)
		r.seenViewers.Store(-1)
		sh.rooms[roomID] = r
		h.metrics.rooms.Add(1)
	}
	s := &subscription{conn: c, room: r, idx: len(r.subs), joining: true, watches: c.watches(r.info)}
	r.subs = append(r.subs, s)
	if s.watches {
		r.viewers++
	}
	sh.mu.Unlock()

	if created {
		if err := h.broker.Subscribe(ctx, roomID); err != nil {
			h.removeLocked(sh, s)
			return nil, err
		}
	}
	return s, nil
}

// leave removes a subscription; the last one out unsubscribes the broker.
func (h *Hub) leave(s *subscription) {
	sh := h.shard(s.room.id)
	sh.joinMu.Lock()
	defer sh.joinMu.Unlock()
	if h.removeLocked(sh, s) {
		if err := h.broker.Unsubscribe(context.Background(), s.room.id); err != nil {
			h.log.Warn("failed to unsubscribe broker", "room", s.room.id, "err", err)
		}
	}
}

// removeLocked removes s from its room with sh.joinMu held and reports
// whether the room became empty (and was deleted).
func (h *Hub) removeLocked(sh *shard, s *subscription) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := s.room
	if s.idx < 0 || s.idx >= len(r.subs) || r.subs[s.idx] != s {
		return false // already removed
	}
	last := len(r.subs) - 1
	r.subs[s.idx] = r.subs[last]
	r.subs[s.idx].idx = s.idx
	r.subs[last] = nil
	r.subs = r.subs[:last]
	s.idx = -1
	if s.watches {
		r.viewers--
	}
	if len(r.subs) > 0 {
		return false
	}
	delete(sh.rooms, r.id)
	h.metrics.rooms.Add(-1)
	return true
}

func (h *Hub) addConn(c *Conn) {
	sh := &h.shards[c.id%shardCount]
	sh.mu.Lock()
	sh.conns[c] = struct{}{}
	sh.mu.Unlock()
	h.metrics.conns.Add(1)
}

func (h *Hub) removeConn(c *Conn) {
	sh := &h.shards[c.id%shardCount]
	sh.mu.Lock()
	delete(sh.conns, c)
	sh.mu.Unlock()
	h.metrics.conns.Add(-1)
}
