// Package client is the Go SDK for GiveLive: a WebSocket client speaking
// the givelive.v1 protocol and a small REST client for the contract's
// endpoints (docs/PROTOCOL.md).
//
// Entry points: Dial opens a Conn to a server; Conn.Subscribe joins a
// fundraiser's room and returns a Subscription whose Next yields typed
// events; Conn.Chat, Conn.Sticker and Conn.Send run commands and return
// their replies, failed ones as a *CommandError with the protocol's code.
// NewAPI (or Conn.API) returns an API for the REST endpoints, whose
// failures are *APIError values built from problem+json.
//
// A Conn survives the network: when the connection drops (close codes
// 1001, 4000, 4029, or no close frame at all) it redials with exponential
// backoff and full jitter and resubscribes every room with since, so no
// event is lost or repeated. When the server cannot replay the gap it
// fetches the room's snapshot and delivers it as an event of type
// TypeSnapshot, after which the room continues live. Donation events are
// delivered at most once per donation id. Close codes 4001 (bad or expired
// token), 1008 (policy), 1009 and 1000 end the Conn instead.
//
// Concurrency: every method of Conn, Subscription and API is safe for
// concurrent use. A Conn runs one reader goroutine, one keepalive goroutine
// while connected, and a short-lived goroutine per snapshot fetch; Close
// stops them all and waits for them.
package client
