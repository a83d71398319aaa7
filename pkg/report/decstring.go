package report

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// decString is d.String() without big-number formatting for the common case: a coefficient of at most 18
// digits and an exponent in [-18, 0] (every amount rounded to 8 places).
func decString(d decimal.Decimal) string {
	e := d.Exponent()
	if e > 0 || e < -18 || d.NumDigits() > 18 {
		return d.String()
	}
	c := d.CoefficientInt64()
	if c == 0 {
		return "0"
	}
	var buf [48]byte
	b := buf[:0]
	if c < 0 {
		b = append(b, '-')
		c = -c
	}
	if e == 0 {
		return string(strconv.AppendInt(b, c, 10))
	}
	p := int64(1)
	for range -e {
		p *= 10
	}
	b = strconv.AppendInt(b, c/p, 10)
	frac := c % p
	if frac == 0 {
		return string(b)
	}
	// The fraction with its leading zeros, then without its trailing ones (as String trims them).
	digits := int(-e)
	for frac%10 == 0 {
		frac /= 10
		digits--
	}
	b = append(b, '.')
	var fb [20]byte
	f := strconv.AppendInt(fb[:0], frac, 10)
	for range digits - len(f) {
		b = append(b, '0')
	}
	return string(append(b, f...))
}
