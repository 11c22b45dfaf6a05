// Package wire holds the public GiveLive WebSocket protocol, version 1
// (subprotocol "givelive.v1"): the commands clients send, the replies and
// events the server sends, error codes, close codes and the event types'
// payloads. It imports only the standard library, so every client can use it.
//
// Entry points: DecodeCommand parses and checks one client frame;
// AppendEvent encodes one server event; Reply builds command replies.
// Event payload types (ChatData, DonationData, …) document each event's data.
//
// Everything here is safe for concurrent use: it has no state.
package wire

// Subprotocol is the WebSocket subprotocol a client must offer.
const Subprotocol = "givelive.v1"

// TokenSubprotocolPrefix lets a browser send its token in the handshake's
// Sec-WebSocket-Protocol header instead of the URL (where proxies log
// it): it offers "givelive.v1" and TokenSubprotocolPrefix+token. The
// server only ever selects "givelive.v1".
const TokenSubprotocolPrefix = "givelive.token."

// MaxCommandBytes is the largest client frame the server reads; a larger one
// closes the connection with CloseTooBig (1009).
const MaxCommandBytes = 4096
