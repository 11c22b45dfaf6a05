package moderation

import "testing"

func TestFilterMasksWholeWordsIgnoringCase(t *testing.T) {
	f := NewFilter([]string{"darn", " Heck ", "", "naïve"})
	tests := []struct {
		in, want string
		masked   bool
	}{
		{"what the heck", "what the ****", true},
		{"DARN! Darn, darn.", "****! ****, ****.", true},
		{"darning and hecking are fine", "darning and hecking are fine", false},
		{"so naïve", "so *****", true},
		{"", "", false},
		{"heck", "****", true},
		{"émoji 🎉 heck🎉", "émoji 🎉 ****🎉", true},
		{"don't heck's", "don't heck's", false}, // the apostrophe joins the word
	}
	for _, tt := range tests {
		got, masked := f.Mask(tt.in)
		if got != tt.want || masked != tt.masked {
			t.Errorf("Mask(%q) = %q, %v; want %q, %v", tt.in, got, masked, tt.want, tt.masked)
		}
	}
}

func TestEmptyFilterChangesNothing(t *testing.T) {
	for _, f := range []*Filter{nil, NewFilter(nil), NewFilter([]string{" ", ""})} {
		if got, masked := f.Mask("heck"); got != "heck" || masked {
			t.Errorf("Mask on an empty filter = %q, %v", got, masked)
		}
	}
}

func FuzzFilterMask(f *testing.F) {
	f.Add("what the heck, HECK!")
	f.Add("\xff\xfeheck")
	filter := NewFilter([]string{"heck", "darn"})
	f.Fuzz(func(t *testing.T, s string) {
		got, masked := filter.Mask(s)
		if !masked && got != s {
			t.Fatalf("Mask(%q) changed the text without masking: %q", s, got)
		}
		if masked && len([]rune(got)) != len([]rune(s)) {
			t.Fatalf("Mask(%q) = %q changed the length in runes", s, got)
		}
	})
}
