// Package exact sums decimals and products of decimals exactly, reusing its integers instead of allocating
// for every operation.
//
// shopspring/decimal returns a new value (a fresh big.Int) from every Add and Mul. A valuation that adds a
// few products per sample, many thousand samples a backtest, spends most of its time allocating. A Sum keeps
// the running total and its scratch values across uses; after the first few samples an AddMul allocates
// nothing (a coefficient of more than 18 digits still costs a copy). Results are exact: Round gives what
// decimal's Round gives on the exact sum, and Decimal gives the exact sum.
package exact

import (
	"math/big"

	"github.com/shopspring/decimal"
)

// Sum is a running exact total: v × 10^exp. The zero value is zero. Not safe for concurrent use.
type Sum struct {
	v    big.Int
	exp  int32
	x, y big.Int // the terms being added
	p    big.Int // a power of ten
	q, r big.Int // a quotient and remainder
}

// Reset sets the total to zero.
func (s *Sum) Reset() {
	s.v.SetInt64(0)
	s.exp = 0
}

// Add adds d.
func (s *Sum) Add(d decimal.Decimal) {
	if d.IsZero() {
		return
	}
	e := load(&s.x, d)
	s.addTerm(&s.x, e)
}

// AddMul adds a × b.
func (s *Sum) AddMul(a, b decimal.Decimal) {
	if a.IsZero() || b.IsZero() {
		return
	}
	e := load(&s.x, a) + load(&s.y, b)
	s.x.Mul(&s.x, &s.y)
	s.addTerm(&s.x, e)
}

// AddMulMid adds a × (bid + ask)/2: a quantity at the mid of a quote, exactly as a.Mul(exchange.Quote.Mid()).
func (s *Sum) AddMulMid(a, bid, ask decimal.Decimal) {
	if a.IsZero() {
		return
	}
	// (bid + ask)/2 = (bid + ask) × 5 × 10^-1, at the finer exponent of the two.
	eb, ea := load(&s.x, bid), load(&s.y, ask)
	switch {
	case eb < ea:
		scale(&s.y, &s.p, int(ea-eb))
	case ea < eb:
		scale(&s.x, &s.p, int(eb-ea))
		eb = ea
	}
	s.x.Add(&s.x, &s.y)
	s.x.Mul(&s.x, s.p.SetInt64(5))
	e := eb - 1 + load(&s.y, a)
	s.x.Mul(&s.x, &s.y)
	s.addTerm(&s.x, e)
}

// AddSum adds another total.
func (s *Sum) AddSum(o *Sum) {
	if o.v.Sign() == 0 {
		return
	}
	s.x.Set(&o.v)
	s.addTerm(&s.x, o.exp)
}

// SubMul subtracts a × b.
func (s *Sum) SubMul(a, b decimal.Decimal) {
	if a.IsZero() || b.IsZero() {
		return
	}
	e := load(&s.x, a) + load(&s.y, b)
	s.x.Mul(&s.x, &s.y)
	s.x.Neg(&s.x)
	s.addTerm(&s.x, e)
}

// Cmp compares the totals: -1 if s < o, 0 if equal, +1 if s > o.
func (s *Sum) Cmp(o *Sum) int {
	switch {
	case s.exp == o.exp:
		return s.v.Cmp(&o.v)
	case s.exp < o.exp:
		s.p.Set(&o.v)
		scale(&s.p, &s.y, int(o.exp-s.exp))
		return s.v.Cmp(&s.p)
	default:
		s.p.Set(&s.v)
		scale(&s.p, &s.y, int(s.exp-o.exp))
		return s.p.Cmp(&o.v)
	}
}

// Sign is -1, 0 or +1 as the total is negative, zero or positive.
func (s *Sum) Sign() int { return s.v.Sign() }

// Round returns the total rounded to places decimal places, as decimal.Decimal.Round does (half away from
// zero, exponent −places).
func (s *Sum) Round(places int32) decimal.Decimal {
	want := -places
	switch {
	case s.exp == want:
		return decimal.NewFromBigInt(new(big.Int).Set(&s.v), want)
	case s.exp > want:
		q := new(big.Int).Set(&s.v)
		scale(q, &s.y, int(s.exp-want))
		return decimal.NewFromBigInt(q, want)
	}
	// decimal.Round truncates to places+1 digits, adds ±5 and drops the last digit: that is the quotient by
	// 10^k (k digits dropped, truncated toward zero), plus one away from zero when the dropped part is at
	// least half of 10^k. The division uses the scratch integers; only the result is allocated.
	k := int(want - s.exp)
	s.q.QuoRem(&s.v, pow10(&s.p, k), &s.r)
	s.r.Abs(&s.r)
	s.r.Lsh(&s.r, 1) // 2·|remainder| ≥ 10^k: round away from zero
	if s.r.Cmp(&s.p) >= 0 {
		if s.v.Sign() < 0 {
			s.q.Sub(&s.q, s.y.SetInt64(1))
		} else {
			s.q.Add(&s.q, s.y.SetInt64(1))
		}
	}
	return decimal.NewFromBigInt(new(big.Int).Set(&s.q), want)
}

// Decimal returns the exact total.
func (s *Sum) Decimal() decimal.Decimal {
	return decimal.NewFromBigInt(new(big.Int).Set(&s.v), s.exp)
}

// addTerm adds t × 10^e, lowering the total's exponent when the term is finer. t may be changed.
func (s *Sum) addTerm(t *big.Int, e int32) {
	switch {
	case s.v.Sign() == 0:
		s.v.Set(t)
		s.exp = e
	case e == s.exp:
		s.v.Add(&s.v, t)
	case e > s.exp:
		scale(t, &s.p, int(e-s.exp))
		s.v.Add(&s.v, t)
	default:
		scale(&s.v, &s.p, int(s.exp-e))
		s.exp = e
		s.v.Add(&s.v, t)
	}
}

// load sets z to d's coefficient and returns its exponent (no allocation for coefficients of up to 18 digits).
func load(z *big.Int, d decimal.Decimal) int32 {
	if d.NumDigits() <= 18 {
		z.SetInt64(d.CoefficientInt64())
	} else {
		z.Set(d.Coefficient())
	}
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
	for k -= 18; k > 18; k -= 18 {
		p.Mul(p, big.NewInt(pows[18]))
	}
	var t big.Int
	return p.Mul(p, t.SetInt64(pows[k]))
}

var pows = [19]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}
