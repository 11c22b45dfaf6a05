package wire

// Error codes carried by failed replies. New codes may be added; clients
// treat an unknown code like "internal".
const (
	ErrBadRequest      = "bad_request"
	ErrUnauthenticated = "unauthenticated"
	ErrForbidden       = "forbidden"
	ErrNotFound        = "not_found"
	ErrRateLimited     = "rate_limited"
	ErrBanned          = "banned"
	ErrSlowMode        = "slow_mode"
	ErrTooLong         = "too_long"
	ErrStickerLocked   = "sticker_locked"
	ErrRoomLimit       = "room_limit"
	ErrInternal        = "internal"

	// Additions to the v1 contract: the chat modes a fundraiser may set.
	ErrDonorsOnly = "donors_only" // only donors may chat now
	ErrTooNew     = "too_new"     // new chatters wait before their first message
	ErrChatClosed = "chat_closed" // the fundraiser has ended
)

// WebSocket close codes used by the server (PROTOCOL.md section 5).
const (
	CloseNormal       = 1000 // normal
	CloseGoingAway    = 1001 // server shutdown or drain: reconnect and resume
	CloseInvalidData  = 1007 // a text frame that is not UTF-8
	ClosePolicy       = 1008 // origin or protocol violation: do not retry
	CloseTooBig       = 1009 // a command frame over MaxCommandBytes
	CloseSlowConsumer = 4000 // the connection's queue overflowed: resume with since
	CloseBadToken     = 4001 // token invalid or expired: get a new one first
	CloseTooMany      = 4029 // a sustained command flood: back off, then reconnect
)

// Error is a coded error as it appears in a failed reply. It is also a Go
// error, so the server's command handlers can return it directly.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf is shorthand for a coded error with a message.
func Errorf(code, message string) *Error { return &Error{Code: code, Message: message} }
