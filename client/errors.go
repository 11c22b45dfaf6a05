package client

import (
	"errors"
	"fmt"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// Errors a Conn and its Subscriptions return.
var (
	// ErrClosed: Close was called.
	ErrClosed = errors.New("client: connection closed")
	// ErrUnsubscribed: Unsubscribe was called.
	ErrUnsubscribed = errors.New("client: unsubscribed")
	// ErrConnectionLost: the connection ended after the command was sent
	// and before its reply came. The command may or may not have run; it
	// is not retried, since chat and stickers are not idempotent.
	ErrConnectionLost = errors.New("client: connection lost before the reply")
	// ErrAlreadySubscribed: the Conn already has a Subscription to the room.
	ErrAlreadySubscribed = errors.New("client: already subscribed to the room")
)

// CommandError is a command the server refused: a failed reply with one of
// the protocol's error codes (wire.ErrRateLimited, wire.ErrBanned, …).
// Treat a code you do not know like wire.ErrInternal.
type CommandError struct {
	Op      string // the command's op
	Room    string // the command's room, if any
	Code    string // wire.Err*
	Message string // for people, in English
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("givelive: %s refused: %s: %s", e.Op, e.Code, e.Message)
}

func newCommandError(cmd *wire.Command, we *wire.Error) *CommandError {
	if we == nil {
		we = wire.Errorf(wire.ErrInternal, "failed reply without an error")
	}
	return &CommandError{Op: cmd.Op, Room: cmd.Room, Code: we.Code, Message: we.Message}
}

// CloseError is the close code with which the server ended the Conn for
// good: 4001 (token invalid or expired: get a new token, then Dial again),
// 1008 (policy), 1009 (a command too big) or 1000 (normal). Codes after
// which the Conn reconnects are never returned.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("givelive: server closed the connection: %d %s", e.Code, e.Reason)
}

// reconnects reports whether a connection that ended with err should be
// redialled, and whether the wait before must be long (4029). Errors that
// carry no close code (1006: the network, a dead peer) are redialled.
func reconnects(err error) (again, slow bool) {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return true, false
	}
	switch int(ce.Code) {
	case wire.CloseNormal, wire.ClosePolicy, wire.CloseTooBig, wire.CloseBadToken:
		return false, false
	case wire.CloseTooMany:
		return true, true
	default: // 1001, 4000, 1011, 1012, …
		return true, false
	}
}

// terminal converts the error that ended a connection into what the Conn
// reports once it has stopped.
func terminal(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return err
}
