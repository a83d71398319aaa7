// Package exact sums decimals and products of decimals exactly without a new value per operation.
//
// shopspring/decimal returns a new value (a fresh big.Int) from every Add and Mul. A valuation that adds a
// few products per sample, many thousand samples a backtest, would spend most of its time allocating. A Sum
// keeps its running total in a 128-bit integer while the total fits (coefficients of up to 18 digits, overflow
// checked on every step), and in a big.Int it reuses once it does not. Results are exact: Round gives what
// decimal's Round gives on the exact sum (value and exponent), and Decimal gives a value equal to the exact
// sum (its exponent may differ from what decimal arithmetic would have kept, e.g. after a sum cancels to 0).
package exact

import (
	"math/big"

	"github.com/shopspring/decimal"
)

// Sum is a running exact total: v × 10^exp. The zero value is zero. Not safe for concurrent use.
type Sum struct {
	v    i128 // the coefficient while wide is false
	wide bool // the coefficient is in w
	w    big.Int
	exp  int32
	x, y big.Int // the terms being added (wide)
	p    big.Int // a power of ten
	q, r big.Int // a quotient and remainder
}

// Reset sets the total to zero.
func (s *Sum) Reset() {
	s.v, s.wide, s.exp = i128{}, false, 0
}

// Add adds d.
func (s *Sum) Add(d decimal.Decimal) {
	if d.IsZero() {
		return
	}
	if m, e, ok := small(d); ok {
		if s.add(i128of(m), e) {
			return
		}
		s.widen()
		s.addBig(s.x.SetInt64(m), e)
		return
	}
	// A wide coefficient (a copy: one allocation) still fits 128 bits up to 38 digits.
	c := d.Coefficient()
	if t, ok := i128from(c); ok && s.add(t, d.Exponent()) {
		return
	}
	s.widen()
	s.addBig(c, d.Exponent())
}

// AddMul adds a × b.
func (s *Sum) AddMul(a, b decimal.Decimal) { s.addMul(a, b, false) }

// SubMul subtracts a × b.
func (s *Sum) SubMul(a, b decimal.Decimal) { s.addMul(a, b, true) }

// addMul adds a × b, or subtracts it when neg.
func (s *Sum) addMul(a, b decimal.Decimal, neg bool) {
	if a.IsZero() || b.IsZero() {
		return
	}
	if ma, ea, ok := small(a); ok {
		if mb, eb, ok := small(b); ok {
			t := mul64(ma, mb)
			if neg {
				t = t.neg()
			}
			if s.add(t, ea+eb) {
				return
			}
		}
	}
	s.widen()
	e := load(&s.x, a) + load(&s.y, b)
	s.x.Mul(&s.x, &s.y)
	if neg {
		s.x.Neg(&s.x)
	}
	s.addBig(&s.x, e)
}

// AddMulMid adds a × (bid + ask)/2: a quantity at the mid of a quote, exactly as a.Mul(exchange.Quote.Mid()).
func (s *Sum) AddMulMid(a, bid, ask decimal.Decimal) {
	if a.IsZero() {
		return
	}
	// (bid + ask)/2 = (bid + ask) × 5 × 10^-1, at the finer exponent of the two.
	if ma, ea, ok := small(a); ok {
		if t, e, ok := midTimes(ma, bid, ask); ok && s.add(t, ea+e) {
			return
		}
	}
	s.widen()
	eb, ek := load(&s.x, bid), load(&s.y, ask)
	switch {
	case eb < ek:
		scale(&s.y, &s.p, int(ek-eb))
	case ek < eb:
		scale(&s.x, &s.p, int(eb-ek))
		eb = ek
	}
	s.x.Add(&s.x, &s.y)
	s.x.Mul(&s.x, s.p.SetInt64(5))
	e := eb - 1 + load(&s.y, a)
	s.x.Mul(&s.x, &s.y)
	s.addBig(&s.x, e)
}

// midTimes is m × (bid + ask) × 5 and its exponent (the mid's exponent): false when it does not fit.
func midTimes(m int64, bid, ask decimal.Decimal) (i128, int32, bool) {
	mb, eb, ok1 := small(bid)
	mk, ek, ok2 := small(ask)
	if !ok1 || !ok2 {
		return i128{}, 0, false
	}
	b, k := i128of(mb), i128of(mk)
	var ok bool
	switch {
	case eb < ek:
		k, ok = k.scale(int(ek - eb))
	case ek < eb:
		b, ok = b.scale(int(eb - ek))
		eb = ek
	default:
		ok = true
	}
	if !ok {
		return i128{}, 0, false
	}
	sum, ok := b.add(k)
	if !ok || sum.hi != 0 && sum.hi != -1 {
		return i128{}, 0, false
	}
	// sum fits 64 bits here; × 5 must fit an int64 for the product with m.
	five, ok := sum.mulU(5)
	if !ok || five.hi != 0 && five.hi != -1 {
		return i128{}, 0, false
	}
	f := int64(five.lo)
	if (five.hi < 0) != (f < 0) {
		return i128{}, 0, false
	}
	return mul64(f, m), eb - 1, true
}

// AddSum adds another total.
func (s *Sum) AddSum(o *Sum) {
	if !o.wide {
		if o.v.isZero() || s.add(o.v, o.exp) {
			return
		}
	}
	s.widen()
	if o.wide {
		s.x.Set(&o.w)
	} else {
		o.v.big(&s.x)
	}
	s.addBig(&s.x, o.exp)
}

// add adds t × 10^e in 128 bits; false (nothing changed) when the sum is wide or would overflow.
func (s *Sum) add(t i128, e int32) bool {
	if s.wide {
		return false
	}
	if s.v.isZero() {
		s.v, s.exp = t, e
		return true
	}
	v, ok := s.v, true
	switch {
	case e > s.exp:
		t, ok = t.scale(int(e - s.exp))
		e = s.exp
	case e < s.exp:
		v, ok = v.scale(int(s.exp - e))
	}
	if !ok {
		return false
	}
	if v, ok = v.add(t); !ok {
		return false
	}
	s.v, s.exp = v, e
	return true
}

// widen moves the total to the big.Int.
func (s *Sum) widen() {
	if !s.wide {
		s.v.big(&s.w)
		s.wide = true
	}
}

// Cmp compares the totals: -1 if s < o, 0 if equal, +1 if s > o.
func (s *Sum) Cmp(o *Sum) int {
	if !s.wide && !o.wide {
		a, b, ok := s.v, o.v, true
		switch {
		case s.exp < o.exp:
			b, ok = b.scale(int(o.exp - s.exp))
		case o.exp < s.exp:
			a, ok = a.scale(int(s.exp - o.exp))
		}
		if ok {
			return a.cmp(b)
		}
	}
	a, b := s.bigValue(&s.x), o.bigValue(&s.y)
	switch {
	case s.exp < o.exp:
		scale(b, &s.p, int(o.exp-s.exp))
	case o.exp < s.exp:
		scale(a, &s.p, int(s.exp-o.exp))
	}
	return a.Cmp(b)
}

// bigValue sets z to the coefficient and returns it.
func (s *Sum) bigValue(z *big.Int) *big.Int {
	if s.wide {
		return z.Set(&s.w)
	}
	return s.v.big(z)
}

// Sign is -1, 0 or +1 as the total is negative, zero or positive.
func (s *Sum) Sign() int {
	if s.wide {
		return s.w.Sign()
	}
	return s.v.sign()
}

// Round returns the total rounded to places decimal places, as decimal.Decimal.Round does (half away from
// zero, exponent −places).
func (s *Sum) Round(places int32) decimal.Decimal {
	want := -places
	if !s.wide {
		switch k := int(want - s.exp); {
		case k == 0:
			return s.v.decimal(want)
		case k < 0:
			if v, ok := s.v.scale(-k); ok {
				return v.decimal(want)
			}
		case k <= 18:
			return s.v.roundDiv(k).decimal(want)
		}
	}
	v := s.bigValue(&s.x)
	switch {
	case s.exp == want:
		return decimal.NewFromBigInt(new(big.Int).Set(v), want)
	case s.exp > want:
		q := new(big.Int).Set(v)
		scale(q, &s.y, int(s.exp-want))
		return decimal.NewFromBigInt(q, want)
	}
	// decimal.Round truncates to places+1 digits, adds ±5 and drops the last digit: that is the quotient by
	// 10^k (k digits dropped, truncated toward zero), plus one away from zero when the dropped part is at
	// least half of 10^k. The division uses the scratch integers; only the result is allocated.
	k := int(want - s.exp)
	s.q.QuoRem(v, pow10(&s.p, k), &s.r)
	s.r.Abs(&s.r)
	s.r.Lsh(&s.r, 1) // 2·|remainder| ≥ 10^k: round away from zero
	if s.r.Cmp(&s.p) >= 0 {
		if v.Sign() < 0 {
			s.q.Sub(&s.q, s.y.SetInt64(1))
		} else {
			s.q.Add(&s.q, s.y.SetInt64(1))
		}
	}
	return decimal.NewFromBigInt(new(big.Int).Set(&s.q), want)
}

// Decimal returns the exact total.
func (s *Sum) Decimal() decimal.Decimal {
	if !s.wide {
		return s.v.decimal(s.exp)
	}
	return decimal.NewFromBigInt(new(big.Int).Set(&s.w), s.exp)
}

// addBig adds t × 10^e to the wide total, lowering its exponent when the term is finer. t may be changed.
func (s *Sum) addBig(t *big.Int, e int32) {
	switch {
	case s.w.Sign() == 0:
		s.w.Set(t)
		s.exp = e
	case e == s.exp:
		s.w.Add(&s.w, t)
	case e > s.exp:
		scale(t, &s.p, int(e-s.exp))
		s.w.Add(&s.w, t)
	default:
		scale(&s.w, &s.p, int(s.exp-e))
		s.exp = e
		s.w.Add(&s.w, t)
	}
}

// load sets z to d's coefficient and returns its exponent (no allocation for coefficients of up to 18 digits).
func load(z *big.Int, d decimal.Decimal) int32 {
	if m, e, ok := small(d); ok {
		z.SetInt64(m)
		return e
	}
	z.Set(d.Coefficient())
	return d.Exponent()
}

// scale multiplies z by 10^k, using p for the power.
func scale(z, p *big.Int, k int) { z.Mul(z, pow10(p, k)) }

// pow10 sets p to 10^k and returns it.
func pow10(p *big.Int, k int) *big.Int {
	if k <= 18 {
		return p.SetInt64(pows[k])
	}
	p.SetInt64(pows[18])
	var t big.Int
	t.SetInt64(pows[18])
	for k -= 18; k > 18; k -= 18 {
		p.Mul(p, &t)
	}
	return p.Mul(p, t.SetInt64(pows[k]))
}

// pows are the powers of ten that fit an int64 (read only).
var pows = [19]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}
