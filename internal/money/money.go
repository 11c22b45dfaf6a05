// Package money formats amounts of the currencies GiveLive accepts for the
// people who read them: "$1.00", "€20.50", "¥500", never minor units.
//
// Entry points: Format, Decimal, Exponent, Known.
//
// Amounts everywhere else are int64 minor units with an ISO 4217 code;
// this package only turns them into words, so nothing here rounds.
// Everything is safe for concurrent use.
package money

import (
	"strconv"
	"strings"
)

// currency is how one currency is written in English text.
type currency struct {
	exponent int    // digits after the decimal point (ISO 4217)
	symbol   string // before the amount
	space    bool   // a space between symbol and amount ("CHF 5.00")
}

// currencies are those the API accepts, written as browsers write them in
// English (Intl.NumberFormat en-US), so the server's words and the page's
// agree.
var currencies = map[string]currency{
	"USD": {2, "$", false},
	"EUR": {2, "€", false},
	"GBP": {2, "£", false},
	"CAD": {2, "CA$", false},
	"AUD": {2, "A$", false},
	"JPY": {0, "¥", false},
	"CHF": {2, "CHF", true},
	"SEK": {2, "SEK", true},
	"NOK": {2, "NOK", true},
	"DKK": {2, "DKK", true},
	"NZD": {2, "NZ$", false},
	"BRL": {2, "R$", false},
	"INR": {2, "₹", false},
	"MXN": {2, "MX$", false},
}

// Known reports whether code is one of the currencies this package writes
// with its own symbol and exponent.
func Known(code string) bool {
	_, ok := currencies[code]
	return ok
}

// Exponent returns the number of digits after the decimal point in code's
// amounts: 2 for USD, 0 for JPY. Unknown codes get 2, ISO 4217's usual.
func Exponent(code string) int {
	if c, ok := currencies[code]; ok {
		return c.exponent
	}
	return 2
}

// Decimal writes minor units as a plain decimal in major units, for files
// and machines: Decimal(2050, "USD") is "20.50", Decimal(500, "JPY") "500".
func Decimal(amount int64, code string) string {
	return digits(amount, Exponent(code), false)
}

// Format writes minor units as a person reads them: Format(100, "USD") is
// "$1.00", Format(1000000, "EUR") "€10,000.00", Format(500, "JPY") "¥500",
// Format(500, "CHF") "CHF 5.00". An unknown code is written after the
// amount ("5.00 XTS").
func Format(amount int64, code string) string {
	c, ok := currencies[code]
	if !ok {
		return digits(amount, 2, true) + " " + code
	}
	s := digits(amount, c.exponent, true)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if c.space {
		return sign + c.symbol + " " + s
	}
	return sign + c.symbol + s
}

// digits writes amount with exp digits after the point, grouping thousands
// with commas when grouped.
func digits(amount int64, exp int, grouped bool) string {
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = -u // two's complement: right for math.MinInt64 too
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	whole, frac := s[:len(s)-exp], s[len(s)-exp:]
	if grouped {
		whole = group(whole)
	}
	out := whole
	if exp > 0 {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// group puts a comma between each group of three digits.
func group(whole string) string {
	if len(whole) <= 3 {
		return whole
	}
	var b strings.Builder
	first := len(whole) % 3
	if first > 0 {
		b.WriteString(whole[:first])
	}
	for i := first; i < len(whole); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(whole[i : i+3])
	}
	return b.String()
}
