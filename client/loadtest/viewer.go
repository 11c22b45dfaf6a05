package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// Viewer states. A viewer is measured only if it joined before the chat
// phase began; the runner excludes the others when it starts the chat.
const (
	viewerJoining int32 = iota
	viewerJoined
	viewerExcluded
)

// writeTimeout bounds every command a connection sends.
const writeTimeout = 10 * time.Second

// viewer is one anonymous connection that subscribes to a room and then
// only reads. Its goroutine owns last and received until it exits; the
// runner reads them after that. ws and state are shared with the runner.
type viewer struct {
	r     *runner
	idx   int
	room  string
	st    *stats
	ws    atomic.Pointer[websocket.Conn]
	state atomic.Int32

	last      uint64 // offset of the last recoverable event received
	received  int64  // load-test chats received, first copies only
	donations int64  // load-test donations received, first copies only
}

// run connects, subscribes and reads until the connection ends. joined is
// called exactly once, when the subscribe is answered or the attempt ends.
func (v *viewer) run(ctx context.Context, joined func()) {
	signalled := false
	signal := func() {
		if !signalled {
			signalled = true
			joined()
		}
	}
	defer func() {
		v.state.CompareAndSwap(viewerJoining, viewerExcluded) // gave up before joining
		signal()
	}()

	start := time.Now()
	ws, err := v.r.dialer.dialViewer(ctx, v.idx)
	if err != nil {
		v.countError(dialErrorKind(err))
		return
	}
	v.ws.Store(ws)
	defer ws.CloseNow()
	if v.r.stopping.Load() || v.state.Load() == viewerExcluded {
		return // the runner may have missed this socket: close it here
	}
	if err := writeCommand(ws, subscribeCommand(1, v.room)); err != nil {
		v.countError("subscribe_write")
		return
	}
	for {
		_, rd, err := ws.Reader(context.Background()) // no context: no timer per read
		if err != nil {
			v.ended(err)
			return
		}
		buf := v.r.bufs.get()
		*buf, err = readMessage(rd, (*buf)[:0])
		if err != nil {
			v.r.bufs.put(buf)
			v.ended(err)
			return
		}
		now := time.Now()
		p := *buf
		if v.state.Load() == viewerJoining {
			var ok bool
			if p, ok = v.join(p, start, now); !ok {
				v.r.bufs.put(buf)
				return
			}
			signal()
		}
		if len(p) > 0 {
			v.frame(p, now)
		}
		v.r.bufs.put(buf)
	}
}

// join looks for the subscribe reply in a frame read while joining. It
// returns the rest of the frame after the reply, and false if the viewer
// must stop (refused, or excluded for joining too late).
func (v *viewer) join(p []byte, start, now time.Time) (rest []byte, ok bool) {
	for len(p) > 0 {
		var line []byte
		line, p, _ = bytes.Cut(p, []byte{'\n'})
		l := parseLine(line)
		switch l.kind {
		case lineReply:
		case lineEvent:
			if l.offset > 0 {
				v.countError("event_before_reply")
			}
			continue
		default:
			continue
		}
		var reply wire.Reply
		if err := json.Unmarshal(line, &reply); err != nil || reply.ID != 1 {
			v.countError("unexpected_reply")
			continue
		}
		if !reply.OK {
			code := wire.ErrInternal
			if reply.Error != nil {
				code = reply.Error.Code
			}
			v.countError("subscribe_" + code)
			return nil, false
		}
		if !v.state.CompareAndSwap(viewerJoining, viewerJoined) {
			return nil, false // excluded: the chat began without it
		}
		v.last = reply.Offset
		v.r.recordConnect(now.Sub(start))
		return p, true
	}
	return nil, true
}

// frame accounts for the events of one frame, under the shard's lock.
func (v *viewer) frame(p []byte, now time.Time) {
	r, st := v.r, v.st
	nowNs := now.UnixNano()
	inWindow := r.win.receivedIn(nowNs)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.frames++
	for len(p) > 0 {
		var line []byte
		line, p, _ = bytes.Cut(p, []byte{'\n'})
		if isReply(line) {
			continue // a viewer's only command is answered while joining
		}
		l := parseLine(line)
		switch l.kind {
		case lineEvent:
		case lineInvalid:
			st.errors["invalid_json"]++
			continue
		default:
			continue
		}
		if string(l.room) != v.room {
			st.errors["event_for_other_room"]++
			continue
		}
		if l.offset == 0 {
			st.volatile++
			if l.ts > 0 && string(l.typ) == wire.TypeSticker && r.cfg.StickerRate > 0 {
				// Stickers carry no send time of ours; the event's ts is
				// the server's publish time (same machine, so comparable).
				st.stickerDeliveries++
				recordMicros(st.stickers, time.Duration(nowNs-l.ts*int64(time.Millisecond)))
			}
			continue
		}
		switch {
		case l.offset <= v.last:
			st.duplicated++
			continue
		case l.offset > v.last+1:
			st.lost += int64(l.offset - v.last - 1)
		}
		v.last = l.offset
		if l.gave >= r.started {
			v.donations++
			st.donationDeliveries++
			recordMicros(st.donations, time.Duration(nowNs-l.gave))
			continue
		}
		if l.sent == 0 {
			continue // not a load-test chat
		}
		if l.sent < r.started {
			st.foreign++
			continue
		}
		v.received++
		st.deliveries++
		if inWindow {
			st.windowDeliveries++
		}
		latency := time.Duration(nowNs - l.sent)
		recordMicros(st.all, latency)
		recordMicros(st.interval, latency)
		if r.win.sentIn(l.sent) {
			recordMicros(st.steady, latency)
		}
	}
}

// ended records why a read failed, unless the runner is closing.
func (v *viewer) ended(err error) {
	if v.r.stopping.Load() || v.state.Load() == viewerExcluded {
		return
	}
	code := websocket.CloseStatus(err)
	v.st.mu.Lock()
	defer v.st.mu.Unlock()
	if code != -1 {
		v.st.closes[int(code)]++
		return
	}
	v.st.errors[readErrorKind(err)]++
}

func (v *viewer) countError(kind string) {
	v.st.mu.Lock()
	v.st.errors[kind]++
	v.st.mu.Unlock()
}

func readErrorKind(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "read_eof"
	case errors.Is(err, errTooBig):
		return "read_too_big"
	default:
		return "read"
	}
}

var errTooBig = errors.New("message larger than the read limit")

// readMessage reads one message into buf.
func readMessage(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= readLimit {
				return buf, errTooBig
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// bufPool recycles read buffers, so a connection holds one only while a
// frame is being read and accounted for, never while it waits. The zero
// value is ready to use.
type bufPool struct{ pool sync.Pool }

func (p *bufPool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 2048)
	return &b
}

func (p *bufPool) put(b *[]byte) {
	if cap(*b) <= 256<<10 { // do not keep rare huge buffers alive
		p.pool.Put(b)
	}
}

func subscribeCommand(id uint64, room string) []byte {
	b := append([]byte(`{"op":"subscribe","id":`), strconv.FormatUint(id, 10)...)
	b = append(b, `,"room":`...)
	b = wire.AppendString(b, room)
	return append(b, '}')
}

func writeCommand(ws *websocket.Conn, cmd []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, cmd)
}
