package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/givelive/givelive/ingest/hls"
)

// Values this server announces and uses on every connection.
const (
	// ackWindow is the acknowledgement window and peer bandwidth we
	// announce (the value ffmpeg and OBS servers commonly use).
	ackWindow = 2_500_000
	// outChunkSize is our outgoing chunk size: replies fit in one chunk.
	outChunkSize = 4096
	// streamMessageID is the message stream createStream hands out, as
	// gortmplib's chunk layer reads and writes it (message stream ids are
	// the one little-endian field of a chunk header: 1 on the wire).
	streamMessageID = 0x1000000
	// callTimeout bounds a Keys or Events call.
	callTimeout = 5 * time.Second
	// maxMalformed is how many malformed messages in a row a publisher may
	// send before it is cut off; single ones are dropped and counted.
	maxMalformed = 100
	// maxAnalysisBytes bounds what a publisher may send before its tracks
	// are known (about 2 s of media: 1.5 MB at 6 Mbit/s), all of which
	// gortmplib's Reader holds until then.
	maxAnalysisBytes = 32 << 20
)

// Chunk streams for our messages (any above 2 would do; these are the
// customary ones).
const (
	csidControl = 2
	csidCommand = 3
	csidStatus  = 5
)

// session is one RTMP connection. Its methods run on its own goroutine,
// except kick and the health snapshot.
type session struct {
	srv    *Server
	conn   net.Conn
	door   *door
	addr   netip.Addr
	log    *slog.Logger
	closed sync.Once

	bc        *bytecounter.ReadWriter
	mrw       *message.ReadWriter
	counted   uint64 // bytes read already added to the metric
	publishBy time.Time
	malformed int // malformed messages in a row
	// publishedAt is the byte count when the publish was authorised.
	publishedAt uint64

	connected  bool
	streamOpen bool

	// nextErr is the error next returned, which ends the session (other
	// errors out of gortmplib's Reader are about one frame).
	nextErr error

	// The first media message's arrival and timestamp: frames' wall-clock
	// times count from it.
	firstWall time.Time
	firstRaw  uint32
	haveFirst bool
	anchorMS  int64
	anchored  bool

	params params

	// Set once publishing.
	fundraiser string
	key        string // the stream key it published with: secret, never logged
	publishing bool
	waiting    bool // counted in Server.waiting (guarded by the server's mu)
	stream     *hls.Stream
	feed       *feeder
	health     *health
}

// refusal is an error that ends a session after telling the publisher why.
type refusal struct {
	reason string // metric label
	code   string // onStatus or _error code
	desc   string // shown to the publisher (OBS shows it)
}

func (r *refusal) Error() string { return r.code + ": " + r.desc }

func newSession(srv *Server, conn net.Conn) *session {
	return &session{
		srv:  srv,
		conn: conn,
		addr: clientAddr(conn.RemoteAddr().String()),
		log:  srv.log.With("remote", conn.RemoteAddr().String()),
	}
}

// kick closes the connection from another goroutine; run notices and ends.
// kick closes the connection, once, and reports whether this call did.
func (ss *session) kick(why string) (closed bool) {
	ss.closed.Do(func() {
		closed = true
		ss.srv.log.Info("closing rtmp connection", "remote", ss.conn.RemoteAddr().String(), "why", why)
		ss.conn.Close()
	})
	return closed
}

func (ss *session) run() {
	defer ss.closed.Do(func() { ss.conn.Close() })
	defer ss.endPublish()
	defer ss.contain()

	cfg := ss.srv.cfg
	// Until it publishes, a connection's messages reset the idle timeout
	// only up to this: a client without a stream key cannot hold one of
	// the MaxConnections slots for longer by sending pings.
	ss.publishBy = cfg.Now().Add(cfg.PublishTimeout)
	_ = ss.conn.SetDeadline(cfg.Now().Add(cfg.HandshakeTimeout))
	// Until its publish is authorised, what a connection can make us read
	// (and so hold) is capped.
	ss.door = &door{Conn: ss.conn, limit: cfg.MaxUnauthorizedBytes}
	ss.bc = bytecounter.NewReadWriter(ss.door)
	keyIn, _, err := handshake.DoServer(ss.bc, false)
	if err != nil {
		ss.srv.metrics.refused("handshake")
		ss.log.Debug("rtmp handshake failed", "err", err)
		return
	}
	if keyIn != nil {
		ss.srv.metrics.refused("handshake")
		ss.log.Info("rtmp connection refused: encrypted RTMP (RTMPE) is not supported; use rtmp:// or put a TLS proxy in front")
		return
	}
	_ = ss.conn.SetWriteDeadline(time.Time{})
	ss.door.writeTimeout, ss.door.now = cfg.IdleTimeout, cfg.Now
	ss.mrw = message.NewReadWriter(ss.bc, ss.bc, false)

	err = ss.negotiate()
	if err == nil {
		err = ss.publish()
	}
	var ref *refusal
	if errors.As(err, &ref) {
		ss.refuse(ref)
		return
	}
	ss.logEnd(err)
}

// contain turns a panic on this connection (in a library, on input nobody
// foresaw) into a logged refusal, so one publisher cannot take the node
// down; the publish then ends as if the encoder had stopped.
func (ss *session) contain() {
	if v := recover(); v != nil {
		ss.srv.metrics.refused("protocol")
		ss.log.Error("rtmp connection failed: a panic was contained", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

// logEnd logs why a connection ended, quietly for the usual reasons.
func (ss *session) logEnd(err error) {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrUnexpectedEOF):
		ss.log.Debug("rtmp connection closed")
	case errors.As(err, &ne) && ne.Timeout() && !ss.publishing && ss.connected:
		ss.log.Info("rtmp connection did not publish in time; closing", "publish_timeout", ss.srv.cfg.PublishTimeout)
	case errors.As(err, &ne) && ne.Timeout():
		ss.log.Info("rtmp connection idle; closing", "idle_timeout", ss.srv.cfg.IdleTimeout)
	case errors.Is(err, errUnauthorizedBytes):
		ss.srv.metrics.refused("protocol")
		ss.log.Warn("rtmp connection refused: it sent too much before publishing", "max_bytes", ss.srv.cfg.MaxUnauthorizedBytes)
	default:
		ss.srv.metrics.refused("protocol")
		ss.log.Warn("rtmp connection failed", "err", err)
	}
}

func (ss *session) countBytes() {
	n := ss.bc.Reader.Count()
	ss.srv.metrics.bytesIn.Add(float64(n - ss.counted))
	if ss.health != nil {
		ss.health.received(ss.srv.cfg.Now(), n-ss.counted)
	}
	ss.counted = n
}

// next reads the next message a caller needs, handling on the way what the
// connection itself must: deadlines, the limits before publishing, and
// malformed messages (dropped, up to maxMalformed in a row).
func (ss *session) next() (message.Message, error) {
	cfg := ss.srv.cfg
	for {
		deadline := cfg.Now().Add(cfg.IdleTimeout)
		if !ss.publishing && ss.publishBy.Before(deadline) {
			deadline = ss.publishBy
		}
		// Writes have their own deadline (door.Write): gortmplib writes
		// acknowledgements and ping replies from inside Read.
		_ = ss.conn.SetReadDeadline(deadline)
		msg, err := ss.mrw.Read()
		ss.countBytes()
		if err != nil {
			if err = ss.readError(err); err != nil {
				ss.nextErr = err
				return nil, err
			}
			continue
		}
		ss.malformed = 0
		if ss.publishing && ss.stream == nil && ss.bc.Reader.Count()-ss.publishedAt > maxAnalysisBytes {
			// gortmplib's Reader keeps every message until it has seen two
			// seconds of media; a stream whose timestamps never get there
			// must not make it keep them all.
			ss.nextErr = &refusal{reason: "codec", code: "NetStream.Publish.Rejected",
				desc: "the stream's first seconds did not show its tracks: check the encoder's timestamps. " + codecHint + "."}
			return nil, ss.nextErr
		}
		if err := ss.check(msg); err != nil {
			ss.nextErr = err
			return nil, err
		}
		return msg, nil
	}
}

// readError sorts what gortmplib's reader returned: the connection's own
// errors and broken chunking end the session; a codec we do not take is
// refused with a status that says so; a malformed message (its chunks were
// whole, its body was not) is dropped and counted, and nil returned.
func (ss *session) readError(err error) error {
	switch kind, what := classify(err, ss.door.err); kind {
	case errConn:
		return err
	case errCodec:
		return codecRefusal(what)
	case errChunking:
		return fmt.Errorf("broken RTMP chunk stream: %w", err)
	default:
		ss.malformed++
		ss.srv.metrics.dropped("malformed")
		if ss.health != nil {
			ss.health.drop()
		}
		ss.log.Debug("dropped a malformed rtmp message", "err", err)
		if ss.malformed >= maxMalformed {
			return fmt.Errorf("%d malformed messages in a row (last: %w)", ss.malformed, err)
		}
		return nil
	}
}

// check applies the rules for the messages that shape the connection.
func (ss *session) check(msg message.Message) error {
	switch m := msg.(type) {
	case *message.SetChunkSize:
		if !ss.publishing && m.Value > maxUnauthorizedChunk {
			// The reader allocates a whole chunk as soon as its header
			// arrives: before the publish is authorised it stays small.
			return &refusal{reason: "protocol", code: "NetConnection.Connect.Rejected",
				desc: fmt.Sprintf("chunk size %d is larger than this server takes before publishing (%d)", m.Value, maxUnauthorizedChunk)}
		}
	case *message.Video, *message.Audio, *message.VideoExSequenceStart, *message.VideoExCodedFrames,
		*message.VideoExFramesX, *message.VideoExMultitrack, *message.AudioExSequenceStart,
		*message.AudioExCodedFrames, *message.AudioExMultitrack:
		if !ss.publishing {
			return &refusal{reason: "protocol", code: "NetStream.Publish.Rejected", desc: "media before publish"}
		}
		now := ss.srv.cfg.Now()
		if !ss.haveFirst {
			if dts, ok := messageDTS(msg); ok {
				ss.firstWall, ss.firstRaw, ss.haveFirst = now, uint32(int64(dts/time.Millisecond)), true
			}
		}
		ss.health.message(now, msg)
		ss.params.update(msg)
	case *message.CommandAMF0:
		if ss.publishing {
			switch m.Name {
			case "deleteStream", "closeStream", "FCUnpublish":
				ss.log.Info("publisher stopped")
				return io.EOF
			}
		}
	}
	return nil
}

// negotiate answers the NetConnection and NetStream commands of a
// publisher until its publish is authorised.
func (ss *session) negotiate() error {
	for !ss.publishing {
		msg, err := ss.next()
		if err != nil {
			return err
		}
		cmd, ok := msg.(*message.CommandAMF0)
		if !ok {
			continue
		}
		if err := ss.command(cmd); err != nil {
			return err
		}
	}
	return nil
}

// command answers one command before publishing.
func (ss *session) command(c *message.CommandAMF0) error {
	switch c.Name {
	case "connect":
		return ss.connect(c)
	case "releaseStream", "FCPublish", "FCUnpublish", "getStreamLength", "_checkbw":
		return nil // no answer needed
	case "createStream":
		if !ss.connected {
			return &refusal{reason: "protocol", code: "NetConnection.Connect.Rejected", desc: "createStream before connect"}
		}
		ss.streamOpen = true
		return ss.write(&message.CommandAMF0{
			ChunkStreamID: c.ChunkStreamID,
			Name:          "_result",
			CommandID:     c.CommandID,
			Arguments:     []any{nil, float64(1)},
		})
	case "publish":
		return ss.authorize(c)
	case "play", "play2":
		return &refusal{reason: "protocol", code: "NetStream.Play.Failed",
			desc: "this server only takes publishers; watch the stream over HLS at /hls/{fundraiser_id}/index.m3u8"}
	default:
		return nil
	}
}

func (ss *session) connect(c *message.CommandAMF0) error {
	var obj amf0.Object
	if len(c.Arguments) > 0 {
		switch o := c.Arguments[0].(type) {
		case amf0.Object:
			obj = o
		case amf0.ECMAArray:
			obj = amf0.Object(o)
		}
	}
	app, _ := obj.GetString("app")
	app, _, _ = strings.Cut(app, "?")
	app = strings.Trim(app, "/")
	if app != ss.srv.cfg.App {
		ss.srv.metrics.refused("app")
		// Not the app itself: given rtmp://host/STREAM_KEY, ffmpeg sends the
		// key as the app.
		ss.log.Info("rtmp connect refused: unknown application", "app_length", len(app))
		_ = ss.errorReply(c, "NetConnection.Connect.Rejected",
			fmt.Sprintf("unknown application %q: publish to rtmp://HOST/%s/STREAM_KEY", truncate(app, 64), ss.srv.cfg.App))
		return io.EOF
	}
	for _, msg := range []message.Message{
		&message.SetWindowAckSize{Value: ackWindow},
		&message.SetPeerBandwidth{Value: ackWindow, Type: 2},
		&message.SetChunkSize{Value: outChunkSize},
	} {
		if err := ss.write(msg); err != nil {
			return err
		}
	}
	ss.connected = true
	props := amf0.Object{
		{Key: "fmsVer", Value: "FMS/3,0,1,123"},
		{Key: "capabilities", Value: float64(31)},
	}
	if _, ok := obj.Get("fourCcList"); ok {
		// An Enhanced RTMP client asks which codecs we take.
		props = append(props, amf0.ObjectEntry{Key: "fourCcList", Value: amf0.StrictArray{"avc1", "hvc1", "av01", "mp4a", "Opus"}})
	}
	if enc, ok := obj.GetString("flashVer"); ok {
		ss.log.Debug("rtmp client", "flash_ver", truncate(enc, 64))
	}
	return ss.write(&message.CommandAMF0{
		ChunkStreamID: c.ChunkStreamID,
		Name:          "_result",
		CommandID:     c.CommandID,
		Arguments: []any{props, amf0.Object{
			{Key: "level", Value: "status"},
			{Key: "code", Value: "NetConnection.Connect.Success"},
			{Key: "description", Value: "Connection succeeded."},
			{Key: "objectEncoding", Value: float64(0)},
		}},
	})
}

// authorize checks a publish: its stream key, the node's limits. On
// success the publisher is told to start and the connection's limits before
// publishing are lifted.
func (ss *session) authorize(c *message.CommandAMF0) error {
	if !ss.connected || !ss.streamOpen {
		return &refusal{reason: "protocol", code: "NetStream.Publish.BadName", desc: "publish before connect and createStream"}
	}
	key := ""
	if len(c.Arguments) > 1 {
		key, _ = c.Arguments[1].(string)
	}
	key, _, _ = strings.Cut(key, "?") // OBS and ffmpeg may append ?query
	if wait := ss.srv.badKeys.delay(ss.addr); wait > 0 {
		// Too many unknown keys from this address: answer slowly, but look
		// the key up all the same, so the broadcaster behind the same NAT
		// as a guesser still goes live.
		ss.srv.metrics.refused("bad_key_rate")
		ss.log.Warn("rtmp publish slowed down: many unknown stream keys from this address", "delay", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ss.srv.stopLoop:
			t.Stop()
			return io.EOF
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	id, err := ss.srv.cfg.Keys.PublishKey(ctx, key)
	cancel()
	switch {
	case errors.Is(err, ErrUnknownKey) || err == nil && id == "":
		ss.srv.badKeys.failed(ss.addr)
		ss.srv.metrics.refused("bad_key")
		ss.log.Warn("rtmp publish refused: unknown stream key") // never the key itself
		return &refusal{reason: "bad_key", code: "NetStream.Publish.BadName", desc: "unknown stream key: copy it again from the GiveLive studio"}
	case errors.Is(err, ErrNotAllowed):
		ss.srv.metrics.refused("not_allowed")
		ss.log.Info("rtmp publish refused: fundraiser cannot go live", "err", err)
		return &refusal{reason: "not_allowed", code: "NetStream.Publish.Unauthorized", desc: "this fundraiser has ended; create a new one to go live"}
	case err != nil:
		ss.srv.metrics.refused("lookup")
		ss.log.Error("rtmp publish refused: stream key lookup failed", "err", err)
		return &refusal{reason: "lookup", code: "NetStream.Publish.Rejected", desc: "the server could not check the stream key; try again"}
	}
	ss.fundraiser, ss.key = id, key
	// Made before claim publishes the session, so Health (which reads it
	// through the server's lock) sees it whole.
	ss.health = newHealth(ss.srv.cfg.Now())
	replaced, err := ss.srv.claim(id, ss)
	if err != nil {
		ss.fundraiser = ""
		ss.srv.metrics.refused("publishers")
		ss.log.Warn("rtmp publish refused: node is at its publisher limit", "max", ss.srv.cfg.MaxPublishers)
		return &refusal{reason: "publishers", code: "NetStream.Publish.Rejected", desc: "this server is full; try again later"}
	}
	ss.log = ss.log.With("fundraiser", id)
	ss.publishing = true
	ss.publishedAt = ss.bc.Reader.Count()
	ss.door.open()
	ss.srv.metrics.publishes.Inc()
	if err := ss.write(&message.UserControlStreamBegin{StreamID: 1}); err != nil {
		return err
	}
	if err := ss.status("status", "NetStream.Publish.Start", "Publishing; GiveLive is live."); err != nil {
		return err
	}
	ss.log.Info("publisher started", "replaced", replaced)
	return nil
}

// endPublish ends this connection's publish: the muxer's last frames go
// out, the stream is frozen with its end, and Events hears it is offline,
// unless a newer publisher has taken over the fundraiser. (Events heard
// "live" when the stream's tracks were known; see begin.)
func (ss *session) endPublish() {
	if !ss.publishing || ss.fundraiser == "" {
		return
	}
	if ss.feed != nil {
		ss.log.Info("publish ended", "frames", ss.feed.frames, "dropped", ss.feed.dropped)
	}
	ss.srv.events.Lock() // see Server.events
	defer ss.srv.events.Unlock()
	ended, wasLive := ss.srv.release(ss.fundraiser, ss)
	if ss.stream != nil {
		// A replaced publisher's End only releases its muxer: the stream
		// is its successor's.
		ss.stream.End()
	}
	if !ended {
		return
	}
	if ev := ss.srv.cfg.Events; ev != nil && wasLive {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		ev.StreamOffline(ctx, ss.fundraiser)
		cancel()
	}
}

// Conn, for gortmplib's Reader: it reads the publisher's media through
// next, so limits and timeouts keep applying.

// BytesReceived returns the bytes read from the connection.
func (ss *session) BytesReceived() uint64 { return ss.bc.Reader.Count() }

// BytesSent returns the bytes written to the connection.
func (ss *session) BytesSent() uint64 { return ss.bc.Writer.Count() }

// Read returns the next message.
func (ss *session) Read() (message.Message, error) { return ss.next() }

// Write writes a message.
func (ss *session) Write(msg message.Message) error { return ss.write(msg) }

func (ss *session) write(msg message.Message) error {
	if err := ss.mrw.Write(msg); err != nil {
		return fmt.Errorf("failed to write to publisher: %w", err)
	}
	return nil
}

// errorReply sends _error for a command.
func (ss *session) errorReply(c *message.CommandAMF0, code, desc string) error {
	csid, tx := byte(csidCommand), 0
	if c != nil {
		csid, tx = c.ChunkStreamID, c.CommandID
	}
	return ss.write(&message.CommandAMF0{
		ChunkStreamID: csid,
		Name:          "_error",
		CommandID:     tx,
		Arguments: []any{nil, amf0.Object{
			{Key: "level", Value: "error"},
			{Key: "code", Value: code},
			{Key: "description", Value: desc},
		}},
	})
}

// status sends an onStatus on the publish stream.
func (ss *session) status(level, code, desc string) error {
	return ss.write(&message.CommandAMF0{
		ChunkStreamID:   csidStatus,
		MessageStreamID: streamMessageID,
		Name:            "onStatus",
		Arguments: []any{nil, amf0.Object{
			{Key: "level", Value: level},
			{Key: "code", Value: code},
			{Key: "description", Value: desc},
		}},
	})
}

// refuse tells the publisher why it is being disconnected (best effort),
// counts and logs it.
func (ss *session) refuse(r *refusal) {
	if r.reason == "codec" || r.reason == "protocol" {
		ss.srv.metrics.refused(r.reason)
		ss.log.Warn("rtmp publisher refused", "code", r.code, "why", r.desc)
	}
	if strings.HasPrefix(r.code, "NetConnection.") {
		_ = ss.errorReply(nil, r.code, r.desc)
		return
	}
	_ = ss.status("error", r.code, r.desc)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
