package replay

import (
	"errors"
	"fmt"
	"math"

	"github.com/shopspring/decimal"
)

// num is a parsed decimal number m × 10^e. Numbers with more than 18 significant digits do not fit an int64
// mantissa: they are kept in big (a rare, slow path).
type num struct {
	m   int64
	e   int32
	big *decimal.Decimal
}

// dec returns the number as a decimal (one allocation).
func (n num) dec() decimal.Decimal {
	if n.big != nil {
		return *n.big
	}
	return decimal.New(n.m, n.e)
}

// float is the number as a float64, for screening estimates only.
func (n num) float() float64 {
	if n.big != nil {
		return n.big.InexactFloat64()
	}
	if n.e >= 0 && int(n.e) < len(pow10f) {
		return float64(n.m) * pow10f[n.e]
	}
	if n.e < 0 && int(-n.e) < len(pow10f) {
		return float64(n.m) / pow10f[-n.e]
	}
	return float64(n.m) * math.Pow10(int(n.e))
}

func (n num) positive() bool {
	if n.big != nil {
		return n.big.IsPositive()
	}
	return n.m > 0
}

var pow10f = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

var pow10i = [...]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18}

var errEmpty = errors.New("empty")

// parseNum parses a decimal number as written in Binance CSV files: an optional sign, digits with an
// optional fraction, and an optional exponent ("1e-05", as some converters write small volumes). It does not
// allocate unless the number has more than 18 significant digits.
func parseNum(b []byte) (num, error) {
	if len(b) == 0 {
		return num{}, errEmpty
	}
	i, neg := 0, false
	switch b[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	var m int64
	var e int32
	digits, sig := 0, 0
	overflow, dot := false, false
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			if dot {
				return num{}, fmt.Errorf("%q has two decimal points", b)
			}
			dot = true
			continue
		}
		if c == 'e' || c == 'E' {
			break
		}
		if c < '0' || c > '9' {
			return num{}, fmt.Errorf("%q is not a number", b)
		}
		digits++
		if m == 0 && c == '0' {
			if dot {
				e--
			}
			continue
		}
		if sig >= 18 {
			overflow = true
			break
		}
		m = m*10 + int64(c-'0')
		sig++
		if dot {
			e--
		}
	}
	if overflow {
		d, err := decimal.NewFromString(string(b))
		if err != nil {
			return num{}, fmt.Errorf("%q is not a number: %v", b, err)
		}
		return num{big: &d}, nil
	}
	if digits == 0 {
		return num{}, fmt.Errorf("%q is not a number", b)
	}
	if i < len(b) { // exponent
		i++
		x, xneg := 0, false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			xneg = b[i] == '-'
			i++
		}
		if i == len(b) {
			return num{}, fmt.Errorf("%q has an empty exponent", b)
		}
		for ; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' || x > 1000 {
				return num{}, fmt.Errorf("%q has a bad exponent", b)
			}
			x = x*10 + int(c-'0')
		}
		if xneg {
			x = -x
		}
		e += int32(x)
	}
	if neg {
		m = -m
	}
	if m == 0 {
		e = 0
	}
	return num{m: m, e: e}, nil
}

// parseInt parses a non-negative decimal integer.
func parseInt(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, errEmpty
	}
	if len(b) > 18 {
		return 0, fmt.Errorf("%q is too long for an integer", b)
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an integer", b)
		}
		v = v*10 + int64(c-'0')
	}
	return v, nil
}

// epochNanos converts a Binance timestamp to Unix nanoseconds: milliseconds, or microseconds when the value is
// above 1e14 (spot archive files since 2025), or nanoseconds above 1e17.
func epochNanos(v int64) int64 {
	switch {
	case v > 1e17:
		return v
	case v > 1e14:
		return v * 1e3
	default:
		return v * 1e6
	}
}

// scaleTo returns m × 10^(e − to) when to ≤ e and the result fits an int64.
func scaleTo(m int64, e, to int32) (int64, bool) {
	k := e - to
	if k < 0 || int(k) >= len(pow10i) {
		return 0, false
	}
	p := pow10i[k]
	if m > math.MaxInt64/p || m < -math.MaxInt64/p {
		return 0, false
	}
	return m * p, true
}
