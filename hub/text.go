package hub

import (
	"fmt"
	"unicode/utf8"

	"github.com/givelive/givelive/hub/wire"
)

// cleanText prepares a chat line for a room (wire.CleanText). Lines with
// nothing visible left and lines over maxRunes are refused.
func cleanText(s string, maxRunes int) (string, error) {
	out := wire.CleanText(s)
	if !wire.Visible(out) {
		return "", wire.Errorf(wire.ErrBadRequest, "text is empty")
	}
	if n := utf8.RuneCountInString(out); n > maxRunes {
		return "", wire.Errorf(wire.ErrTooLong, fmt.Sprintf("text is %d characters; at most %d", n, maxRunes))
	}
	return out, nil
}
