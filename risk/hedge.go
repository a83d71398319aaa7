package risk

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// HedgeCheck is a pair's hedge ratio and, when it drifted, the order that corrects it.
//
// The ratio is net spot ÷ perp quantity: for carry the base held net of fees charged in base, for reverse
// the base owed (sold). A correction is due only when the ratio is outside 1 ± risk.hedge_drift_band AND
// the legs differ by more than one lot step (the coarser of the two legs' steps): fee dust and rounding
// stay below a step and are never traded.
//
// Which leg: the pair's target tells which leg is right when exactly one leg is within a step of it (a
// partial fill on the other): that other leg is brought to the first, growing or shrinking. Otherwise it
// is ambiguous and the larger leg is shrunk to the smaller, because selling what is already held can only
// lower the exposure while growing a leg raises it and needs margin. When the account is not active
// (reducing or halted) only shrinking is allowed. If the preferred order breaks a minimum (quantity or
// notional), the other leg is tried; if neither can trade, no order is given and the drift is reported.
type HedgeCheck struct {
	PairID int64
	Symbol string
	Spot   decimal.Decimal // net base held (carry) or owed (reverse)
	Perp   decimal.Decimal // absolute perp size
	Ratio  decimal.Decimal // Spot ÷ Perp; zero when Perp is zero
	Drift  decimal.Decimal // Ratio − 1 (−1 with no spot; +1 with no perp)
	Diff   decimal.Decimal // Spot − Perp
	Step   decimal.Decimal // the coarser lot step
	// Drifted: |Drift| > band and |Diff| > Step.
	Drifted bool
	// Correction is the order that brings the legs level; nil when none is due or none can be placed.
	Correction *LegOrder
	Reason     string
}

// CheckHedge computes p's hedge ratio and the corrective order, if one is due. price values the legs for
// the notional minimums (the mark). shrinkOnly forbids orders that grow a leg.
func (r *Rules) CheckHedge(p pair.Pair, m Market, price decimal.Decimal, shrinkOnly bool) HedgeCheck {
	h := HedgeCheck{PairID: p.ID, Symbol: p.Symbol, Spot: p.SpotQty, Perp: p.PerpQty, Diff: p.SpotQty.Sub(p.PerpQty), Step: m.CoarserStep()}
	switch {
	case p.PerpQty.IsPositive():
		h.Ratio = p.SpotQty.DivRound(p.PerpQty, 8)
		h.Drift = h.Ratio.Sub(one)
	case p.SpotQty.IsPositive():
		h.Drift = one
	}
	if h.Drift.Abs().LessThanOrEqual(r.cfg.HedgeDriftBand) || h.Diff.Abs().LessThanOrEqual(h.Step) {
		return h
	}
	h.Drifted = true
	gap := h.Diff.Abs()
	var shrink, grow LegOrder
	if h.Diff.IsPositive() { // spot leg larger
		shrink = spotShrink(p.Direction, m, exchange.RoundToStep(gap, m.Spot.OrderStep(exchange.Market)))
		grow = perpGrow(p.Direction, exchange.RoundToStep(gap, m.Perp.OrderStep(exchange.Market)))
	} else { // perp leg larger
		shrink = perpShrink(p.Direction, exchange.RoundToStep(gap, m.Perp.OrderStep(exchange.Market)))
		grow = spotGrow(p.Direction, m, exchange.RoundToStep(gap, m.Spot.OrderStep(exchange.Market)))
	}
	rule := "ambiguous: shrink the larger leg"
	first, second := &shrink, &grow
	if right, ok := rightLeg(p, h.Step); ok && !shrinkOnly {
		wrong := pair.LegSpot
		if right == pair.LegSpot {
			wrong = pair.LegPerp
		}
		rule = fmt.Sprintf("the %s leg matches the target %s: adjust the %s leg", legName(right), num(p.TargetQty), legName(wrong))
		if grow.Leg == wrong {
			first, second = &grow, &shrink
		}
	}
	if shrinkOnly {
		rule = "trading is restricted (reducing or halted): shrink the larger leg only"
		second = nil
	}
	ratio := "∞"
	if p.PerpQty.IsPositive() {
		ratio = h.Ratio.StringFixed(4)
	}
	head := fmt.Sprintf("%s hedge ratio %s (spot %s, perp %s) is outside 1 ± %s and the legs differ by %s > one lot step %s",
		p.Symbol, ratio, num(p.SpotQty), num(p.PerpQty), r.cfg.HedgeDriftBand, num(gap), num(h.Step))
	var errs []string
	for _, o := range []*LegOrder{first, second} {
		if o == nil {
			continue
		}
		if !o.Qty.IsPositive() {
			errs = append(errs, fmt.Sprintf("%s %s: rounds to zero", legName(o.Leg), o.Side))
			continue
		}
		if err := legError(*o, m, price); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		c := *o
		h.Correction = &c
		h.Reason = fmt.Sprintf("%s; %s: %s %s %s on %s", head, rule, legName(o.Leg), sideWord(o.Side), num(o.Qty), o.Venue)
		return h
	}
	h.Reason = fmt.Sprintf("%s; no corrective order can be placed (%s)", head, strings.Join(errs, "; "))
	return h
}

// rightLeg is the leg within one step of the pair's target while the other is not.
func rightLeg(p pair.Pair, step decimal.Decimal) (pair.Leg, bool) {
	if !p.TargetQty.IsPositive() {
		return "", false
	}
	spotOK := p.SpotQty.Sub(p.TargetQty).Abs().LessThanOrEqual(step)
	perpOK := p.PerpQty.Sub(p.TargetQty).Abs().LessThanOrEqual(step)
	switch {
	case spotOK && !perpOK:
		return pair.LegSpot, true
	case perpOK && !spotOK:
		return pair.LegPerp, true
	}
	return "", false
}

func legName(l pair.Leg) string {
	if l == pair.LegPerp {
		return "perp"
	}
	return "spot"
}

func sideWord(s exchange.Side) string {
	if s == exchange.Buy {
		return "buy"
	}
	return "sell"
}
