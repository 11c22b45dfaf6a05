package ingest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtcp"
	rtpcodecs "github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/givelive/givelive/ingest/hls"
)

// How a WHIP session asks for keyframes.
const (
	// firstKeyframeEvery: until the first keyframe, a PLI this often.
	firstKeyframeEvery = 300 * time.Millisecond
	// lossKeyframeAfter: a frame lost (its packets never all came) asks
	// for a keyframe, at most this often, so the picture heals at once.
	lossKeyframeAfter = 500 * time.Millisecond
	// maxVideoLate bounds how many packets, and for how long, frames are
	// held for reordering and retransmission (NACK) before a gap is given
	// up on.
	maxVideoLate      = 512
	maxVideoLateDelay = 400 * time.Millisecond
	// gatherTimeout bounds gathering the answer's candidates (instant with
	// the shared sockets).
	gatherTimeout = 5 * time.Second
)

// whipSession is one WHIP publish: a pion PeerConnection whose tracks feed
// an HLS stream. Its tracks are read by pion's goroutines (one per track);
// the stream's writes are serialized by mu. kick may be called from any
// goroutine.
type whipSession struct {
	w          *WHIP
	srv        *Server
	id         string
	fundraiser string
	key        string // secret, never logged
	log        *slog.Logger
	info       offerInfo
	health     *health
	created    time.Time
	// claimed: the session became the fundraiser's publisher (written
	// and read by run's goroutine, or by the offer's before run starts).
	claimed bool
	// videoAt is when the last video packet came (cfg.Now, Unix
	// nanoseconds): a connected session without video ends after
	// IdleTimeout.
	videoAt atomic.Int64

	pc        *webrtc.PeerConnection
	connected chan struct{} // closed once ICE and DTLS are up
	connOnce  sync.Once
	kicked    chan struct{} // closed by kick
	kickOnce  sync.Once
	done      chan struct{} // closed when the session is gone
	readers   sync.WaitGroup

	mu      sync.Mutex // guards what follows: the stream and its writers
	closing bool       // no reader starts once set
	stream  *hls.Stream
	sps     []byte
	pps     []byte
	video   rtpClock
	audio   rtpClock
	frames  int64
	dropped int64
	warned  bool

	kf struct { // keyframe requests, guarded by kfMu
		ssrc     webrtc.SSRC
		haveSSRC bool
		last     time.Time // last keyframe received
		seen     bool
		asked    time.Time // last PLI sent
		lost     bool      // a frame was lost since
	}
	kfMu sync.Mutex
}

func newWHIPSession(w *WHIP, fundraiser, key, remote string, info offerInfo) *whipSession {
	id := newSessionID()
	now := w.srv.cfg.Now()
	return &whipSession{
		w:          w,
		srv:        w.srv,
		id:         id,
		fundraiser: fundraiser,
		key:        key,
		info:       info,
		log:        w.log.With("remote", remote, "fundraiser", fundraiser, "whip_session", id[:6]),
		health:     newHealth(now),
		created:    now,
		connected:  make(chan struct{}),
		kicked:     make(chan struct{}),
		done:       make(chan struct{}),
	}
}

func (ws *whipSession) credentials() (string, string) { return ws.key, ws.fundraiser }
func (ws *whipSession) healthOf() *health             { return ws.health }

func (ws *whipSession) keyMatches(key string) bool {
	return subtle.ConstantTimeCompare([]byte(key), []byte(ws.key)) == 1
}

// kick ends the session from any goroutine, once, and reports whether this
// call did.
func (ws *whipSession) kick(why string) (did bool) {
	ws.kickOnce.Do(func() {
		did = true
		ws.log.Info("closing whip session", "why", why)
		close(ws.kicked)
	})
	return did
}

// start answers the offer. The session claims the fundraiser (and cuts
// off whoever is on air) only once the publisher connects, so an offer
// that cannot be answered, or whose publisher never connects, never
// disturbs the publisher on air. On error the caller calls finish.
func (ws *whipSession) start(offer []byte) (string, error) {
	// A node full of other streams refuses now, not after the connection.
	if !ws.srv.roomFor(ws.fundraiser) {
		return "", errTooManyPublishers
	}
	pc, err := ws.w.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("failed to make a peer connection: %w", err)
	}
	ws.pc = pc
	pc.OnTrack(ws.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			ws.connOnce.Do(func() { close(ws.connected) })
		case webrtc.PeerConnectionStateFailed:
			ws.kick("the connection to the publisher failed")
		case webrtc.PeerConnectionStateClosed:
			ws.kick("the connection closed")
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return "", &offerError{400, "The offer could not be used (" + trimErr(err) + ")."}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", &offerError{422, "The offer could not be answered (" + trimErr(err) + "). " + whipCodecHint + "."}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("failed to set the answer: %w", err)
	}
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		return "", errors.New("gathering ICE candidates timed out")
	}
	sdp := pc.LocalDescription().SDP
	if err := checkAnswer(sdp); err != nil {
		return "", err
	}
	ws.log.Info("whip offer answered", "audio", ws.info.audio)
	go ws.run()
	return sdp, nil
}

// run waits for the connection, claims the fundraiser, watches the
// session until it ends, and tears down.
func (ws *whipSession) run() {
	t := time.NewTimer(ws.w.cfg.ConnectTimeout)
	select {
	case <-ws.connected:
		t.Stop()
		replaced, err := ws.srv.claim(ws.fundraiser, ws)
		if err != nil {
			ws.log.Warn("whip publisher connected, but the node is at its publisher limit; closing", "max", ws.srv.cfg.MaxPublishers)
			ws.srv.metrics.refused("publishers")
			break
		}
		ws.claimed = true
		ws.w.metrics.sessions.Inc()
		ws.log.Info("whip publisher connected", "replaced", replaced)
		ws.watch()
	case <-ws.kicked:
		t.Stop()
	case <-t.C:
		ws.log.Info("whip publisher did not connect in time; closing", "connect_timeout", ws.w.cfg.ConnectTimeout)
	}
	ws.finish()
}

// watch runs until the session is kicked. It sends PLIs: often until the
// first keyframe, after a lost frame, and whenever KeyframeInterval passed
// without one. And it ends a session that sends no video for IdleTimeout,
// or no keyframe in IdleTimeout after connecting (RTMP's idle limit): ICE
// consent keeps a connection up without media, and a stream without
// pictures would stay live forever. Times are the Server's clock
// (Config.Now).
func (ws *whipSession) watch() {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	every := ws.w.cfg.KeyframeInterval
	idle := ws.srv.cfg.IdleTimeout
	connectedAt := ws.srv.cfg.Now()
	for {
		select {
		case <-ws.kicked:
			return
		case <-tick.C:
		}
		now := ws.srv.cfg.Now()
		videoAt := connectedAt
		if at := ws.videoAt.Load(); at != 0 && time.Unix(0, at).After(videoAt) {
			videoAt = time.Unix(0, at)
		}
		ws.kfMu.Lock()
		k := &ws.kf
		seen := k.seen
		ask := k.haveSSRC && (!k.seen && now.Sub(k.asked) >= firstKeyframeEvery ||
			k.lost && now.Sub(k.asked) >= lossKeyframeAfter ||
			k.seen && now.Sub(k.last) >= every && now.Sub(k.asked) >= every/2)
		ssrc := k.ssrc
		if ask {
			k.asked, k.lost = now, false
		}
		ws.kfMu.Unlock()
		switch {
		case now.Sub(videoAt) >= idle:
			ws.log.Info("whip publisher sends no video; closing", "idle_timeout", idle)
			ws.kick("no video")
			return
		case !seen && now.Sub(connectedAt) >= idle:
			ws.log.Info("whip publisher sent no keyframe; closing", "idle_timeout", idle)
			ws.kick("no keyframe")
			return
		}
		if ask {
			ws.w.metrics.plis.Inc()
			if err := ws.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}}); err != nil {
				ws.log.Debug("whip: failed to ask for a keyframe", "err", err)
			}
		}
	}
}

// finish tears the session down: the peer connection closes (its readers
// stop), the stream ends as RTMP's do, and the session is forgotten.
func (ws *whipSession) finish() {
	ws.kick("session ended")
	if ws.pc != nil {
		if err := ws.pc.GracefulClose(); err != nil {
			ws.log.Debug("whip: closing the peer connection", "err", err)
		}
	}
	ws.mu.Lock()
	ws.closing = true
	ws.mu.Unlock()
	ws.readers.Wait()
	ws.endPublish()
	w := ws.w
	w.mu.Lock()
	delete(w.sessions, ws.id)
	w.mu.Unlock()
	if ws.claimed {
		w.metrics.sessions.Dec()
	}
	close(ws.done)
	w.wg.Done()
}

// endPublish ends the HLS stream and, unless a newer publisher took over,
// tells Events the stream is offline. See session.endPublish.
func (ws *whipSession) endPublish() {
	if !ws.claimed {
		return
	}
	ws.log.Info("whip publish ended", "frames", ws.frames, "dropped", ws.dropped)
	ws.srv.events.Lock()
	defer ws.srv.events.Unlock()
	ended, wasLive := ws.srv.release(ws.fundraiser, ws)
	if ws.stream != nil {
		ws.stream.End()
	}
	if ended && wasLive && ws.srv.cfg.Events != nil {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		ws.srv.cfg.Events.StreamOffline(ctx, ws.fundraiser)
		cancel()
	}
}

// onTrack reads one of the publisher's tracks until the connection closes.
func (ws *whipSession) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	ws.mu.Lock()
	if ws.closing {
		ws.mu.Unlock()
		return
	}
	ws.readers.Add(2)
	ws.mu.Unlock()
	go func() {
		// Read RTCP too, so the interceptors see the sender's reports.
		defer ws.readers.Done()
		for {
			if _, _, err := recv.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	defer ws.readers.Done()
	defer ws.contain()
	mime := strings.ToLower(track.Codec().MimeType)
	switch {
	case track.Kind() == webrtc.RTPCodecTypeVideo && mime == strings.ToLower(webrtc.MimeTypeH264):
		ws.kfMu.Lock()
		ws.kf.ssrc, ws.kf.haveSSRC = track.SSRC(), true
		ws.kfMu.Unlock()
		ws.readVideo(track)
	case track.Kind() == webrtc.RTPCodecTypeAudio && mime == strings.ToLower(webrtc.MimeTypeOpus):
		ws.readAudio(track)
	default:
		ws.log.Info("whip: ignoring a track of another codec", "codec", mime)
		for {
			if _, _, err := track.ReadRTP(); err != nil {
				return
			}
		}
	}
}

// contain turns a panic on this session's input into a logged end of the
// session, so one publisher cannot take the node down.
func (ws *whipSession) contain() {
	if v := recover(); v != nil {
		ws.srv.metrics.refused("protocol")
		ws.log.Error("whip session failed: a panic was contained", "panic", fmt.Sprint(v))
		ws.kick("a panic was contained")
	}
}

func (ws *whipSession) readVideo(track *webrtc.TrackRemote) {
	sb := samplebuilder.New(maxVideoLate, &rtpcodecs.H264Packet{}, 90000, samplebuilder.WithMaxTimeDelay(maxVideoLateDelay))
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		now := ws.srv.cfg.Now()
		ws.videoAt.Store(now.UnixNano())
		ws.health.received(now, uint64(pkt.MarshalSize()))
		ws.video.anchor(now, pkt.Timestamp, ws.created, 90000)
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if s.PrevDroppedPackets > 0 {
				ws.lostFrame()
			}
			ws.videoFrame(now, s.PacketTimestamp, s.Data)
		}
	}
}

func (ws *whipSession) readAudio(track *webrtc.TrackRemote) {
	var lastSeq uint16
	started := false
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		now := ws.srv.cfg.Now()
		ws.health.received(now, uint64(pkt.MarshalSize()))
		// One Opus packet per RTP packet; a late one (reordered) is
		// dropped rather than written out of order.
		if started && int16(pkt.SequenceNumber-lastSeq) <= 0 {
			continue
		}
		started, lastSeq = true, pkt.SequenceNumber
		if len(pkt.Payload) == 0 {
			continue
		}
		ws.audio.anchor(now, pkt.Timestamp, ws.created, 48000)
		ws.audioFrame(now, pkt.Timestamp, pkt.Payload)
	}
}

// lostFrame notes a frame that could not be rebuilt: ask for a keyframe.
func (ws *whipSession) lostFrame() {
	ws.kfMu.Lock()
	ws.kf.lost = true
	ws.kfMu.Unlock()
	ws.health.drop()
}

// videoFrame writes one H.264 access unit (Annex-B, as pion's depacketizer
// makes it) at RTP time ts.
func (ws *whipSession) videoFrame(now time.Time, ts uint32, annexB []byte) {
	var au h264.AnnexB
	if err := au.Unmarshal(annexB); err != nil || len(au) == 0 {
		ws.mu.Lock()
		ws.drop(fmt.Errorf("an unreadable frame: %w", err))
		ws.mu.Unlock()
		return
	}
	random, hasSPS := false, false
	nalus := au[:0]
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeIDR:
			random = true
		case h264.NALUTypeSPS:
			var s h264.SPS
			if s.Unmarshal(n) != nil {
				continue // a bad SPS would cost every keyframe after it
			}
			hasSPS = true
			ws.mu.Lock()
			ws.sps = n
			ws.mu.Unlock()
		case h264.NALUTypePPS:
			ws.mu.Lock()
			ws.pps = n
			ws.mu.Unlock()
		case h264.NALUTypeAccessUnitDelimiter:
			continue
		}
		nalus = append(nalus, n)
	}
	if len(nalus) == 0 {
		return
	}

	ws.mu.Lock()
	if random && !hasSPS && ws.sps != nil && ws.pps != nil {
		// Parameter sets in front of every keyframe: the muxer reads them
		// in-band, and a browser sends them only with the first.
		nalus = append([][]byte{ws.sps, ws.pps}, nalus...)
	}
	begun := false
	if ws.stream == nil {
		if !random || ws.sps == nil || ws.pps == nil {
			ws.mu.Unlock()
			return // nothing can be shown before the first keyframe
		}
		if err := ws.begin(); err != nil {
			ws.mu.Unlock()
			ws.log.Warn("whip stream could not begin", "err", err)
			ws.kick("the stream could not begin")
			return
		}
		if ws.stream == nil {
			ws.mu.Unlock()
			return // replaced in the meantime
		}
		begun = true
	}
	pts := ws.video.pts(ts)
	ntp := ws.created.Add(ticksDur(pts, 90000))
	err := ws.stream.WriteH264(ntp, pts, nalus)
	ws.wrote(err)
	ws.mu.Unlock()
	ms := pts / 90
	if err == nil {
		ws.health.media(now, ms, true)
		if random {
			// Only a keyframe the stream took counts: one that came
			// before the session claimed the fundraiser is asked again.
			ws.kfMu.Lock()
			ws.kf.last, ws.kf.seen = now, true
			ws.kfMu.Unlock()
			ws.health.keyframe(ms)
		}
	}
	if begun {
		// Live only once the stream has its first frame; outside mu (see
		// Server.events for the lock order).
		ws.srv.goLive(ws.fundraiser, ws)
	}
}

// audioFrame writes one Opus packet at RTP time ts.
func (ws *whipSession) audioFrame(now time.Time, ts uint32, packet []byte) {
	ws.mu.Lock()
	if ws.stream == nil {
		ws.mu.Unlock()
		return // before the first keyframe: the stream has not begun
	}
	pts := ws.audio.pts(ts)
	err := ws.stream.WriteOpus(ws.created.Add(ticksDur(pts, 48000)), pts, packet)
	ws.wrote(err)
	ws.mu.Unlock()
	if err == nil {
		ws.health.media(now, pts/48, false)
	}
}

// begin begins the HLS stream with the first keyframe's parameter sets.
// ws.mu is held.
func (ws *whipSession) begin() error {
	tracks := hls.Tracks{Video: &codecs.H264{SPS: ws.sps, PPS: ws.pps}}
	if ws.info.audio {
		tracks.Audio = &codecs.Opus{ChannelCount: 2}
	}
	var st *hls.Stream
	var err error
	ws.srv.current(ws.fundraiser, ws, func() { st, err = ws.srv.cfg.HLS.Begin(ws.fundraiser, tracks) })
	if err != nil {
		return err
	}
	ws.stream = st
	if st != nil {
		ws.health.setTracks(tracks)
		ws.log.Info("stream started", "tracks", tracks.String())
	}
	return nil
}

// wrote counts a frame written or dropped. ws.mu is held.
func (ws *whipSession) wrote(err error) {
	switch {
	case err == nil:
		ws.frames++
	case errors.Is(err, hls.ErrSuperseded):
		ws.kick("replaced by a new publisher")
	default:
		ws.drop(err)
	}
}

// drop counts a frame dropped. ws.mu is held.
func (ws *whipSession) drop(err error) {
	ws.dropped++
	ws.srv.metrics.dropped("muxer")
	ws.health.drop()
	if !ws.warned {
		ws.warned = true
		ws.log.Warn("dropped a frame the stream could not carry; later ones are counted in givelive_ingest_dropped_frames_total", "err", err)
	}
}

// rtpClock maps one track's 32-bit RTP timestamps onto the session's
// timeline: the track's first packet is placed at its arrival (wall clock,
// since the session began), and later ones by their RTP time since it, so
// audio and video line up within the network's jitter and each track's
// timing is the sender's own.
type rtpClock struct {
	started bool
	rate    int64
	offset  int64 // ticks of the first packet on the session's timeline
	last    uint32
	ext     int64 // unwrapped ticks since the first packet
}

// anchor places the track's first packet; later calls do nothing.
func (c *rtpClock) anchor(now time.Time, ts uint32, base time.Time, rate int64) {
	if c.started {
		return
	}
	c.started, c.rate, c.last = true, rate, ts
	c.offset = int64(now.Sub(base)) * rate / int64(time.Second)
}

// pts returns the session-timeline ticks of RTP time ts; steps are read as
// signed 32-bit differences, so the timestamps may wrap.
func (c *rtpClock) pts(ts uint32) int64 {
	c.ext += int64(int32(ts - c.last))
	c.last = ts
	return c.offset + c.ext
}

// ticksDur converts ticks of rate per second to a duration without
// overflowing for streams of any length (ticks*1e9 would after about 28
// hours at 90 kHz).
func ticksDur(ticks, rate int64) time.Duration {
	return time.Duration(ticks/rate)*time.Second + time.Duration(ticks%rate*int64(time.Second)/rate)
}
