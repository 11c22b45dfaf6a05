package ingest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/givelive/givelive/ingest/flv"
	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/ingest/mpegts"
	"github.com/givelive/givelive/ingest/rtmp"
)

// Values this server announces and uses on every connection.
const (
	// ackWindow is the acknowledgement window and peer bandwidth we
	// announce (the value ffmpeg and OBS servers commonly use).
	ackWindow = 2_500_000
	// outChunkSize is our outgoing chunk size: replies fit in one chunk.
	outChunkSize = 4096
	// publishStreamID is the message stream createStream hands out.
	publishStreamID = 1
	// callTimeout bounds a Keys or Events call.
	callTimeout = 5 * time.Second
	// configWait is how much media may pass, after the first frame, while
	// a track the metadata announced still has no configuration; then the
	// stream starts without it.
	configWait = 3000 // ms
)

// Chunk streams for our messages (any above 2 would do; these are the
// customary ones).
const (
	csidControl = 2
	csidCommand = 3
	csidStatus  = 5
)

// session is one RTMP connection. Its methods run on its own goroutine,
// except kick.
type session struct {
	srv    *Server
	conn   net.Conn
	addr   netip.Addr
	log    *slog.Logger
	r      *rtmp.Reader
	w      *rtmp.Writer
	closed sync.Once

	connected  bool
	streamOpen bool
	peerWindow uint32 // the publisher's acknowledgement window; 0 until it sets one
	acked      uint64 // bytes read when we last acknowledged
	counted    uint64 // bytes read already added to the metric

	// Set once publishing.
	fundraiser string
	key        string // the stream key it published with: secret, never logged
	stream     *hls.Stream
	clock      clock
	media      media
}

// media is what one publish has announced and sent so far.
type media struct {
	wantVideo, wantAudio bool // announced by onMetaData
	video                *flv.AVCConfig
	audio                *flv.AACConfig
	seg                  *mpegts.Segmenter
	segVideo, segAudio   bool  // the tracks seg was started with
	firstFrame           int64 // dts of the first frame, while waiting for configs
	waiting              bool
}

// refusal is an error that ends a session after telling the publisher why.
type refusal struct {
	reason string // metric label
	code   string // onStatus or _error code
	desc   string // shown to the publisher (OBS shows it)
}

func (r *refusal) Error() string { return r.code + ": " + r.desc }

func newSession(srv *Server, conn net.Conn) *session {
	addr := clientAddr(conn.RemoteAddr().String())
	return &session{
		srv:  srv,
		conn: conn,
		addr: addr,
		log:  srv.log.With("remote", conn.RemoteAddr().String()),
	}
}

// kick closes the connection from another goroutine; run notices and ends.
func (ss *session) kick(why string) {
	ss.closed.Do(func() {
		ss.srv.log.Info("closing rtmp connection", "remote", ss.conn.RemoteAddr().String(), "why", why)
		ss.conn.Close()
	})
}

func (ss *session) run() {
	defer ss.closed.Do(func() { ss.conn.Close() })
	defer ss.endPublish()

	cfg := ss.srv.cfg
	// Until it publishes, a connection's messages reset the idle timeout
	// only up to this: a client without a stream key cannot hold one of
	// the MaxConnections slots for longer by sending pings.
	publishBy := cfg.Now().Add(cfg.PublishTimeout)
	_ = ss.conn.SetDeadline(cfg.Now().Add(cfg.HandshakeTimeout))
	if err := rtmp.ServerHandshake(ss.conn, rand.Reader); err != nil {
		ss.srv.metrics.refused("handshake")
		ss.log.Debug("rtmp handshake failed", "err", err)
		return
	}
	_ = ss.conn.SetWriteDeadline(time.Time{})
	ss.r = rtmp.NewReader(ss.conn, rtmp.ReaderConfig{MaxMessageSize: cfg.MaxMessageSize})
	ss.w = rtmp.NewWriter(ss.conn)

	for {
		deadline := cfg.Now().Add(cfg.IdleTimeout)
		if ss.stream == nil && publishBy.Before(deadline) {
			deadline = publishBy
		}
		_ = ss.conn.SetReadDeadline(deadline)
		m, err := ss.r.ReadMessage()
		ss.countBytes()
		if err != nil {
			ss.logEnd(err)
			return
		}
		if err := ss.handle(m); err != nil {
			var ref *refusal
			if errors.As(err, &ref) {
				ss.refuse(ref)
				return
			}
			ss.logEnd(err)
			return
		}
		if err := ss.acknowledge(); err != nil {
			ss.logEnd(err)
			return
		}
	}
}

// logEnd logs why a connection ended, quietly for the usual reasons.
func (ss *session) logEnd(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		ss.log.Debug("rtmp connection closed")
	case errors.As(err, &ne) && ne.Timeout() && ss.stream == nil && ss.connected:
		ss.log.Info("rtmp connection did not publish in time; closing", "publish_timeout", ss.srv.cfg.PublishTimeout)
	case errors.As(err, &ne) && ne.Timeout():
		ss.log.Info("rtmp connection idle; closing", "idle_timeout", ss.srv.cfg.IdleTimeout)
	default:
		ss.srv.metrics.refused("protocol")
		ss.log.Warn("rtmp connection failed", "err", err)
	}
}

func (ss *session) countBytes() {
	if ss.r == nil {
		return
	}
	n := ss.r.BytesRead()
	ss.srv.metrics.bytesIn.Add(float64(n - ss.counted))
	ss.counted = n
}

// acknowledge sends an Acknowledgement each time the publisher's window
// has been read, as RTMP asks of the receiving side.
func (ss *session) acknowledge() error {
	if ss.peerWindow == 0 {
		return nil
	}
	n := ss.r.BytesRead()
	if n-ss.acked < uint64(ss.peerWindow) {
		return nil
	}
	ss.acked = n
	return ss.send(rtmp.AckMessage(uint32(n)))
}

func (ss *session) send(m rtmp.Message) error {
	_ = ss.conn.SetWriteDeadline(ss.srv.cfg.Now().Add(ss.srv.cfg.IdleTimeout))
	if err := ss.w.WriteMessage(m); err != nil {
		return fmt.Errorf("failed to write to publisher: %w", err)
	}
	return nil
}

func (ss *session) handle(m rtmp.Message) error {
	switch m.Type {
	case rtmp.TypeSetChunkSize, rtmp.TypeAbort, rtmp.TypeAck, rtmp.TypeSetPeerBandwidth:
		return nil // the reader applied what matters
	case rtmp.TypeWindowAckSize:
		if len(m.Payload) >= 4 {
			ss.peerWindow = uint32(m.Payload[0])<<24 | uint32(m.Payload[1])<<16 | uint32(m.Payload[2])<<8 | uint32(m.Payload[3])
		}
		return nil
	case rtmp.TypeUserControl:
		ev, v, err := rtmp.ParseUserControl(m.Payload)
		if err == nil && ev == rtmp.UserControlPingRequest {
			return ss.send(rtmp.PingResponseMessage(v))
		}
		return nil
	case rtmp.TypeCommandAMF0:
		return ss.command(m)
	case rtmp.TypeCommandAMF3:
		// An AMF3 command message starts with one format byte, then AMF0.
		if len(m.Payload) == 0 {
			return nil
		}
		m.Payload = m.Payload[1:]
		return ss.command(m)
	case rtmp.TypeDataAMF0:
		if ss.stream != nil {
			ss.metadata(m.Payload)
		}
		return nil
	case rtmp.TypeAudio, rtmp.TypeVideo:
		if ss.stream == nil {
			return &refusal{reason: "protocol", code: "NetStream.Publish.Rejected", desc: "media before publish"}
		}
		return ss.mediaMessage(m.Type, m.Timestamp, m.Payload)
	case rtmp.TypeAggregate:
		if ss.stream == nil {
			return &refusal{reason: "protocol", code: "NetStream.Publish.Rejected", desc: "media before publish"}
		}
		return ss.aggregate(m)
	default:
		return nil // shared objects, AMF3 data: nothing a publisher needs
	}
}

// command answers the NetConnection and NetStream commands of a publisher.
func (ss *session) command(m rtmp.Message) error {
	c, err := rtmp.ParseCommand(m.Payload)
	if err != nil {
		return fmt.Errorf("bad command: %w", err)
	}
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
		return ss.result(c.TransactionID, nil, float64(publishStreamID))
	case "publish":
		return ss.publish(c, m.StreamID)
	case "play", "play2":
		return &refusal{reason: "protocol", code: "NetStream.Play.Failed",
			desc: "this server only takes publishers; watch the stream over HLS at /hls/{fundraiser_id}/index.m3u8"}
	case "deleteStream", "closeStream":
		if ss.stream != nil {
			ss.log.Info("publisher stopped")
			return io.EOF
		}
		return nil
	default:
		return nil
	}
}

func (ss *session) connect(c rtmp.Command) error {
	obj, _ := c.Object.(rtmp.Object)
	app, _ := obj.String("app")
	app, _, _ = strings.Cut(app, "?")
	app = strings.Trim(app, "/")
	if app != ss.srv.cfg.App {
		ss.srv.metrics.refused("app")
		// Not the app itself: given rtmp://host/STREAM_KEY, ffmpeg sends the
		// key as the app.
		ss.log.Info("rtmp connect refused: unknown application", "app_length", len(app))
		return ss.errorReply(c.TransactionID, "NetConnection.Connect.Rejected",
			fmt.Sprintf("unknown application %q: publish to rtmp://HOST/%s/STREAM_KEY", truncate(app, 64), ss.srv.cfg.App))
	}
	for _, msg := range []rtmp.Message{
		rtmp.WindowAckSizeMessage(ackWindow),
		rtmp.SetPeerBandwidthMessage(ackWindow, 2),
		rtmp.SetChunkSizeMessage(outChunkSize),
	} {
		if err := ss.send(msg); err != nil {
			return err
		}
	}
	ss.w.SetChunkSize(outChunkSize)
	ss.connected = true
	props := rtmp.Object{
		{Name: "fmsVer", Value: "FMS/3,0,1,123"},
		{Name: "capabilities", Value: 31.0},
	}
	if _, ok := obj.Get("fourCcList"); ok {
		// An Enhanced RTMP client asks which codecs we take.
		props = append(props, rtmp.Property{Name: "fourCcList", Value: []any{"avc1", "mp4a"}})
	}
	info := rtmp.Object{
		{Name: "level", Value: "status"},
		{Name: "code", Value: "NetConnection.Connect.Success"},
		{Name: "description", Value: "Connection succeeded."},
		{Name: "objectEncoding", Value: 0.0},
	}
	return ss.result(c.TransactionID, props, info)
}

func (ss *session) publish(c rtmp.Command, streamID uint32) error {
	if !ss.connected || !ss.streamOpen {
		return &refusal{reason: "protocol", code: "NetStream.Publish.BadName", desc: "publish before connect and createStream"}
	}
	if ss.stream != nil {
		return &refusal{reason: "protocol", code: "NetStream.Publish.BadName", desc: "already publishing on this connection"}
	}
	key := ""
	if len(c.Args) > 0 {
		key, _ = c.Args[0].(string)
	}
	key, _, _ = strings.Cut(key, "?") // OBS and ffmpeg may append ?query
	if ss.srv.badKeys.blocked(ss.addr) {
		ss.srv.metrics.refused("bad_key_rate")
		ss.log.Warn("rtmp publish refused: too many unknown stream keys from this address")
		return &refusal{reason: "bad_key_rate", code: "NetStream.Publish.Unauthorized", desc: "too many failed attempts from your address; wait a minute"}
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
	replaced, err := ss.srv.claim(id, ss)
	if err != nil {
		ss.fundraiser = ""
		ss.srv.metrics.refused("publishers")
		ss.log.Warn("rtmp publish refused: node is at its publisher limit", "max", ss.srv.cfg.MaxPublishers)
		return &refusal{reason: "publishers", code: "NetStream.Publish.Rejected", desc: "this server is full; try again later"}
	}
	ss.log = ss.log.With("fundraiser", id)
	ss.srv.metrics.publishes.Inc()
	ss.clock = clock{}
	ss.srv.current(id, ss, func() { ss.stream = ss.srv.cfg.HLS.Begin(id) })
	if ss.stream == nil {
		return io.EOF // replaced already, in the instant since the claim
	}
	if err := ss.send(rtmp.StreamBeginMessage(streamID)); err != nil {
		return err
	}
	if err := ss.status(streamID, "status", "NetStream.Publish.Start", "Publishing; GiveLive is live."); err != nil {
		return err
	}
	ss.log.Info("publisher started", "replaced", replaced)
	return nil
}

// endPublish ends this connection's publish: the last partial segment goes
// out, the playlist ends, and Events hears the stream is offline, unless a
// newer publisher has taken over the fundraiser. (Events heard "live" when
// the first media arrived in codecs we take; see ready.)
func (ss *session) endPublish() {
	if ss.stream == nil {
		return
	}
	if ss.media.seg != nil {
		ss.media.seg.Close()
		st := ss.media.seg.Stats()
		ss.log.Info("publish ended", "segments", st.Segments, "dropped_before_keyframe", st.DroppedBeforeKeyframe,
			"clamped", st.Clamped, "rebased", st.Rebased, "forced_cuts", st.ForcedCuts)
	}
	ss.srv.events.Lock() // see Server.events
	defer ss.srv.events.Unlock()
	ended, wasLive := ss.srv.release(ss.fundraiser, ss)
	if !ended {
		return
	}
	ss.stream.End()
	if ev := ss.srv.cfg.Events; ev != nil && wasLive {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		ev.StreamOffline(ctx, ss.fundraiser)
		cancel()
	}
}

// metadata reads onMetaData for the tracks the publisher will send, so
// the stream can wait for both configurations.
func (ss *session) metadata(p []byte) {
	vals, err := rtmp.DecodeAMF0(p)
	if err != nil {
		return
	}
	for i, v := range vals {
		if s, _ := v.(string); s != "onMetaData" || i+1 >= len(vals) {
			continue
		}
		var props []rtmp.Property
		switch o := vals[i+1].(type) {
		case rtmp.ECMAArray:
			props = o
		case rtmp.Object:
			props = o
		}
		for _, p := range props {
			switch p.Name {
			case "videocodecid":
				ss.media.wantVideo = present(p.Value)
			case "audiocodecid":
				ss.media.wantAudio = present(p.Value)
			}
		}
		ss.log.Debug("publisher metadata", "video", ss.media.wantVideo, "audio", ss.media.wantAudio)
		return
	}
}

// present reads a codec id from metadata: a non-zero number or a
// non-empty string (Enhanced RTMP's FourCC) means the track exists.
func present(v any) bool {
	switch v := v.(type) {
	case float64:
		return v != 0
	case string:
		return v != ""
	case bool:
		return v
	}
	return false
}

// result sends _result for a transaction.
func (ss *session) result(tx float64, obj any, args ...any) error {
	m, err := rtmp.CommandMessage(csidCommand, 0, rtmp.Command{Name: "_result", TransactionID: tx, Object: obj, Args: args})
	if err != nil {
		return err
	}
	return ss.send(m)
}

// errorReply sends _error for a transaction and ends the session.
func (ss *session) errorReply(tx float64, code, desc string) error {
	m, err := rtmp.CommandMessage(csidCommand, 0, rtmp.Command{
		Name: "_error", TransactionID: tx,
		Args: []any{rtmp.Object{
			{Name: "level", Value: "error"},
			{Name: "code", Value: code},
			{Name: "description", Value: desc},
		}},
	})
	if err != nil {
		return err
	}
	if err := ss.send(m); err != nil {
		return err
	}
	return io.EOF
}

// status sends an onStatus on the publish stream.
func (ss *session) status(streamID uint32, level, code, desc string) error {
	m, err := rtmp.CommandMessage(csidStatus, streamID, rtmp.Command{
		Name: "onStatus",
		Args: []any{rtmp.Object{
			{Name: "level", Value: level},
			{Name: "code", Value: code},
			{Name: "description", Value: desc},
		}},
	})
	if err != nil {
		return err
	}
	return ss.send(m)
}

// refuse tells the publisher why it is being disconnected (best effort),
// counts and logs it.
func (ss *session) refuse(r *refusal) {
	if r.reason == "codec" || r.reason == "protocol" {
		ss.srv.metrics.refused(r.reason)
		ss.log.Warn("rtmp publisher refused", "code", r.code, "why", r.desc)
	}
	if strings.HasPrefix(r.code, "NetConnection.") {
		_ = ss.errorReply(0, r.code, r.desc)
		return
	}
	_ = ss.status(publishStreamID, "error", r.code, r.desc)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
