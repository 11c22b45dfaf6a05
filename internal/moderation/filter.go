// Package moderation keeps what viewers see civil: a word filter for
// donation messages and the chat policy (bans and slow mode) the hub asks
// before it publishes a viewer's chat message or sticker.
//
// Entry points: NewFilter and Filter.Mask; NewPolicy and Policy.Allow.
//
// Concurrency: a Filter is immutable; a Policy is safe for concurrent use.
package moderation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Filter masks listed words in text. Matching is by whole word and ignores
// case, so "Darn" and "DARN!" match "darn" but "darning" does not.
type Filter struct {
	words map[string]bool
}

// NewFilter returns a filter for words. Blank entries are ignored; an
// entry of several words never matches (matching is word by word).
func NewFilter(words []string) *Filter {
	f := &Filter{words: make(map[string]bool, len(words))}
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w != "" {
			f.words[w] = true
		}
	}
	return f
}

// Len is the number of words the filter masks.
func (f *Filter) Len() int {
	if f == nil {
		return 0
	}
	return len(f.words)
}

// Mask returns text with every listed word replaced by as many asterisks
// as it has characters, and whether anything was masked. A nil or empty
// Filter returns text unchanged.
func (f *Filter) Mask(text string) (string, bool) {
	if f.Len() == 0 {
		return text, false
	}
	var b strings.Builder
	masked := false
	start := -1 // start of the current word, or -1 between words
	flush := func(end int) {
		word := text[start:end]
		if f.words[strings.ToLower(word)] {
			b.WriteString(strings.Repeat("*", utf8.RuneCountInString(word)))
			masked = true
		} else {
			b.WriteString(word)
		}
		start = -1
	}
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(i)
		}
		b.WriteRune(r)
	}
	if start >= 0 {
		flush(len(text))
	}
	if !masked {
		return text, false
	}
	return b.String(), true
}

// isWordRune reports whether r is part of a word: letters, digits, marks
// (accents written as combining characters) and the apostrophe.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r) || r == '\''
}
