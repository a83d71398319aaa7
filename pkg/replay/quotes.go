package replay

import (
	"math/bits"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// spreadScale is the fixed-point scale of a half spread: h is held as round(h × 1e10).
const spreadScale = 10_000_000_000

// rawExp is the exponent prices are expressed at (unless the data has more decimals): one exponent per
// market keeps decimal comparisons on the fast path and the arithmetic below in int64.
const rawExp = -8

// pricer turns a bar price into the raw price and a bid/ask pair for one market: bid = price × (1 − s/2)
// rounded down to the tick, ask = price × (1 + s/2) rounded up, exactly, in integers at exponent rawExp.
type pricer struct {
	tick     decimal.Decimal // zero: no rounding beyond rawExp
	half     decimal.Decimal
	t        uint64  // the tick in units of 10^rawExp (1 without a tick)
	hd       uint64  // the half spread × spreadScale
	d        uint64  // S·t
	fBid     float64 // (S − h)/(S·t): the float estimate of bid units per price unit
	fAsk     float64
	fast     bool // the integer path applies (tick on the rawExp grid, products fit)
	zeroHalf bool
}

func newPricer(spread, tick decimal.Decimal) pricer {
	half := spread.Div(decimal.NewFromInt(2))
	p := pricer{tick: tick, half: half, zeroHalf: half.IsZero(), t: 1}
	hs := half.Mul(decimal.NewFromInt(spreadScale))
	p.hd = uint64(hs.IntPart())
	exact := hs.Equal(hs.Truncate(0))
	if tick.IsPositive() {
		tu := tick.Shift(-rawExp)
		if !tu.Equal(tu.Truncate(0)) || !tu.BigInt().IsUint64() {
			exact = false
		} else {
			p.t = tu.BigInt().Uint64()
		}
	}
	// S·t must fit in 64 bits for the checks below.
	hi, lo := bits.Mul64(spreadScale, p.t)
	p.fast = exact && hi == 0 && p.hd < spreadScale
	p.d = lo
	s, t := float64(spreadScale), float64(p.t)
	p.fBid = (s - float64(p.hd)) / (s * t)
	p.fAsk = (s + float64(p.hd)) / (s * t)
	return p
}

// raw returns the price at rawExp (or the data's exponent when finer).
func (p *pricer) raw(n num, slab *decSlab) decimal.Decimal {
	if n.big == nil {
		if m, ok := scaleTo(n.m, n.e, rawExp); ok {
			return slab.dec(m, rawExp)
		}
	}
	return slab.num(n)
}

// bidAsk derives the quote around price n (raw is n as a decimal, reused when no rounding is needed).
func (p *pricer) bidAsk(n num, raw decimal.Decimal, slab *decSlab) (bid, ask decimal.Decimal) {
	if !p.tick.IsPositive() && p.zeroHalf {
		return raw, raw
	}
	if p.fast && n.big == nil && n.m > 0 {
		if pm, ok := scaleTo(n.m, n.e, rawExp); ok && pm < 1<<53 {
			u := uint64(pm)
			// bid units b: the largest b with b·S·t ≤ pm·(S − h); ask units a: the smallest a with
			// a·S·t ≥ pm·(S + h). A float estimate, then exact 128-bit checks (no division).
			nbHi, nbLo := bits.Mul64(u, spreadScale-p.hd)
			naHi, naLo := bits.Mul64(u, spreadScale+p.hd)
			b := uint64(float64(u) * p.fBid)
			for b > 0 && greater(b, p.d, nbHi, nbLo) {
				b--
			}
			for !greater(b+1, p.d, nbHi, nbLo) {
				b++
			}
			a := uint64(float64(u)*p.fAsk) + 1
			for a > 0 && !less(a-1, p.d, naHi, naLo) {
				a--
			}
			for less(a, p.d, naHi, naLo) {
				a++
			}
			if bu, au := b*p.t, a*p.t; au < 1<<62 && bu <= au {
				return slab.dec(int64(bu), rawExp), slab.dec(int64(au), rawExp)
			}
		}
	}
	// Slow path: prices finer than 1e-8, huge mantissas, ticks off the 1e-8 grid.
	one := decimal.NewFromInt(1)
	step := p.tick
	if !step.IsPositive() {
		step = decimal.New(1, rawExp)
	}
	bid = exchange.FloorToStep(raw.Mul(one.Sub(p.half)), step)
	ask = exchange.CeilToStep(raw.Mul(one.Add(p.half)), step)
	return bid, ask
}

// greater reports x·d > (hi, lo) for 64-bit x and d.
func greater(x, d, hi, lo uint64) bool {
	ph, pl := bits.Mul64(x, d)
	return ph > hi || ph == hi && pl > lo
}

// less reports x·d < (hi, lo).
func less(x, d, hi, lo uint64) bool {
	ph, pl := bits.Mul64(x, d)
	return ph < hi || ph == hi && pl < lo
}
