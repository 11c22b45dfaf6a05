package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/coder/websocket"

	"github.com/givelive/givelive/client"
	"github.com/givelive/givelive/hub/wire"
)

// Wave is one reconnect storm: from the first viewer that lost its
// connection while every viewer was connected, to the moment every viewer
// was subscribed again.
type Wave struct {
	StartS       float64          `json:"start_s"`          // since the run began
	Disconnected int64            `json:"disconnected"`     // viewers that lost their connection in the wave
	CloseCodes   map[string]int64 `json:"close_codes"`      // how they lost it ("none": no close frame)
	FirstBackS   float64          `json:"first_back_s"`     // from the first disconnect to the first viewer back
	AllBackS     float64          `json:"all_back_s"`       // from the first disconnect to the last viewer back; 0: not all came back
	Dials        int64            `json:"dials"`            // connection attempts in the wave
	Refused      int64            `json:"refused"`          // attempts refused before any handshake (nothing listening)
	Failed       int64            `json:"failed"`           // handshakes that did not end in a subscription (an HTTP error, a timeout, a refused subscribe)
	FailedKinds  map[string]int64 `json:"failed_kinds"`     // the failed ones by kind
	DownMS       Quantiles        `json:"down_ms"`          // each viewer's time from its disconnect to its subscription
	HandshakesPS float64          `json:"handshakes_per_s"` // subscriptions per second between the first and the last back
	back         int64
	firstDown    time.Time
	firstBack    time.Time
	lastBack     time.Time
	down         *hdrhistogram.Histogram
}

// storm follows the reconnecting viewers: how many are subscribed, and the
// wave under way. Safe for concurrent use.
type storm struct {
	mu      sync.Mutex
	begun   time.Time
	total   int
	up      int
	joined  int // viewers subscribed at least once
	wave    *Wave
	waves   []Wave
	backoff client.Backoff
	enough  int           // close done once this many waves are over (0: never)
	done    chan struct{} // closed when enough waves are over
}

func (s *storm) disconnected(now time.Time, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up--
	if s.wave == nil {
		s.wave = &Wave{StartS: now.Sub(s.begun).Seconds(), firstDown: now, CloseCodes: map[string]int64{},
			FailedKinds: map[string]int64{}, down: newHistogram()}
	}
	s.wave.Disconnected++
	s.wave.CloseCodes[code]++
}

// subscribed records a viewer back after downSince (zero: its first join).
func (s *storm) subscribed(now, downSince time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up++
	if downSince.IsZero() {
		s.joined++
	}
	w := s.wave
	if w == nil || downSince.IsZero() {
		return
	}
	if w.back == 0 {
		w.firstBack = now
	}
	w.back++
	w.lastBack = now
	recordMicros(w.down, now.Sub(downSince))
	if s.up == s.total {
		s.waves = append(s.waves, w.finish(true))
		s.wave = nil
		if len(s.waves) == s.enough {
			close(s.done)
		}
	}
}

// dialed records an attempt during a wave: err nil, refused (nothing
// listening), or a failed handshake or subscribe of kind.
func (s *storm) dialed(err error, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.wave
	if w == nil {
		return
	}
	w.Dials++
	switch {
	case err == nil:
	case kind == "refused":
		w.Refused++
	default:
		w.Failed++
		w.FailedKinds[kind]++
	}
}

// finish fills a wave's durations; complete says every viewer came back.
func (w *Wave) finish(complete bool) Wave {
	out := *w
	if w.back > 0 {
		out.FirstBackS = w.firstBack.Sub(w.firstDown).Seconds()
	}
	if complete {
		out.AllBackS = w.lastBack.Sub(w.firstDown).Seconds()
		if spread := w.lastBack.Sub(w.firstBack).Seconds(); spread > 0 {
			out.HandshakesPS = float64(w.back) / spread
		}
	}
	out.DownMS = quantiles(w.down)
	return out
}

func (s *storm) joinedOnce() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.joined
}

// result returns the finished waves and, if one is still under way, that
// one marked unfinished.
func (s *storm) result() []Wave {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Wave(nil), s.waves...)
	if s.wave != nil {
		out = append(out, s.wave.finish(false))
	}
	return out
}

// stormViewer holds one connection and, whenever it ends, reconnects with
// the SDK's backoff (the attempt count starting again once subscribed)
// and subscribes again, resuming from where it was.
type stormViewer struct {
	r    *runner
	s    *storm
	idx  int
	room string
	ws   atomic.Pointer[websocket.Conn]
	pos  wire.Position // the last position received
}

// run connects until the runner stops; joined is called once, when the
// first subscription is answered or the first attempt fails.
func (v *stormViewer) run(ctx context.Context, joined func()) {
	var once sync.Once
	signal := func() { once.Do(joined) }
	defer signal()
	var downSince time.Time
	attempt := 0
	for !v.r.stopping.Load() {
		err := v.session(ctx, downSince, signal)
		if v.r.stopping.Load() || ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, errSessionEnded):
			downSince, attempt = time.Now(), 0
		case downSince.IsZero():
			downSince = time.Now()
		}
		signal() // a viewer that never joined is not waited for
		t := time.NewTimer(v.s.backoff.Delay(attempt, false))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		attempt++
	}
}

// errSessionEnded is a subscribed connection that ended (as opposed to an
// attempt that never subscribed).
var errSessionEnded = errors.New("connection ended")

// session dials, subscribes and reads until the connection ends.
func (v *stormViewer) session(ctx context.Context, downSince time.Time, joined func()) error {
	ws, err := v.r.dialer.dialViewer(ctx, v.idx)
	if err != nil {
		kind := dialErrorKind(err)
		if kind == "dial" {
			kind = "refused"
		}
		v.s.dialed(err, kind)
		return err
	}
	v.ws.Store(ws)
	defer ws.CloseNow()
	if v.r.stopping.Load() {
		return errSessionEnded
	}
	cmd := subscribeCommand(1, v.room)
	if v.pos.Epoch != "" {
		cmd = subscribeSinceCommand(1, v.room, v.pos)
	}
	if err := writeCommand(ws, cmd); err != nil {
		v.s.dialed(err, "subscribe_write")
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, joinTimeout)
	_, p, err := ws.Read(rctx)
	cancel()
	if err != nil {
		v.s.dialed(err, "subscribe_read")
		return err
	}
	reply, ok := firstReply(p)
	if !ok || !reply.OK {
		v.s.dialed(errors.New("subscribe refused"), "subscribe_"+replyCode(reply))
		return errors.New("subscribe refused")
	}
	v.s.dialed(nil, "")
	v.pos = wire.Position{Epoch: reply.Epoch, Offset: reply.Offset}
	v.s.subscribed(time.Now(), downSince)
	joined()
	for {
		_, p, err := ws.Read(context.Background())
		if err != nil {
			if !v.r.stopping.Load() {
				code := "none"
				if c := websocket.CloseStatus(err); c != -1 {
					code = strconv.Itoa(int(c))
				}
				v.s.disconnected(time.Now(), code)
			}
			return errSessionEnded
		}
		v.advance(p)
	}
}

// advance keeps the last offset received, to resume from.
func (v *stormViewer) advance(p []byte) {
	for len(p) > 0 {
		var line []byte
		line, p, _ = cutLine(p)
		if l := parseLine(line); l.kind == lineEvent && l.offset > v.pos.Offset {
			v.pos.Offset = l.offset
		}
	}
}

// subscribeSinceCommand asks to resume from pos.
func subscribeSinceCommand(id uint64, room string, pos wire.Position) []byte {
	b := subscribeCommand(id, room)
	b = append(b[:len(b)-1], `,"since":{"epoch":`...)
	b = wire.AppendString(b, pos.Epoch)
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, pos.Offset, 10)
	return append(b, "}}"...)
}

// firstReply decodes the reply at the start of a frame.
func firstReply(p []byte) (wire.Reply, bool) {
	line, _, _ := cutLine(p)
	var r wire.Reply
	if err := json.Unmarshal(line, &r); err != nil || r.Op != "reply" {
		return wire.Reply{}, false
	}
	return r, true
}

// cutLine splits off the first of a frame's newline-separated messages.
func cutLine(p []byte) (line, rest []byte, found bool) { return bytes.Cut(p, []byte{'\n'}) }
