package wire

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// textCases drives TestCleanText and seeds FuzzCleanText.
var textCases = []struct {
	in, want string
	visible  bool
}{
	{"Ada", "Ada", true},
	{"  padded\t", "padded", true},
	{"two\nlines", "two lines", true},
	{"bad \xff utf8", "bad  utf8", true},
	{"\u202eevil\u202c", "evil", true},
	{"\u2067isolate\u2069", "isolate", true},
	{"zero\u200bwidth", "zerowidth", true},
	{"\ufeffbom", "bom", true},
	{"soft\u00adhyphen", "softhyphen", true},
	{"\u3164", "", false},
	{"\u00a0\u00a0", "", false},
	{"\u2800\u2800", "", false},
	{"\u200d", "\u200d", false},
	{"\ufe0f", "\ufe0f", false},
	{"👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧", true},
	{"می\u200cخواهم", "می\u200cخواهم", true},
	{"\x00\x07\x7f", "", false},
	{"", "", false},
}

func TestCleanText(t *testing.T) {
	for _, tc := range textCases {
		if got := CleanText(tc.in); got != tc.want {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Visible(CleanText(tc.in)); got != tc.visible {
			t.Errorf("Visible(CleanText(%q)) = %v, want %v", tc.in, got, tc.visible)
		}
	}
}

func FuzzCleanText(f *testing.F) {
	for _, tc := range textCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := CleanText(in)
		if !utf8.ValidString(out) || strings.TrimSpace(out) != out || len(out) > len(in) {
			t.Fatalf("CleanText(%q) = %q", in, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || Hidden(r) {
				t.Fatalf("CleanText(%q) kept %U", in, r)
			}
		}
		if CleanText(out) != out {
			t.Fatalf("CleanText is not idempotent on %q", in)
		}
	})
}
