package hub

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/givelive/givelive/hub/wire"
)

func rateLimit(r float64) rate.Limit { return rate.Limit(r) }

var textCases = []struct {
	in, want, code string
}{
	{"hello", "hello", ""},
	{"  padded  ", "padded", ""},
	{"multi\nline\r\ntext\tok", "multi line  text ok", ""},
	{"nul\x00bell\x07del\x7f", "nulbelldel", ""},
	{"bad \xff\xfe utf8", "bad  utf8", ""},
	{"rtl \u202eevil\u202c", "rtl evil", ""},
	{"c1 \u0085 char", "c1  char", ""},
	{"emoji 🎉", "emoji 🎉", ""},
	{strings.Repeat("é", 300), strings.Repeat("é", 300), ""},
	{strings.Repeat("é", 301), "", wire.ErrTooLong},
	{"", "", wire.ErrBadRequest},
	{" \n\t ", "", wire.ErrBadRequest},
	{"\x00\x01", "", wire.ErrBadRequest},
	{"\u200b\u200b", "", wire.ErrBadRequest},
	{"\u00a0\u3000\u00a0", "", wire.ErrBadRequest},
	{"\u200d\ufe0f", "", wire.ErrBadRequest},
	{"zero\u200bwidth\u2060joined", "zerowidthjoined", ""},
	{"family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧", ""},
}

func TestCleanText(t *testing.T) {
	for _, tc := range textCases {
		got, err := cleanText(tc.in, 300)
		var we *wire.Error
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("cleanText(%q): %v", tc.in, err)
		case tc.code != "" && (!errors.As(err, &we) || we.Code != tc.code):
			t.Errorf("cleanText(%q): error %v, want %s", tc.in, err, tc.code)
		case got != tc.want:
			t.Errorf("cleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzCleanText(f *testing.F) {
	for _, tc := range textCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := cleanText(in, 300)
		if err != nil {
			var we *wire.Error
			if !errors.As(err, &we) || (we.Code != wire.ErrBadRequest && we.Code != wire.ErrTooLong) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !utf8.ValidString(out) || out == "" || utf8.RuneCountInString(out) > 300 {
			t.Fatalf("cleanText(%q) = %q", in, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || wire.Hidden(r) {
				t.Fatalf("cleanText(%q) kept control %U", in, r)
			}
		}
		if strings.TrimSpace(out) != out {
			t.Fatalf("cleanText(%q) = %q is not trimmed", in, out)
		}
	})
}
