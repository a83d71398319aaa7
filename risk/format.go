package risk

import (
	"strings"

	"github.com/shopspring/decimal"
)

// Numbers in reasons are for people: thousands separators, money with two decimals, ratios as percentages.

// money formats an amount with two decimals: 104300 → "104,300.00".
func money(d decimal.Decimal) string { return group(d.StringFixed(2)) }

// num formats a number as it is (no forced decimals): 100000 → "100,000", 0.001 → "0.001".
func num(d decimal.Decimal) string { return group(d.String()) }

// price formats a price with two decimals, or more when it is small.
func price(d decimal.Decimal) string {
	if d.Abs().LessThan(decimal.NewFromInt(10)) {
		return group(d.Round(6).String())
	}
	return group(d.StringFixed(2))
}

// pct formats a fraction as a percentage: 0.19486 → "19.49%".
func pct(d decimal.Decimal) string { return d.Shift(2).StringFixed(2) + "%" }

// group inserts thousands separators into the integer part of a decimal string.
func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	b.WriteString(frac)
	return b.String()
}
