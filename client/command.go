package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/givelive/givelive/hub/wire"
)

// Chat posts text to room, which the Conn must be subscribed to, and
// returns once the server has taken it. A refusal is a *CommandError:
// codes unauthenticated (no token), forbidden, rate_limited, slow_mode,
// banned or too_long, say.
func (c *Conn) Chat(ctx context.Context, room, text string) error {
	_, err := c.Send(ctx, wire.Command{Op: wire.OpChat, Room: room, Text: text})
	return err
}

// Sticker sends a sticker ("heart", "i-donated", …) to room, which the
// Conn must be subscribed to. "i-donated" is refused with sticker_locked
// until the user has donated to the fundraiser.
func (c *Conn) Sticker(ctx context.Context, room, sticker string) error {
	_, err := c.Send(ctx, wire.Command{Op: wire.OpSticker, Room: room, Sticker: sticker})
	return err
}

// Ping makes an application-level round trip to the server.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.Send(ctx, wire.Command{Op: wire.OpPing})
	return err
}

// Send sends cmd and returns the server's reply. Its ID is assigned here.
// While the Conn is reconnecting, Send waits for the next connection (until
// ctx ends). A failed reply is returned with a *CommandError. If the
// connection ends before the reply, Send returns ErrConnectionLost (or the
// Conn's error, if it stopped) and does not resend: the command may or may
// not have run. Subscribe and unsubscribe go through Subscribe and
// Subscription.Unsubscribe, which keep the room's state.
func (c *Conn) Send(ctx context.Context, cmd wire.Command) (wire.Reply, error) {
	switch cmd.Op {
	case wire.OpSubscribe, wire.OpUnsubscribe:
		return wire.Reply{}, fmt.Errorf("client: send %s through Subscribe and Subscription.Unsubscribe", cmd.Op)
	}
	cmd.ID = c.ids.Add(1)
	b, err := json.Marshal(cmd)
	if err != nil {
		return wire.Reply{}, fmt.Errorf("failed to encode %s: %w", cmd.Op, err)
	}
	if len(b) > wire.MaxCommandBytes {
		// The server would close the connection (1009).
		return wire.Reply{}, &CommandError{Op: cmd.Op, Room: cmd.Room, Code: wire.ErrBadRequest,
			Message: fmt.Sprintf("command larger than %d bytes", wire.MaxCommandBytes)}
	}

	reply := make(chan wire.Reply, 1)
	l, err := c.register(ctx, cmd.ID, reply)
	if err != nil {
		return wire.Reply{}, err
	}
	if err := c.write(l.ws, b); err != nil {
		c.forget(cmd.ID)
		select { // let the reader record why the connection ended
		case <-l.lost:
		case <-ctx.Done():
		}
		return wire.Reply{}, c.lostErr()
	}
	select {
	case r, ok := <-reply:
		if !ok {
			return wire.Reply{}, c.lostErr()
		}
		if !r.OK {
			return r, newCommandError(&cmd, r.Error)
		}
		return r, nil
	case <-ctx.Done():
		c.forget(cmd.ID)
		return wire.Reply{}, ctx.Err()
	}
}

// register waits until the Conn is connected and open to user commands,
// then records the call id on the current connection.
func (c *Conn) register(ctx context.Context, id uint64, reply chan wire.Reply) (*link, error) {
	for {
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return nil, err
		}
		if c.open {
			l := c.link
			c.calls[id] = &call{reply: reply}
			c.mu.Unlock()
			return l, nil
		}
		ready := c.ready
		c.mu.Unlock()
		select {
		case <-ready:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *Conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.calls, id)
	c.mu.Unlock()
}

// lostErr is the error of a command whose connection ended.
func (c *Conn) lostErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return ErrConnectionLost
}
