package executor

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

// legs is what a pair really holds, computed from its recorded fills.
type legs struct {
	spot, perp         decimal.Decimal // signed in the pair's direction: positive = the position exists
	spotCost, spotBase decimal.Decimal // Σ price×qty and Σ qty of fills that grew the spot leg
	perpCost, perpBase decimal.Decimal // the same for the perp leg
}

// holdings recomputes a pair's leg quantities from its fills. Carry: spot = bought − base fees − sold,
// perp = sold − bought. Reverse: spot = sold − (bought − base fees), perp = bought − sold.
func holdings(fills []store.FillRecord, dir pair.Direction, base string) legs {
	var l legs
	grow := dir.SpotSide()
	perpGrow := dir.PerpSide()
	for _, f := range fills {
		switch f.Venue {
		case exchange.Spot, exchange.Margin:
			delta := f.NetBase(base)
			if dir == pair.Reverse {
				delta = delta.Neg()
			}
			l.spot = l.spot.Add(delta)
			if f.Side == grow {
				l.spotCost = l.spotCost.Add(f.Price.Mul(f.Qty))
				l.spotBase = l.spotBase.Add(f.Qty)
			}
		case exchange.Futures:
			if f.Side == perpGrow {
				l.perp = l.perp.Add(f.Qty)
				l.perpCost = l.perpCost.Add(f.Price.Mul(f.Qty))
				l.perpBase = l.perpBase.Add(f.Qty)
			} else {
				l.perp = l.perp.Sub(f.Qty)
			}
		}
	}
	return l
}

// refresh reloads the pair's quantities and entry prices from the journal's fills.
func (e *Executor) refresh(ctx context.Context, p *pair.Pair, m Market) error {
	if p.State == pair.Pending && p.Attempt == 0 {
		return nil // never committed a round: no order was ever sent, so there is nothing filled to read
	}
	fills, err := e.j.Fills(ctx, e.account.ID, p.ID)
	if err != nil {
		return fmt.Errorf("pair %d: reading fills: %w", p.ID, err)
	}
	l := holdings(fills, p.Direction, m.Spot.Base)
	// A reverse pair's close buys back the interest too: its spot leg ends slightly below zero by design.
	if (l.spot.IsNegative() && p.Direction != pair.Reverse) || l.perp.IsNegative() {
		e.log.Error().Int64("pair", p.ID).Str("spot", l.spot.String()).Str("perp", l.perp.String()).
			Msg("a leg went past zero; treating it as zero and repairing")
	}
	p.SpotQty = decimal.Max(l.spot, decimal.Zero)
	p.PerpQty = decimal.Max(l.perp, decimal.Zero)
	if l.spotBase.IsPositive() {
		p.EntrySpotPrice = l.spotCost.DivRound(l.spotBase, 8)
	}
	if l.perpBase.IsPositive() {
		p.EntryPerpPrice = l.perpCost.DivRound(l.perpBase, 8)
	}
	if p.EntrySpotPrice.IsPositive() && p.EntryPerpPrice.IsPositive() {
		p.EntryBasis = p.EntryPerpPrice.Sub(p.EntrySpotPrice).DivRound(p.EntrySpotPrice, 8)
	}
	return nil
}

// isLevel reports whether the legs differ by less than one (coarser) lot step.
func isLevel(p *pair.Pair, m Market) bool {
	return p.SpotQty.Sub(p.PerpQty).Abs().LessThan(m.LotStep())
}

// spotFlat: what is left of the spot leg cannot be traded (under a lot step or the minimum notional).
func spotFlat(p *pair.Pair, m Market, price decimal.Decimal) bool {
	q := exchange.FloorToStep(p.SpotQty, m.Spot.StepSize)
	if q.IsZero() || q.LessThan(m.Spot.MinQty) {
		return true
	}
	return price.IsPositive() && m.Spot.MinNotional.IsPositive() && q.Mul(price).LessThan(m.Spot.MinNotional)
}

// isFlat reports whether both legs are closed (the spot leg may keep untradeable dust).
func isFlat(p *pair.Pair, m Market, spotPrice decimal.Decimal) bool {
	return p.PerpQty.LessThan(m.Perp.StepSize) && spotFlat(p, m, spotPrice)
}
