package exact

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// i128 is a signed 128-bit integer, two's complement. Sums stay in it while their values allow (every
// operation checks for overflow and reports it instead of wrapping); the magnitude is kept below 2^127.
type i128 struct {
	hi int64
	lo uint64
}

func (a i128) isZero() bool { return a.hi == 0 && a.lo == 0 }

func (a i128) sign() int {
	switch {
	case a.hi < 0:
		return -1
	case a.isZero():
		return 0
	}
	return 1
}

func (a i128) neg() i128 {
	lo, borrow := bits.Sub64(0, a.lo, 0)
	return i128{hi: -a.hi - int64(borrow), lo: lo}
}

// abs returns |a| as two words (a is never -2^127: magnitudes stay below 2^127).
func (a i128) abs() (hi, lo uint64, neg bool) {
	if a.hi < 0 {
		a = a.neg()
		return uint64(a.hi), a.lo, true
	}
	return uint64(a.hi), a.lo, false
}

// fromAbs is ±(hi, lo); false when the magnitude is 2^127 or more.
func fromAbs(hi, lo uint64, neg bool) (i128, bool) {
	if hi >= 1<<63 {
		return i128{}, false
	}
	r := i128{hi: int64(hi), lo: lo}
	if neg {
		r = r.neg()
	}
	return r, true
}

func i128of(v int64) i128 {
	if v < 0 {
		return i128{hi: -1, lo: uint64(v)}
	}
	return i128{lo: uint64(v)}
}

// add returns a + b; false on overflow.
func (a i128) add(b i128) (i128, bool) {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	hi := a.hi + b.hi + int64(carry)
	// Overflow: both operands have the same sign and the result's differs.
	if (a.hi >= 0) == (b.hi >= 0) && (hi >= 0) != (a.hi >= 0) || hi == math.MinInt64 && lo == 0 {
		return i128{}, false // -2^127 is refused too: magnitudes stay below 2^127
	}
	return i128{hi: hi, lo: lo}, true
}

// mul64 is the exact product of two int64s.
func mul64(a, b int64) i128 {
	neg := (a < 0) != (b < 0)
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = -ua
	}
	if b < 0 {
		ub = -ub
	}
	hi, lo := bits.Mul64(ua, ub)
	r, _ := fromAbs(hi, lo, neg) // |a|, |b| ≤ 2^63: the product is below 2^126
	return r
}

// mulU returns a × m; false on overflow.
func (a i128) mulU(m uint64) (i128, bool) {
	h, l, neg := a.abs()
	hh, hl := bits.Mul64(h, m)
	if hh != 0 {
		return i128{}, false
	}
	lh, ll := bits.Mul64(l, m)
	hi, carry := bits.Add64(hl, lh, 0)
	if carry != 0 {
		return i128{}, false
	}
	return fromAbs(hi, ll, neg)
}

// scale returns a × 10^k (k ≥ 0); false on overflow.
func (a i128) scale(k int) (i128, bool) {
	for ; k > 0; k -= 18 {
		var ok bool
		if a, ok = a.mulU(uint64(pows[min(k, 18)])); !ok {
			return i128{}, false
		}
	}
	return a, true
}

// cmp compares a and b.
func (a i128) cmp(b i128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// roundDiv divides by 10^k (1 ≤ k ≤ 18) rounding half away from zero.
func (a i128) roundDiv(k int) i128 {
	d := uint64(pows[k])
	h, l, neg := a.abs()
	qh, rh := h/d, h%d
	ql, r := bits.Div64(rh, l, d)
	// 2·r ≥ d: round away from zero (r < d < 2^63, so 2·r does not overflow).
	if 2*r >= d {
		var c uint64
		ql, c = bits.Add64(ql, 1, 0)
		qh += c
	}
	q, _ := fromAbs(qh, ql, neg) // |q| ≤ |a|
	return q
}

// decimal returns a × 10^exp.
func (a i128) decimal(exp int32) decimal.Decimal {
	if a.hi == 0 && a.lo < 1<<63 || a.hi == -1 && a.lo >= 1<<63 {
		return decimal.New(int64(a.lo), exp)
	}
	return decimal.NewFromBigInt(a.big(new(big.Int)), exp)
}

// big sets z to a and returns it.
func (a i128) big(z *big.Int) *big.Int {
	h, l, neg := a.abs()
	z.SetUint64(h)
	z.Lsh(z, 64)
	var t big.Int
	z.Or(z, t.SetUint64(l))
	if neg {
		z.Neg(z)
	}
	return z
}

// i128from converts z when its magnitude is below 2^127.
func i128from(z *big.Int) (i128, bool) {
	if z.BitLen() > 126 {
		return i128{}, false
	}
	var lo, hi big.Int
	lo.And(lo.Abs(z), new(big.Int).SetUint64(^uint64(0)))
	hi.Rsh(hi.Abs(z), 64)
	return fromAbs(hi.Uint64(), lo.Uint64(), z.Sign() < 0)
}

// small returns d's coefficient when it has at most 18 digits (it then fits an int64).
func small(d decimal.Decimal) (int64, int32, bool) {
	if d.NumDigits() > 18 {
		return 0, 0, false
	}
	return d.CoefficientInt64(), d.Exponent(), true
}
