package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

const (
	// maxUnrecovered is how many subscribes in a row may fail to recover
	// from a fresh snapshot's position before the snapshot is delivered
	// anyway, continuing from the subscribe reply's position. It only
	// happens with a server whose snapshots carry no position.
	maxUnrecovered = 3
	// dedupeSize is how many donation ids a Subscription remembers.
	dedupeSize = 1024
)

// phase is where a Subscription stands with the server.
type phase int

const (
	phaseSyncing  phase = iota // a subscribe is sent, or to be sent (subID 0)
	phaseFetching              // the snapshot is being read
	phaseLive                  // live events are delivered
	phaseLagging               // the queue is full: live events wait in the server's history
	phaseEnded
)

// SubscriptionStats counts what happened to a Subscription's events.
type SubscriptionStats struct {
	Delivered uint64 // events queued for Next, snapshots included
	Snapshots uint64 // snapshots queued
	Resumes   uint64 // gaps (reconnects, overflows) the server replayed
	// Duplicates counts donation events dropped because their donation
	// was already delivered (or was in the snapshot's recent donations).
	Duplicates uint64
	// VolatileDropped counts stickers and viewer counts dropped because
	// the queue was full.
	VolatileDropped uint64
	// Overflows counts the times the queue filled with live events; each
	// was caught up on later from the server's history.
	Overflows uint64
	// Gaps counts live events that skipped offsets, each followed by a
	// resubscribe (a server keeping its contract never causes one).
	Gaps uint64
}

// Subscription is a Conn's membership of one room. Next returns its
// events in order: first a TypeSnapshot event with the room's state, then
// every event after the snapshot's position, each once. After a reconnect
// the client resumes where it was; when the server cannot replay the gap,
// a new snapshot comes first.
//
// Events wait in a queue of Options.QueueSize for Next. When it is full,
// volatile events (stickers, viewer counts) are dropped and counted; for
// recoverable ones the client stops taking the room's live events and,
// once Next has emptied half the queue, resumes from the last queued event
// with since, so nothing is lost while the server's history (1000 events,
// 30 minutes by default) reaches back that far.
//
// All methods are safe for concurrent use; each event goes to one Next.
type Subscription struct {
	c      *Conn
	room   string
	size   int
	joined chan struct{} // closed at the first successful reply
	done   chan struct{} // closed when the Subscription ends
	wake   chan struct{} // capacity 1: something was queued

	mu          sync.Mutex
	phase       phase
	subID       uint64        // the subscribe whose reply counts (phaseSyncing)
	pos         wire.Position // of the last event queued, or of the snapshot
	hasPos      bool
	snap        *Snapshot // fetched, queued with the next good reply
	snapAt      time.Time
	unrecovered int // replies in a row that did not recover
	isJoined    bool
	queue       []Event
	head        int
	seen        *idSet // donation ids delivered
	stats       SubscriptionStats
	err         error
}

// Subscribe joins room (a fundraiser id). It reads the room's snapshot,
// subscribes from the snapshot's position and returns once the server has
// accepted; the snapshot is the first event of the Subscription. A room
// that does not exist gives an *APIError with status 404; a refused
// subscribe a *CommandError (room_limit, say). If ctx ends first, the
// subscription is abandoned.
func (c *Conn) Subscribe(ctx context.Context, room string) (*Subscription, error) {
	if !wire.ValidRoom(room) {
		return nil, fmt.Errorf("client: invalid room %q", room)
	}
	if err := c.canSubscribe(room); err != nil {
		return nil, err
	}
	snap, err := c.snaps.Fundraiser(ctx, room)
	if err != nil {
		return nil, fmt.Errorf("failed to subscribe to %s: %w", room, err)
	}
	s := &Subscription{
		c:      c,
		room:   room,
		size:   c.opts.QueueSize,
		joined: make(chan struct{}),
		done:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
		seen:   newIDSet(dedupeSize),
		phase:  phaseSyncing,
	}
	s.setSnapshot(snap)

	c.mu.Lock()
	if err := c.canSubscribeLocked(room); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.subs[room] = s
	l := c.link
	var b []byte
	if l != nil {
		id := c.ids.Add(1)
		if b = s.subscribeCommand(id); b != nil {
			c.calls[id] = &call{sub: s}
		}
	}
	c.mu.Unlock()
	if b != nil {
		if err := c.write(l.ws, b); err != nil {
			c.log.Debug("failed to send subscribe; the next connection will", "room", room, "err", err)
		}
	}

	select {
	case <-s.joined:
		return s, nil
	case <-s.done:
		c.remove(s)
		return nil, s.Err()
	case <-ctx.Done():
		s.Unsubscribe()
		return nil, ctx.Err()
	}
}

func (c *Conn) canSubscribe(room string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.canSubscribeLocked(room)
}

func (c *Conn) canSubscribeLocked(room string) error {
	if c.err != nil {
		return c.err
	}
	if c.subs[room] != nil {
		return ErrAlreadySubscribed
	}
	return nil
}

// Room returns the room's id.
func (s *Subscription) Room() string { return s.room }

// Position returns the room position of the last event queued (or of the
// last snapshot, if no event came after it).
func (s *Subscription) Position() wire.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos
}

// Stats returns the Subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Err returns nil while the Subscription runs, then why it ended:
// ErrUnsubscribed, ErrClosed, or the error that stopped its Conn or the
// room.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Next returns the next event, waiting for one until ctx ends. Once the
// Subscription has ended, Next returns the events still queued, then its
// Err.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if ev, ok := s.pop(); ok {
			more := s.len() > 0
			resume := s.phase == phaseLagging && s.len() <= s.size/2
			if resume {
				s.phase, s.subID = phaseSyncing, 0
			}
			s.mu.Unlock()
			if more {
				s.signal() // for another Next waiting beside this one
			}
			if resume {
				s.c.resync(s)
			}
			return ev, nil
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return Event{}, err
		}
		select {
		case <-s.wake:
		case <-s.done:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Unsubscribe leaves the room: delivery stops at once (Next returns what
// is queued, then ErrUnsubscribed) and the server is told if connected.
// Subscribing to the room again afterwards is fine.
func (s *Subscription) Unsubscribe() {
	s.end(ErrUnsubscribed)
	c := s.c
	c.mu.Lock()
	removed := c.subs[s.room] == s
	if removed {
		delete(c.subs, s.room)
	}
	l := c.link
	c.mu.Unlock()
	if removed && l != nil {
		b, _ := json.Marshal(wire.Command{Op: wire.OpUnsubscribe, Room: s.room})
		if err := c.write(l.ws, b); err != nil {
			c.log.Debug("failed to send unsubscribe", "room", s.room, "err", err)
		}
	}
}

// The methods below run with s.mu taken by themselves or, where noted,
// by the caller. The Conn's lock, when needed, is taken first.

func (s *Subscription) setSnapshot(snap *Snapshot) {
	s.snap, s.snapAt = snap, time.Now()
	s.pos = wire.Position{Epoch: snap.Position.Epoch, Offset: uint64(max(snap.Position.Offset, 0))}
	s.hasPos = true
}

// rejoin prepares s for resubscribing on a new connection, and reports
// whether it should be. Fetching and lagging rooms subscribe later.
func (s *Subscription) rejoin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.phase {
	case phaseLive, phaseSyncing:
		s.phase = phaseSyncing
		return true
	}
	return false
}

// subscribeCommand returns the subscribe command to send as id, or nil if
// s is not waiting to subscribe. The caller holds c.mu and registers the
// call.
func (s *Subscription) subscribeCommand(id uint64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != phaseSyncing {
		return nil
	}
	s.subID = id
	cmd := wire.Command{Op: wire.OpSubscribe, ID: id, Room: s.room}
	if s.hasPos {
		since := s.pos
		cmd.Since = &since
	}
	b, _ := json.Marshal(cmd)
	return b
}

// onEvent takes a live event, and reports whether it revealed a gap that
// needs a resubscribe.
func (s *Subscription) onEvent(ev Event) (resync bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != phaseLive {
		return false // the pending subscribe's reply replays it
	}
	if ev.Offset == 0 { // volatile
		if s.len() >= s.size {
			s.stats.VolatileDropped++
			return false
		}
		s.push(ev)
		return false
	}
	switch {
	case ev.Offset <= s.pos.Offset:
		return false // queued already
	case ev.Offset != s.pos.Offset+1:
		s.stats.Gaps++
		s.c.log.Warn("gap in room stream; resubscribing", "room", s.room, "have", s.pos.Offset, "got", ev.Offset)
		s.phase, s.subID = phaseSyncing, 0
		return true
	case s.len() >= s.size:
		s.stats.Overflows++
		s.c.log.Warn("subscription queue full; catching up later from the server's history", "room", s.room, "queued", s.len())
		s.phase = phaseLagging
		return false
	}
	s.pos.Offset = ev.Offset
	s.deliver(ev)
	return false
}

// replyNext is what the Conn does after a subscribe reply.
type replyNext int

const (
	replyDone  replyNext = iota
	replyFetch           // fetch a snapshot (after a delay), then subscribe again
	replyEnd             // the room refused: forget the Subscription
)

// onReply takes the reply to a subscribe the Conn sent.
func (s *Subscription) onReply(m *message) (replyNext, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != phaseSyncing || m.ID != s.subID {
		return replyDone, 0, nil // superseded by a later subscribe
	}
	s.subID = 0
	if !m.OK {
		err := newCommandError(&wire.Command{Op: wire.OpSubscribe, Room: s.room}, m.Error)
		if s.isJoined && err.Code == wire.ErrInternal {
			// A passing failure of the server: try again from a snapshot.
			s.unrecovered++
			s.phase = phaseFetching
			return replyFetch, s.c.backoff.Delay(s.unrecovered, false), err
		}
		s.endLocked(err)
		return replyEnd, 0, err
	}
	if !m.Recovered && (s.snap == nil || s.unrecovered < maxUnrecovered) {
		s.unrecovered++
		s.phase = phaseFetching
		return replyFetch, 0, nil
	}
	if s.snap != nil {
		if !m.Recovered {
			s.c.log.Warn("server did not resume from the snapshot's position; continuing from its reply",
				"room", s.room, "snapshot", s.pos, "reply", wire.Position{Epoch: m.Epoch, Offset: m.Offset})
		}
		s.pushSnapshot()
	}
	if m.Recovered && s.isJoined {
		s.stats.Resumes++
	}
	for _, raw := range m.Events {
		var em message
		if err := json.Unmarshal(raw, &em); err != nil {
			s.c.log.Warn("undecodable event in subscribe reply", "room", s.room, "err", err)
			continue
		}
		ev, err := newEvent(&em)
		if err != nil {
			s.c.log.Warn("event data does not decode; delivering it raw", "room", s.room, "type", ev.Type, "err", err)
		}
		if ev.Offset > 0 && m.Epoch == s.pos.Epoch && ev.Offset <= s.pos.Offset {
			continue
		}
		s.deliver(ev)
	}
	s.pos, s.hasPos = wire.Position{Epoch: m.Epoch, Offset: m.Offset}, true
	s.phase, s.unrecovered = phaseLive, 0
	if !s.isJoined {
		s.isJoined = true
		close(s.joined)
	}
	return replyDone, 0, nil
}

// fetched takes a snapshot read after an unrecovered reply, and reports
// whether s now waits to subscribe from its position.
func (s *Subscription) fetched(snap *Snapshot) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != phaseFetching {
		return false
	}
	s.setSnapshot(snap)
	s.phase, s.subID = phaseSyncing, 0
	return true
}

func (s *Subscription) pushSnapshot() {
	snap := s.snap
	s.snap = nil
	for _, d := range snap.RecentDonations {
		s.seen.add(d.Id)
	}
	s.push(Event{Room: s.room, Type: TypeSnapshot, Offset: s.pos.Offset, Time: s.snapAt, Data: snap})
	s.stats.Snapshots++
}

// deliver queues ev unless it repeats a donation already delivered.
func (s *Subscription) deliver(ev Event) {
	if d, ok := ev.Data.(wire.DonationData); ok && d.ID != "" && !s.seen.add(d.ID) {
		s.stats.Duplicates++
		return
	}
	s.push(ev)
}

func (s *Subscription) push(ev Event) {
	s.queue = append(s.queue, ev)
	s.stats.Delivered++
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Subscription) pop() (Event, bool) {
	if s.head == len(s.queue) {
		return Event{}, false
	}
	ev := s.queue[s.head]
	s.queue[s.head] = Event{}
	s.head++
	switch {
	case s.head == len(s.queue):
		s.queue, s.head = s.queue[:0], 0
	case s.head >= 256 && 2*s.head >= len(s.queue):
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	return ev, true
}

func (s *Subscription) len() int { return len(s.queue) - s.head }

func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(err)
}

func (s *Subscription) endLocked(err error) {
	if s.phase == phaseEnded {
		return
	}
	s.phase, s.err = phaseEnded, err
	close(s.done)
}

func (s *Subscription) ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase == phaseEnded
}
