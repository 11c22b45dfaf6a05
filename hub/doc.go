// Package hub is GiveLive's real-time heart: it holds the WebSocket
// connections of a node, groups them into rooms (one per fundraiser) and
// fans every room event out to its subscribers.
//
// Entry points: New builds a Hub from a Config; the Hub is an http.Handler
// for the /ws endpoint; Publish sends an event to a room on every node;
// Position reports a room's stream position for snapshots; Shutdown drains.
//
// How an event travels: Publish hands it to the Broker, which gives it an
// offset (recoverable events), appends it to the room's history and delivers
// it to every node subscribed to the room. The node encodes it once, as a
// whole WebSocket frame, and the room's dispatcher writes that frame to
// every subscriber's socket that can take it at once, without waiting; what
// arrived during a round goes out together in the next, as one frame. A
// connection whose socket is backed up queues what follows (bounded) and
// gets a flusher goroutine until it has caught up. No publisher waits for a
// viewer: a connection whose queue overflows with recoverable events, or
// whose socket stays stuck, is closed with 4000 and resumes with since;
// volatile events are dropped or coalesced instead, and counted.
//
// The WebSocket library answers the handshake; after it the hub reads and
// writes the connection's frames itself (frame.go). On Linux an idle
// connection has no goroutine: an epoll poller starts its reader when
// bytes arrive (poll_linux.go).
//
// Concurrency: every exported method of Hub is safe for concurrent use.
// Rooms live in 64 shards with a lock each.
package hub
