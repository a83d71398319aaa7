package risk

import (
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// Leg orders for each direction. Carry: long spot (spot wallet) + short perp. Reverse: borrowed spot sold
// (cross-margin wallet) + long perp. "Shrink" moves a leg toward zero, "grow" away from it.

// spotVenue is where the pair's spot leg lives.
func spotVenue(d pair.Direction) exchange.Venue {
	if d == pair.Reverse {
		return exchange.Margin
	}
	return exchange.Spot
}

// spotShrink is the order that reduces the spot leg by qty (net base): carry sells; reverse buys back and
// repays the loan, grossed up for a fee charged in base so the whole qty is repaid.
func spotShrink(d pair.Direction, m Market, qty decimal.Decimal) LegOrder {
	if d == pair.Reverse {
		return LegOrder{Leg: pair.LegSpot, Venue: exchange.Margin, Side: exchange.Buy, SideEffect: exchange.AutoRepay,
			Qty: exchange.SpotBuyGrossUp(qty, m.SpotFeeInBase, m.Spot.OrderStep(exchange.Market))}
	}
	return LegOrder{Leg: pair.LegSpot, Venue: exchange.Spot, Side: exchange.Sell, Qty: qty}
}

// spotGrow is the order that adds qty (net base) to the spot leg: carry buys, grossed up for a fee in base;
// reverse borrows and sells.
func spotGrow(d pair.Direction, m Market, qty decimal.Decimal) LegOrder {
	if d == pair.Reverse {
		return LegOrder{Leg: pair.LegSpot, Venue: exchange.Margin, Side: exchange.Sell, SideEffect: exchange.AutoBorrow, Qty: qty}
	}
	return LegOrder{Leg: pair.LegSpot, Venue: exchange.Spot, Side: exchange.Buy,
		Qty: exchange.SpotBuyGrossUp(qty, m.SpotFeeInBase, m.Spot.OrderStep(exchange.Market))}
}

// perpShrink reduces the perp leg by qty (reduce-only: exempt from the minimums).
func perpShrink(d pair.Direction, qty decimal.Decimal) LegOrder {
	return LegOrder{Leg: pair.LegPerp, Venue: exchange.Futures, Side: d.PerpSide().Opposite(), Qty: qty, ReduceOnly: true}
}

// perpGrow adds qty to the perp leg.
func perpGrow(d pair.Direction, qty decimal.Decimal) LegOrder {
	return LegOrder{Leg: pair.LegPerp, Venue: exchange.Futures, Side: d.PerpSide(), Qty: qty}
}

// legError checks a leg order against its instrument's quantity and notional minimums at price, as a
// market order. nil when the venue would accept it.
func legError(o LegOrder, m Market, price decimal.Decimal) error {
	in := m.Spot
	if o.Venue == exchange.Futures {
		in = m.Perp
	}
	in.Venue = o.Venue
	if o.Venue == exchange.Margin {
		in.Venue = exchange.Spot // margin orders follow the spot market's filters
	}
	in.Trading = true // the trading status is the pre-trade check's business
	req := exchange.OrderRequest{Venue: o.Venue, Side: o.Side, Type: exchange.Market, Qty: o.Qty, ReduceOnly: o.ReduceOnly}
	return exchange.CheckFilters(in, req, price)
}
