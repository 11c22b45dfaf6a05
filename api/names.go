package api

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/givelive/givelive/hub/wire"
)

// reservedNames are display names nobody may take, compared by their
// skeleton: the platform's own chat identity (the admin's, in
// cmd/givelive), so no viewer can speak as GiveLive.
var reservedNames = map[string]bool{"givelive": true}

// displayName cleans a display name like chat text (wire.CleanText) and
// folds runs of spaces, so what everyone sees is what was checked. A name
// with nothing visible in it, or one that reads as a reserved name, is
// refused with a 400 that names the field.
func displayName(field, s string) (string, error) {
	name := strings.Join(strings.Fields(wire.CleanText(s)), " ")
	switch {
	case !wire.Visible(name):
		return "", fieldProblem(field, "must have a visible character")
	case reservedNames[skeleton(name)]:
		return "", fieldProblem(field, "is reserved; choose another name")
	case utf8.RuneCountInString(name) > 64:
		return "", fieldProblem(field, "must be at most 64 characters long")
	}
	return name, nil
}

// skeleton is how a name reads once case, spaces and the invisible
// characters between its letters are set aside: "Give\u200dLive" and
// "give live" both read "givelive".
func skeleton(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsSpace(r) || !wire.Visible(string(r)) || unicode.Is(unicode.Mn, r) || unicode.IsPunct(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fieldProblem is the 400 for one invalid body field.
func fieldProblem(field, message string) *problem {
	return &problem{
		status: http.StatusBadRequest,
		typ:    typeValidation,
		detail: "The request is not valid. " + field + ": " + message + ".",
		fields: []FieldError{{Field: field, Message: message}},
	}
}
