// Package rtmp implements the wire level of RTMP 1.0 as a server needs it to
// accept a publisher: the simple handshake, chunk stream reassembly and
// chunking, protocol and user control messages, AMF0 values and commands.
// It knows nothing of applications, stream keys or media formats; the
// ingest server on top of it decides what each message means.
//
// Entry points: ServerHandshake (and ClientHandshake for tests and test
// publishers) on a fresh connection; then NewReader and Reader.ReadMessage
// to receive reassembled messages, NewWriter and Writer.WriteMessage to send
// them. The control builders (SetChunkSizeMessage, WindowAckSizeMessage,
// SetPeerBandwidthMessage, AckMessage, StreamBeginMessage, ...) and
// CommandMessage build the messages a server sends; DecodeAMF0 and
// ParseCommand read what the publisher sends.
//
// Concurrency: a Reader and a Writer are each owned by one goroutine; they
// are not safe for concurrent use, but one goroutine may read while another
// writes on the same connection. Everything else is a pure function.
package rtmp
