package donation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanText makes donor-supplied text safe to show: it refuses text that is
// not UTF-8, turns tabs and line breaks into spaces, drops other control
// characters and the invisible formatting characters that can reorder or
// hide text (bidirectional overrides, the byte order mark), folds runs of
// spaces and trims the ends. Zero-width joiners stay: emoji need them.
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
		case unicode.IsControl(r) || invisible(r):
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

// invisible reports format characters that change how surrounding text
// reads without showing themselves.
func invisible(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, // embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // isolates
		r == 0x200E || r == 0x200F, // direction marks
		r == 0x061C,                // Arabic letter mark
		r == 0xFEFF,                // byte order mark
		r == 0x200B,                // zero-width space
		r == 0x00AD:                // soft hyphen
		return true
	}
	return false
}
