package exchange

import (
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
)

// All rounding here is exact: quantities and prices are decimal multiples of a step, never floats.

// FloorToStep rounds q down to a multiple of step (toward zero for negative q). A zero step leaves q as is.
func FloorToStep(q, step decimal.Decimal) decimal.Decimal {
	if !step.IsPositive() {
		return q
	}
	quo, _ := q.QuoRem(step, 0)
	return quo.Mul(step)
}

// CeilToStep rounds a positive q up to a multiple of step.
func CeilToStep(q, step decimal.Decimal) decimal.Decimal {
	if !step.IsPositive() {
		return q
	}
	quo, rem := q.QuoRem(step, 0)
	if rem.IsPositive() {
		quo = quo.Add(decimal.NewFromInt(1))
	}
	return quo.Mul(step)
}

// RoundToStep rounds q to the nearest multiple of step, halves away from zero.
func RoundToStep(q, step decimal.Decimal) decimal.Decimal {
	if !step.IsPositive() {
		return q
	}
	quo, rem := q.QuoRem(step, 0)
	if rem.Abs().Mul(two).GreaterThanOrEqual(step) {
		if q.IsNegative() {
			quo = quo.Sub(decimal.NewFromInt(1))
		} else {
			quo = quo.Add(decimal.NewFromInt(1))
		}
	}
	return quo.Mul(step)
}

// RoundToTick rounds a price to the nearest tick.
func RoundToTick(price, tick decimal.Decimal) decimal.Decimal { return RoundToStep(price, tick) }

// IsMultiple reports whether q is an exact multiple of step.
func IsMultiple(q, step decimal.Decimal) bool {
	if !step.IsPositive() {
		return true
	}
	_, rem := q.QuoRem(step, 0)
	return rem.IsZero()
}

// CoarserStep returns the smallest step that is a multiple of both a and b (their least common multiple;
// for Binance's power-of-ten steps simply the coarser one). A zero step defers to the other.
func CoarserStep(a, b decimal.Decimal) decimal.Decimal {
	if !a.IsPositive() {
		return b
	}
	if !b.IsPositive() {
		return a
	}
	exp := min(a.Exponent(), b.Exponent())
	ai, bi := a.Shift(-exp).BigInt(), b.Shift(-exp).BigInt()
	g := new(big.Int).GCD(nil, nil, ai, bi)
	l := new(big.Int).Mul(ai, bi)
	l.Quo(l, g)
	return decimal.NewFromBigInt(l, exp)
}

// PairQuantity sizes a pair: target rounded down to a multiple of both legs' lot steps, and checked against
// both legs' minimum quantity and minimum notional at price. The error names the leg and the limit.
func PairQuantity(target decimal.Decimal, spot, perp Instrument, price decimal.Decimal) (decimal.Decimal, error) {
	step := CoarserStep(spot.marketStep(), perp.marketStep())
	q := FloorToStep(target, step)
	for _, in := range []Instrument{spot, perp} {
		if q.LessThan(in.MinQty) || !q.IsPositive() {
			return decimal.Zero, fmt.Errorf("%s %s: quantity %s (target %s on step %s) is below the minimum %s", in.Venue, in.Symbol, q, target, step, in.MinQty)
		}
		if err := CheckMinNotional(in, q, price, false, Market); err != nil {
			return decimal.Zero, err
		}
	}
	return q, nil
}

// SpotBuyGrossUp returns the spot buy quantity that leaves at least net in the wallet when the fee
// (rate feeRate) is charged in the base asset, rounded up to step. 0.100 at 0.1% on step 0.00001 → 0.10011.
func SpotBuyGrossUp(net, feeRate, step decimal.Decimal) decimal.Decimal {
	keep := decimal.NewFromInt(1).Sub(feeRate)
	q := CeilToStep(net.DivRound(keep, 18), step)
	// Division is rounded: make sure the net really covers the target, exactly.
	for q.Mul(keep).LessThan(net) {
		q = q.Add(step)
	}
	return q
}

// CheckMinNotional enforces the minimum notional filter. Reduce-only futures orders are exempt, as are spot
// market orders when the filter does not apply to them.
func CheckMinNotional(in Instrument, qty, price decimal.Decimal, reduceOnly bool, typ OrderType) error {
	if !in.MinNotional.IsPositive() {
		return nil
	}
	if in.Venue == Futures && reduceOnly {
		return nil
	}
	if in.Venue != Futures && typ == Market && !in.MinNotionalMarket {
		return nil
	}
	notional := qty.Mul(price)
	if notional.LessThan(in.MinNotional) {
		return Rejected(RejectFilter, 0, "%s %s: notional %s (%s × %s) is below the minimum %s", in.Venue, in.Symbol, notional.StringFixed(4), qty, price, in.MinNotional)
	}
	return nil
}

// CheckFilters validates an order against the instrument's filters at a reference price (the limit price,
// or the touch for market orders). It returns a *RejectError of kind RejectFilter naming the filter.
func CheckFilters(in Instrument, req OrderRequest, refPrice decimal.Decimal) error {
	if !in.Trading {
		return Rejected(RejectFilter, 0, "%s %s is not trading", in.Venue, in.Symbol)
	}
	if !req.Qty.IsPositive() {
		return Rejected(RejectFilter, 0, "%s %s: quantity %s must be positive", in.Venue, in.Symbol, req.Qty)
	}
	step, maxQty := in.StepSize, in.MaxQty
	if req.Type == Market {
		step, maxQty = in.marketStep(), in.marketMax()
	}
	if !IsMultiple(req.Qty, step) {
		return Rejected(RejectFilter, 0, "%s %s: quantity %s is not a multiple of the lot step %s", in.Venue, in.Symbol, req.Qty, step)
	}
	if req.Qty.LessThan(in.MinQty) && !(in.Venue == Futures && req.ReduceOnly) {
		return Rejected(RejectFilter, 0, "%s %s: quantity %s is below the minimum %s", in.Venue, in.Symbol, req.Qty, in.MinQty)
	}
	if maxQty.IsPositive() && req.Qty.GreaterThan(maxQty) {
		return Rejected(RejectFilter, 0, "%s %s: quantity %s is above the maximum %s", in.Venue, in.Symbol, req.Qty, maxQty)
	}
	if req.Type != Market {
		if !req.Price.IsPositive() {
			return Rejected(RejectFilter, 0, "%s %s: a %s order needs a positive price", in.Venue, in.Symbol, req.Type)
		}
		if !IsMultiple(req.Price, in.TickSize) {
			return Rejected(RejectFilter, 0, "%s %s: price %s is not a multiple of the tick %s", in.Venue, in.Symbol, req.Price, in.TickSize)
		}
		refPrice = req.Price
	}
	return CheckMinNotional(in, req.Qty, refPrice, req.ReduceOnly, req.Type)
}

// FundingAmount is what a position receives at a settlement (negative: pays): −qty × mark × rate, with qty
// signed (negative short). Short 0.5 at 60,000 and +0.01% receives 3.
func FundingAmount(qty, mark, rate decimal.Decimal) decimal.Decimal {
	return qty.Neg().Mul(mark).Mul(rate)
}

func (in Instrument) marketStep() decimal.Decimal {
	if in.MarketStep.IsPositive() {
		return CoarserStep(in.MarketStep, in.StepSize)
	}
	return in.StepSize
}

func (in Instrument) marketMax() decimal.Decimal {
	if in.MarketMax.IsPositive() && (!in.MaxQty.IsPositive() || in.MarketMax.LessThan(in.MaxQty)) {
		return in.MarketMax
	}
	return in.MaxQty
}

// OrderStep is the lot step an order of type typ must respect.
func (in Instrument) OrderStep(typ OrderType) decimal.Decimal {
	if typ == Market {
		return in.marketStep()
	}
	return in.StepSize
}
