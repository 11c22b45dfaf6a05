package money

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		amount int64
		code   string
		want   string
	}{
		{100, "USD", "$1.00"},
		{5, "USD", "$0.05"},
		{0, "USD", "$0.00"},
		{2050, "EUR", "€20.50"},
		{1_000_000, "USD", "$10,000.00"},
		{123_456_789, "GBP", "£1,234,567.89"},
		{500, "JPY", "¥500"},
		{1_000_000, "JPY", "¥1,000,000"},
		{500, "CHF", "CHF 5.00"},
		{99, "CAD", "CA$0.99"},
		{-2500, "USD", "-$25.00"},
		{500, "XTS", "5.00 XTS"},
		{math.MinInt64, "USD", "-$92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		if got := Format(tt.amount, tt.code); got != tt.want {
			t.Errorf("Format(%d, %s) = %q, want %q", tt.amount, tt.code, got, tt.want)
		}
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		amount int64
		code   string
		want   string
	}{
		{2050, "USD", "20.50"},
		{7, "EUR", "0.07"},
		{-150, "USD", "-1.50"},
		{1_000_000, "USD", "10000.00"},
		{500, "JPY", "500"},
	}
	for _, tt := range tests {
		if got := Decimal(tt.amount, tt.code); got != tt.want {
			t.Errorf("Decimal(%d, %s) = %q, want %q", tt.amount, tt.code, got, tt.want)
		}
	}
}

func TestEveryCurrencyHasAnExponent(t *testing.T) {
	for code, c := range currencies {
		if Exponent(code) != c.exponent || c.symbol == "" {
			t.Errorf("%s: %+v", code, c)
		}
	}
	if Exponent("JPY") != 0 || Exponent("USD") != 2 || Exponent("XTS") != 2 {
		t.Error("exponents")
	}
}
