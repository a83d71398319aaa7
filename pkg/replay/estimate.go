package replay

import (
	"math"

	"github.com/shopspring/decimal"
)

// estimator is the running period's funding estimate from premium samples, Binance's way: the premium
// P = (perp − spot) / spot is averaged with weights 1, 2, …, n over the samples since the period began
// (later samples weigh more), and
//
//	F = [P̄ + clamp(I − P̄, −0.05%, +0.05%)] / (8/N), clamped to [floor, cap],
//
// with I the interest rate per 8 hours and N the interval in hours. It only sees prices already replayed
// (no look-ahead into the settled file). Floats are fine here: the estimate is a screening signal, converted
// to a decimal with 8 decimals.
type estimator struct {
	period   int64 // index of the funding period the samples belong to
	start    int64 // its bounds, Unix ns: [start, end)
	end      int64
	n        float64
	sw, swp  float64
	lastUnit int64
	last     decimal.Decimal
	haveLast bool
	slab     decSlab
}

// add records a premium sample taken at ns in the period of length periodNs.
func (e *estimator) add(ns, periodNs int64, p float64) {
	e.roll(ns, periodNs)
	e.n++
	e.sw += e.n
	e.swp += e.n * p
}

// roll starts a new period when ns is outside the current one.
func (e *estimator) roll(ns, periodNs int64) {
	if ns >= e.start && ns < e.end && e.end-e.start == periodNs {
		return
	}
	if k := floorDiv(ns, periodNs); k != e.period || e.end-e.start != periodNs {
		e.period, e.n, e.sw, e.swp = k, 0, 0, 0
		e.start, e.end = k*periodNs, (k+1)*periodNs
	}
}

// update sets last to the estimate for the running period (I/(8/N) before any sample).
func (e *estimator) update(ns, periodNs int64, hours int, interest, rateCap, rateFloor float64) {
	e.roll(ns, periodNs)
	pbar := 0.0
	if e.sw > 0 {
		pbar = e.swp / e.sw
	}
	f := (pbar + math.Max(-0.0005, math.Min(0.0005, interest-pbar))) * float64(hours) / 8
	if rateCap > 0 {
		f = math.Min(rateCap, f)
	}
	if rateFloor < 0 {
		f = math.Max(rateFloor, f)
	}
	u := int64(math.Round(f * 1e8))
	if !e.haveLast || u != e.lastUnit {
		e.lastUnit, e.last, e.haveLast = u, e.slab.dec(u, -8), true
	}
}

// floorDiv is ⌊a/b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
