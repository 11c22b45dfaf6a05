package wire

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanText prepares text people typed (chat lines, display names) to be
// shown to others: bytes that are not UTF-8 and control characters are
// dropped (line breaks and tabs become spaces), as are the invisible
// characters that can reorder, hide or fake text (bidirectional controls,
// zero-width spaces, the byte order mark, soft hyphens, fillers that render
// as nothing); surrounding space is trimmed. Zero-width joiners and
// non-joiners stay: emoji and some scripts need them. The result may still
// have nothing visible in it (see Visible).
func CleanText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), Hidden(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// Hidden reports the characters CleanText drops besides controls: format
// characters that change how the text around them reads without showing
// themselves, and letters that render as blank space.
func Hidden(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, // bidirectional embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // bidirectional isolates
		r == 0x200E || r == 0x200F, // direction marks
		r == 0x061C,                // Arabic letter mark
		r == 0x200B,                // zero-width space
		r >= 0x2060 && r <= 0x2064, // word joiner, invisible operators
		r == 0xFEFF,                // byte order mark, zero-width no-break space
		r == 0x00AD,                // soft hyphen
		r == 0x180E,                // Mongolian vowel separator
		r == 0x115F || r == 0x1160, // Hangul fillers
		r == 0x3164 || r == 0xFFA0,
		r == 0x2800,                  // Braille blank
		r >= 0xFFF9 && r <= 0xFFFB,   // interlinear annotation
		r >= 0xE0000 && r <= 0xE007F: // tags
		return true
	}
	return false
}

// Visible reports whether s has a character that shows: anything but
// spaces, controls, format characters (joiners, marks), variation
// selectors and the characters Hidden reports.
func Visible(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), unicode.IsControl(r), Hidden(r),
			unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r):
		default:
			return true
		}
	}
	return false
}
