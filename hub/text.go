package hub

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/givelive/givelive/hub/wire"
)

// cleanText prepares user text for a room: invalid UTF-8 and control
// characters are removed (line breaks and tabs become spaces), as are the
// bidirectional overrides that can disguise text; surrounding space is
// trimmed. Empty results and texts over maxRunes are refused.
func cleanText(s string, maxRunes int) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), isBidiControl(r):
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		return "", wire.Errorf(wire.ErrBadRequest, "text is empty")
	}
	if n := utf8.RuneCountInString(out); n > maxRunes {
		return "", wire.Errorf(wire.ErrTooLong, fmt.Sprintf("text is %d characters; at most %d", n, maxRunes))
	}
	return out, nil
}

func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' || r == '\u200E' || r == '\u200F'
}
