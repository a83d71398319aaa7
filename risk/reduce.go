package risk

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// Deleverage and flatten orders. A deleverage takes the same quantity off both legs, a multiple of the
// coarser of the two legs' lot steps, so the hedge ratio's numerator and denominator move together and the
// pair stays hedged; the spot leg's order must still clear the spot minimums (the perp order is reduce-only
// and exempt).

// deleverage returns the quantity to take off both legs of p and the two leg orders. When a fraction of the
// pair cannot be traded on its own (below a minimum, or the whole pair), flatten is true instead.
func deleverage(p pair.Pair, m Market, mark, fraction decimal.Decimal) (qty decimal.Decimal, orders []LegOrder, flatten bool, why string) {
	size := decimal.Min(p.SpotQty, p.PerpQty)
	step := m.CoarserStep()
	if !step.IsPositive() {
		return size, nil, true, "the legs have no lot step"
	}
	qty = exchange.FloorToStep(p.PerpQty.Mul(fraction), step)
	// The smallest quantity the spot leg accepts, on the coarser step.
	minQty := exchange.CeilToStep(m.Spot.MinQty, step)
	if m.Spot.MinNotional.IsPositive() && mark.IsPositive() {
		minQty = decimal.Max(minQty, exchange.CeilToStep(m.Spot.MinNotional.DivRound(mark, 16), step))
	}
	if qty.LessThan(minQty) {
		qty = decimal.Max(minQty, step)
		why = fmt.Sprintf("; %s of the pair (%s) is below what the spot leg accepts, so %s", pct(fraction), num(p.PerpQty.Mul(fraction)), num(qty))
	}
	if qty.GreaterThanOrEqual(size) {
		return size, nil, true, fmt.Sprintf("a deleverage of %s would close the whole pair (%s)", num(qty), num(size))
	}
	orders = []LegOrder{spotShrink(p.Direction, m, qty), perpShrink(p.Direction, qty)}
	for _, o := range orders {
		if err := legError(o, m, mark); err != nil {
			return qty, nil, true, fmt.Sprintf("the deleverage order cannot be placed (%v)", err)
		}
	}
	return qty, orders, false, why
}

// flatten returns the orders that close both legs of p: the spot leg on its step (the remainder below one
// step is dust the venue cannot trade) and the whole perp position, reduce-only. A spot leg below the spot
// minimum cannot be sold: it is left out and named in dust.
func flatten(p pair.Pair, m Market, mark decimal.Decimal) (orders []LegOrder, dust string) {
	spotQty := exchange.FloorToStep(p.SpotQty, m.Spot.OrderStep(exchange.Market))
	if p.Direction == pair.Reverse {
		spotQty = p.SpotQty // a loan is repaid in full: the buy is grossed up and rounded up
	}
	if spotQty.IsPositive() {
		o := spotShrink(p.Direction, m, spotQty)
		if err := legError(o, m, mark); err != nil {
			dust = fmt.Sprintf("; the spot leg (%s) cannot be traded: %v", num(p.SpotQty), err)
		} else {
			orders = append(orders, o)
		}
	}
	if p.PerpQty.IsPositive() {
		orders = append(orders, perpShrink(p.Direction, p.PerpQty))
	}
	return orders, dust
}

// perpOnly is the order that closes (or reduces by qty) a position no pair explains.
func perpOnly(pos PositionRisk, qty decimal.Decimal) LegOrder {
	side := exchange.Buy
	if pos.Qty.IsPositive() {
		side = exchange.Sell
	}
	return LegOrder{Leg: pair.LegPerp, Venue: exchange.Futures, Side: side, Qty: qty, ReduceOnly: true}
}
