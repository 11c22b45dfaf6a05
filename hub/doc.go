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
// it to every node subscribed to the room. The node encodes it once and puts
// the same bytes on the bounded queue of each local subscriber. A writer
// goroutine, started only while a connection has something queued, packs
// everything queued (up to a cap) into one frame. No socket is written under
// a lock and no publisher waits for a slow viewer: a connection whose queue
// overflows with recoverable events is closed with 4000 and resumes with
// since; volatile events are dropped or coalesced instead, and counted.
//
// Concurrency: every exported method of Hub is safe for concurrent use.
// Rooms live in 64 shards with a lock each.
package hub
