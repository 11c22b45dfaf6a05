package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/givelive/givelive/hub/wire"
)

// commandTimeout bounds the lookups one command makes (room, donations,
// bans, history). A connection that ends meanwhile lets them finish.
const commandTimeout = 10 * time.Second

// handle runs one command and answers it: always for subscribe (its reply
// carries the position), otherwise only when the command has an id, or when
// it could not be parsed at all.
func (c *Conn) handle(p []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd, err := wire.DecodeCommand(p)
	if err != nil {
		c.hub.metrics.command("invalid", wire.ErrBadRequest)
		c.send(wire.EncodeError(cmd.ID, asWireError(err)))
		return
	}
	switch cmd.Op {
	case wire.OpSubscribe:
		err = c.subscribe(ctx, cmd)
	case wire.OpUnsubscribe:
		err = c.unsubscribe(cmd.Room)
	case wire.OpChat:
		err = c.chat(ctx, cmd)
	case wire.OpSticker:
		err = c.sticker(ctx, cmd)
	case wire.OpPing:
	}
	code := ""
	if err != nil {
		we := asWireError(err)
		code = we.Code
		if we.Code == wire.ErrInternal {
			c.hub.log.Error("command failed", "op", cmd.Op, "room", cmd.Room, "conn", c.id, "err", err)
		}
		if cmd.ID != 0 || cmd.Op == wire.OpSubscribe {
			c.send(wire.EncodeError(cmd.ID, we))
		}
	} else if cmd.ID != 0 && cmd.Op != wire.OpSubscribe {
		c.send(wire.EncodeOK(cmd.ID))
	}
	c.hub.metrics.command(cmd.Op, code)
}

// asWireError returns err's coded form; uncoded errors are internal and
// their detail stays in the server's log.
func asWireError(err error) *wire.Error {
	var we *wire.Error
	if errors.As(err, &we) {
		return we
	}
	return wire.Errorf(wire.ErrInternal, "internal error")
}

// sub returns the connection's subscription to room, or nil.
func (c *Conn) sub(room string) *subscription {
	for _, s := range c.subs {
		if s.room.id == room {
			return s
		}
	}
	return nil
}

func (c *Conn) subscribe(ctx context.Context, cmd wire.Command) error {
	s := c.sub(cmd.Room)
	existed := s != nil
	if !existed {
		if len(c.subs) >= c.hub.cfg.MaxRoomsPerConn {
			return wire.Errorf(wire.ErrRoomLimit, fmt.Sprintf("at most %d rooms per connection", c.hub.cfg.MaxRoomsPerConn))
		}
		info, err := c.hub.roomInfo(ctx, cmd.Room)
		if err != nil {
			return err
		}
		s, err = c.hub.join(ctx, c, cmd.Room, info)
		if err != nil {
			return fmt.Errorf("failed to join %s: %w", cmd.Room, err)
		}
		c.subs = append(c.subs, s)
	} else {
		c.mu.Lock()
		s.joining, s.pending, s.pendingBytes = true, nil, 0
		c.mu.Unlock()
	}
	hist, err := c.hub.broker.History(ctx, cmd.Room, cmd.Since)
	if err != nil {
		if existed {
			// Keep the live subscription as it was: nothing it buffered
			// meanwhile is lost.
			c.finishJoin(s, nil, wire.Position{Epoch: s.epoch, Offset: s.offset})
		} else {
			c.leave(s)
		}
		return fmt.Errorf("failed to read history of %s: %w", cmd.Room, err)
	}
	frames := make([][]byte, len(hist.Publications))
	for i, p := range hist.Publications {
		frames[i] = wire.AppendEvent(nil, cmd.Room, p.Type, p.Offset, p.Time, p.Data)
	}
	reply := wire.AppendSubscribe(nil, cmd.ID, cmd.Room, hist.Position, hist.Recovered, frames)
	c.finishJoin(s, replyEvent(reply), hist.Position)
	return nil
}

// finishJoin queues the subscribe reply (if any), then the live events that
// arrived meanwhile and are newer than the reply's position, and switches
// the subscription to live delivery, all under c.mu so nothing slips
// between.
func (c *Conn) finishJoin(s *subscription, reply *event, pos wire.Position) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	r := delivered
	if reply != nil {
		r = c.push(reply)
	}
	s.epoch, s.offset = pos.Epoch, pos.Offset
	for _, ev := range s.pending {
		if ev.epoch != s.epoch || ev.offset <= s.offset {
			continue // in the reply already, or from an epoch the client never saw
		}
		if pr := c.push(ev); pr != needKick {
			r = pr // overflowed
			break
		}
		r = needKick
		s.offset = ev.offset
	}
	s.joining, s.pending, s.pendingBytes = false, nil, 0
	c.mu.Unlock()
	c.settle(r)
}

func (c *Conn) unsubscribe(room string) error {
	s := c.sub(room)
	if s == nil {
		return nil // not subscribed: nothing to do
	}
	c.leave(s)
	return nil
}

// leave ends a subscription: from now on no fan-out queues or writes
// anything of its room here, then it leaves the room.
func (c *Conn) leave(s *subscription) {
	for i, x := range c.subs {
		if x == s {
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			break
		}
	}
	c.mu.Lock()
	s.left, s.pending = true, nil
	c.mu.Unlock()
	c.hub.leave(s)
}

// leaveAll removes the connection from every room when it ends.
func (c *Conn) leaveAll() {
	for len(c.subs) > 0 {
		c.leave(c.subs[len(c.subs)-1])
	}
}

func (h *Hub) roomInfo(ctx context.Context, room string) (RoomInfo, error) {
	if h.cfg.Rooms == nil {
		return RoomInfo{}, nil
	}
	info, err := h.cfg.Rooms.Room(ctx, room)
	switch {
	case errors.Is(err, ErrRoomNotFound):
		return RoomInfo{}, wire.Errorf(wire.ErrNotFound, "no fundraiser "+room)
	case err != nil:
		return RoomInfo{}, fmt.Errorf("failed to look up room %s: %w", room, err)
	}
	return info, nil
}

// speaker checks that the connection may post to room and returns its
// subscription.
func (c *Conn) speaker(room string) (*subscription, error) {
	if c.ident.UserID == "" {
		return nil, wire.Errorf(wire.ErrUnauthenticated, "connect with a token to chat or send stickers")
	}
	if c.expired(time.Now()) {
		c.close(wire.CloseBadToken, "token expired")
		return nil, wire.Errorf(wire.ErrUnauthenticated, "token expired")
	}
	s := c.sub(room)
	if s == nil {
		return nil, wire.Errorf(wire.ErrForbidden, "subscribe to the room first")
	}
	return s, nil
}

func (c *Conn) chat(ctx context.Context, cmd wire.Command) error {
	s, err := c.speaker(cmd.Room)
	if err != nil {
		return err
	}
	text, err := cleanText(cmd.Text, c.hub.cfg.MaxChatRunes)
	if err != nil {
		return err
	}
	if err := c.allowedBy(ctx, cmd); err != nil {
		return err
	}
	if !c.hub.limits.allowChat(c.ident.UserID) {
		return wire.Errorf(wire.ErrRateLimited, c.hub.limits.chatMessage)
	}
	badges, err := c.badges(ctx, s)
	if err != nil {
		return err
	}
	data := wire.ChatData{
		ID:   "c_" + compactUUID(),
		User: wire.User{ID: c.ident.UserID, Name: c.ident.Name, Badges: badges},
		Text: text,
	}
	_, err = c.hub.Publish(ctx, cmd.Room, wire.TypeChat, data)
	return err
}

func (c *Conn) badges(ctx context.Context, s *subscription) ([]string, error) {
	var badges []string
	if c.ident.Broadcaster && c.ident.UserID == s.room.info.OwnerID {
		badges = append(badges, wire.BadgeBroadcaster)
	}
	_, named, err := c.hub.donorStatus(ctx, s.room.id, c.ident.UserID)
	if err != nil {
		return nil, err
	}
	if named {
		badges = append(badges, wire.BadgeDonor)
	}
	return badges, nil
}

// allowedBy asks the chat policy whether the user may post cmd now.
func (c *Conn) allowedBy(ctx context.Context, cmd wire.Command) error {
	p := c.hub.cfg.Policy
	if p == nil {
		return nil
	}
	err := p.Allow(ctx, cmd.Room, c.ident.UserID, cmd.Op)
	var we *wire.Error
	if err != nil && !errors.As(err, &we) {
		return fmt.Errorf("failed to check the chat policy: %w", err)
	}
	return err
}

func (c *Conn) sticker(ctx context.Context, cmd wire.Command) error {
	if _, err := c.speaker(cmd.Room); err != nil {
		return err
	}
	if !c.hub.stickers[cmd.Sticker] {
		return wire.Errorf(wire.ErrBadRequest, fmt.Sprintf("unknown sticker %q", cmd.Sticker))
	}
	if err := c.allowedBy(ctx, cmd); err != nil {
		return err
	}
	if cmd.Sticker == wire.StickerIDonated {
		donated, _, err := c.hub.donorStatus(ctx, cmd.Room, c.ident.UserID)
		if err != nil {
			return err
		}
		if !donated {
			return wire.Errorf(wire.ErrStickerLocked, "donate to this fundraiser to unlock this sticker")
		}
	}
	if !c.hub.limits.allowSticker(c.ident.UserID) {
		return wire.Errorf(wire.ErrRateLimited, c.hub.limits.stickerMessage)
	}
	data := wire.StickerData{User: wire.User{ID: c.ident.UserID, Name: c.ident.Name}, Sticker: cmd.Sticker}
	_, err := c.hub.Publish(ctx, cmd.Room, wire.TypeSticker, data)
	return err
}

func (h *Hub) donorStatus(ctx context.Context, room, userID string) (donated, named bool, err error) {
	if h.cfg.Donors == nil {
		return false, false, nil
	}
	donated, named, err = h.cfg.Donors.DonorStatus(ctx, room, userID)
	if err != nil {
		return false, false, fmt.Errorf("failed to check donations: %w", err)
	}
	return donated, named, nil
}

// compactUUID returns a UUIDv7 as 32 hex digits.
func compactUUID() string {
	u := uuid.Must(uuid.NewV7())
	var b [32]byte
	const hexdigits = "0123456789abcdef"
	for i, v := range u {
		b[2*i] = hexdigits[v>>4]
		b[2*i+1] = hexdigits[v&0xF]
	}
	return string(b[:])
}
