// Package loadtest drives a GiveLive server with simulated viewers over real
// WebSockets and measures what they see: publish-to-receive latency, lost
// and duplicated events, deliveries per second, and, scraped from the
// server's /metrics, the server's CPU per delivery and memory per
// connection, beside the generator's own CPU so every figure says whose
// limit it shows.
//
// Entry point: Run executes one test described by a Config and returns a
// Report. `givelive loadtest` is its command line.
//
// A run has phases: set-up over REST through the SDK's API client
// (fundraisers, chatter sessions), a
// ramp that opens anonymous viewer connections at Config.Ramp per second,
// then a chat phase of Config.Duration in which a few chatter sessions post
// "lt <unix-nanos>" messages at Config.ChatRate in total. The first
// Config.Warmup of the chat phase is left out of the steady-state window;
// then every socket is closed, with a bound on time. The viewers' sockets
// are read with a lean parser of their own rather than the SDK's
// connections: at 10,000 viewers on one machine the generator's CPU per
// delivery is part of what is measured, and they need no reconnects.
//
// Concurrency: each connection has one goroutine that only reads. Viewers
// record into one of a few stats shards (a lock each, taken once per frame)
// that are merged for the live line and the report. Run may be called
// concurrently with different Configs; it keeps no package-level state.
package loadtest
