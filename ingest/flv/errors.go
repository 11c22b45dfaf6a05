package flv

import (
	"errors"
	"fmt"
)

// ErrUnsupported marks a codec or an Enhanced RTMP feature that is valid
// but that this server does not remux. Errors wrapping it name what was
// found (for example "flv: video codec HEVC (FourCC hvc1) is not
// supported"), so the message can be shown to the publisher as the reason
// for a refusal.
var ErrUnsupported = errors.New("flv: not supported")

// ErrInvalid marks bytes that do not follow the format: truncated tags,
// reserved values, impossible lengths.
var ErrInvalid = errors.New("flv: invalid data")

// formatError carries a message of its own and matches one sentinel with
// errors.Is, so messages read naturally instead of as a chain.
type formatError struct {
	msg      string
	sentinel error
}

func (e *formatError) Error() string        { return "flv: " + e.msg }
func (e *formatError) Is(target error) bool { return target == e.sentinel }

func unsupportedf(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...) + " is not supported", sentinel: ErrUnsupported}
}

func invalidf(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...), sentinel: ErrInvalid}
}
