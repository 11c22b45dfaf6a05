package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// chatter is a viewer session with a token that posts the load-test chat
// messages to one room. Its reader goroutine matches replies to messages;
// send is called from the runner's chat loop only. Its own copies of the
// room's events are read and discarded: deliveries count viewers only.
type chatter struct {
	r     *runner
	idx   int
	room  string
	token string
	ws    *websocket.Conn // set by connect, before the reader starts

	joined chan error // the subscribe's outcome, once

	mu       sync.Mutex
	nextID   uint64
	pending  map[uint64]bool // command ids sent and not yet answered: true for stickers
	sent     int64
	accepted int64

	stickersSent, stickersAccepted int64
}

// connect opens the chatter's connection, subscribes and starts its reader.
func (c *chatter) connect(ctx context.Context) error {
	ws, err := c.r.dialer.dial(ctx, c.idx, c.token)
	if err != nil {
		return fmt.Errorf("failed to connect chatter %d: %w", c.idx, err)
	}
	c.ws = ws
	c.pending = make(map[uint64]bool)
	c.nextID = 1 // 1 is the subscribe
	c.joined = make(chan error, 1)
	if err := writeCommand(ws, subscribeCommand(1, c.room)); err != nil {
		ws.CloseNow()
		return fmt.Errorf("failed to subscribe chatter %d: %w", c.idx, err)
	}
	c.r.readers.Go(c.read)
	return nil
}

// send posts one chat message stamped with the time now. scratch is the
// caller's buffer, returned for reuse.
func (c *chatter) send(scratch []byte) []byte {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = false
	c.mu.Unlock()

	b := append(scratch[:0], `{"op":"chat","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"room":`...)
	b = wire.AppendString(b, c.room)
	b = append(b, `,"text":"`...)
	b = appendChatText(b, time.Now().UnixNano())
	b = append(b, `"}`...)
	err := writeCommand(c.ws, b)

	c.mu.Lock()
	if err != nil {
		delete(c.pending, id)
	} else {
		c.sent++
	}
	c.mu.Unlock()
	if err != nil && !c.r.stopping.Load() {
		c.r.errs.add("chat_write")
	}
	return b
}

// sendSticker sends one sticker (cycling through stickers anyone may
// send). scratch is the caller's buffer, returned for reuse.
func (c *chatter) sendSticker(scratch []byte, n int) []byte {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = true
	c.mu.Unlock()

	b := append(scratch[:0], `{"op":"sticker","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"room":`...)
	b = wire.AppendString(b, c.room)
	b = append(b, `,"sticker":`...)
	b = wire.AppendString(b, loadStickers[n%len(loadStickers)])
	b = append(b, '}')
	err := writeCommand(c.ws, b)

	c.mu.Lock()
	if err != nil {
		delete(c.pending, id)
	} else {
		c.stickersSent++
	}
	c.mu.Unlock()
	if err != nil && !c.r.stopping.Load() {
		c.r.errs.add("sticker_write")
	}
	return b
}

// loadStickers are the stickers the load tester sends: the server's
// defaults that need no donation.
var loadStickers = []string{"heart", "clap", "fire", "party", "wow", "laugh"}

// read runs on its own goroutine until the connection ends.
func (c *chatter) read() {
	defer c.ws.CloseNow()
	joined := false
	for {
		_, p, err := c.ws.Read(context.Background())
		if err != nil {
			if !joined {
				c.joined <- fmt.Errorf("chatter %d: connection ended before the subscribe reply: %w", c.idx, err)
			}
			c.ended(err)
			return
		}
		for len(p) > 0 {
			var line []byte
			line, p, _ = bytes.Cut(p, []byte{'\n'})
			if !isReply(line) && parseLine(line).kind != lineReply {
				continue
			}
			var reply wire.Reply
			if err := json.Unmarshal(line, &reply); err != nil {
				c.r.errs.add("invalid_reply")
				continue
			}
			if reply.ID == 1 && !joined {
				joined = true
				c.joined <- replyError(reply)
				continue
			}
			c.answered(reply)
		}
	}
}

// answered settles a chat message's reply.
func (c *chatter) answered(reply wire.Reply) {
	c.mu.Lock()
	sticker, ok := c.pending[reply.ID]
	delete(c.pending, reply.ID)
	switch {
	case ok && reply.OK && sticker:
		c.stickersAccepted++
	case ok && reply.OK:
		c.accepted++
	}
	c.mu.Unlock()
	kind := "chat_"
	if sticker {
		kind = "sticker_"
	}
	switch {
	case !ok:
		c.r.errs.add("unexpected_reply")
	case !reply.OK:
		c.r.errs.add(kind + replyCode(reply))
	}
}

func (c *chatter) ended(err error) {
	if c.r.stopping.Load() {
		return
	}
	if code := websocket.CloseStatus(err); code != -1 {
		c.r.closes.add(strconv.Itoa(int(code)))
		return
	}
	c.r.errs.add("chatter_" + readErrorKind(err))
}

// counts returns the chatter's messages sent, accepted and still unanswered
// (chats and stickers).
func (c *chatter) counts() (sent, accepted, unanswered int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent, c.accepted, int64(len(c.pending))
}

// stickerCounts returns the chatter's stickers sent and accepted.
func (c *chatter) stickerCounts() (sent, accepted int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stickersSent, c.stickersAccepted
}

func replyCode(r wire.Reply) string {
	if r.Error == nil || r.Error.Code == "" {
		return wire.ErrInternal
	}
	return r.Error.Code
}

func replyError(r wire.Reply) error {
	if r.OK {
		return nil
	}
	msg := ""
	if r.Error != nil {
		msg = r.Error.Message
	}
	return fmt.Errorf("subscribe refused: %s: %s", replyCode(r), msg)
}

var errChattersSlow = errors.New("chatters did not join in time")
