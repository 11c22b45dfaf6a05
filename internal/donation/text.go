package donation

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/givelive/givelive/hub/wire"
)

// cleanText makes donor-supplied text safe to show: it refuses text that is
// not UTF-8, turns tabs and line breaks into spaces, drops other control
// characters and the invisible ones that can reorder, hide or fake text
// (wire.Hidden, the same as chat's), folds runs of spaces and trims the
// ends. Zero-width joiners stay: emoji need them.
func cleanText(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || wire.Hidden(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String(), true
}
