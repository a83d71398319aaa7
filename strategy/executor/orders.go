package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

var errTooSmall = errors.New("quantity rounds to zero on the lot step")

// quote returns the latest quote of a market: from the engine's feed when it has one, else the venue.
// Margin orders trade the spot book.
func (e *Executor) quote(ctx context.Context, venue exchange.Venue, symbol string) (exchange.Quote, error) {
	if venue == exchange.Margin {
		venue = exchange.Spot
	}
	if e.quotes != nil {
		if q, ok := e.quotes(venue, symbol); ok && q.Valid() {
			return q, nil
		}
	}
	q, err := e.venue.Quote(ctx, venue, symbol)
	if err != nil {
		return exchange.Quote{}, fmt.Errorf("%s %s quote: %w", venue, symbol, err)
	}
	return q, nil
}

// refPrice is the spot mid, used to tell untradeable dust; zero when there is no quote.
func (e *Executor) refPrice(ctx context.Context, p *pair.Pair, m Market) decimal.Decimal {
	q, err := e.quote(ctx, exchange.Spot, p.Symbol)
	if err != nil {
		return decimal.Zero
	}
	return q.Mid()
}

// legOrder builds the order that grows (or shrinks) one leg by qty base units, rounded to the leg's step
// (a spot buy grossed up for a fee charged in base), priced for the order type, and checked against the
// instrument's filters and the risk module. aggression widens an IOC limit on each repair round.
func (e *Executor) legOrder(ctx context.Context, p *pair.Pair, m Market, leg pair.Leg, grow bool, qty decimal.Decimal, aggression int, purpose pair.Intent) (pair.OrderIntent, error) {
	req := exchange.OrderRequest{Symbol: p.Symbol, Type: e.cfg.OrderType}
	var in exchange.Instrument
	if leg == pair.LegSpot {
		in = m.Spot
		req.Venue = spotVenue(p.Direction)
		req.Side = p.Direction.SpotSide()
		if !grow {
			req.Side = req.Side.Opposite()
		}
		step := in.OrderStep(req.Type)
		if p.Direction == pair.Reverse && !grow && purpose == pair.IntentClose {
			// Closing a reverse pair buys back what is owed: the principal and the interest charged on it.
			owed, err := e.loanOf(ctx, in.Base)
			switch {
			case err != nil && aggression <= e.cfg.MaxRepairAttempts:
				return pair.OrderIntent{}, err // a close waits for the answer (nothing is sent)
			case err != nil:
				// A flatten (past the repair rounds) closes the leg it holds now; the interest left owed is
				// bought back by the next close.
				e.log.Error().Int64("pair", p.ID).Err(err).Msg("flattening without the interest owed")
			case owed.GreaterThan(qty):
				qty = owed
			}
		}
		if req.Side == exchange.Buy {
			req.Qty = exchange.SpotBuyGrossUp(qty, m.SpotFee.Taker, step)
		} else {
			req.Qty = exchange.FloorToStep(qty, step)
		}
		if p.Direction == pair.Reverse {
			req.SideEffect = exchange.AutoBorrow
			if !grow {
				req.SideEffect = exchange.AutoRepay
			}
		}
	} else {
		in = m.Perp
		req.Venue = exchange.Futures
		req.Side = p.Direction.PerpSide()
		if !grow {
			req.Side = req.Side.Opposite()
		}
		req.Qty = exchange.FloorToStep(qty, in.OrderStep(req.Type))
		req.ReduceOnly = !grow
	}
	if !req.Qty.IsPositive() {
		return pair.OrderIntent{}, fmt.Errorf("%s leg of %s: %s: %w", leg, p.Symbol, qty, errTooSmall)
	}
	q, err := e.quote(ctx, req.Venue, p.Symbol)
	if err != nil {
		return pair.OrderIntent{}, err
	}
	ref := q.Ask
	if req.Side == exchange.Sell {
		ref = q.Bid
	}
	if req.Type == exchange.LimitIOC {
		allow := e.cfg.IOCSlippage.Mul(decimal.NewFromInt(int64(max(aggression, 1))))
		if req.Side == exchange.Buy {
			req.Price = exchange.CeilToStep(ref.Mul(decimal.NewFromInt(1).Add(allow)), in.TickSize)
		} else {
			req.Price = exchange.FloorToStep(ref.Mul(decimal.NewFromInt(1).Sub(allow)), in.TickSize)
		}
	}
	if err := exchange.CheckFilters(in, req, ref); err != nil {
		return pair.OrderIntent{}, err
	}
	if e.preTrade != nil {
		if err := e.preTrade(ctx, req, ref, !grow); err != nil {
			return pair.OrderIntent{}, err
		}
	}
	return pair.OrderIntent{OrderRequest: req, Leg: leg, Purpose: purpose}, nil
}

// planToward builds a normal round moving both legs toward the goal. If both legs must move but one cannot,
// neither is sent (sending one alone would unhedge the pair); the refusal is returned.
func (e *Executor) planToward(ctx context.Context, p *pair.Pair, m Market, g goal, round int) ([]pair.OrderIntent, error) {
	type move struct {
		leg   pair.Leg
		delta decimal.Decimal
		step  decimal.Decimal
	}
	moves := []move{{pair.LegSpot, g.target.Sub(p.SpotQty), m.Spot.StepSize}, {pair.LegPerp, g.target.Sub(p.PerpQty), m.Perp.StepSize}}
	var orders []pair.OrderIntent
	var refusal error
	for _, mv := range moves {
		if mv.delta.Abs().LessThan(mv.step) {
			continue
		}
		o, err := e.legOrder(ctx, p, m, mv.leg, mv.delta.IsPositive(), mv.delta.Abs(), round, g.intent)
		if err != nil {
			refusal = err
			continue
		}
		orders = append(orders, o)
	}
	if refusal != nil {
		// Never send a single leg of a two-legged move.
		needBoth := !moves[0].delta.Abs().LessThan(moves[0].step) && !moves[1].delta.Abs().LessThan(moves[1].step)
		if needBoth || len(orders) == 0 {
			return nil, refusal
		}
	}
	return orders, nil
}

// planRepair builds one order that levels the legs. For an open (or hedge) the lagging leg is completed,
// unless completing cannot work — it was refused for funds, filters or risk, repeated attempts failed, or
// the order is invalid — in which case the leading leg is unwound to the lagging one. For a close the larger
// leg is reduced, more aggressively each round.
func (e *Executor) planRepair(ctx context.Context, p *pair.Pair, m Market, g goal, last map[pair.Leg]legResult, repairs int) []pair.OrderIntent {
	diff := p.SpotQty.Sub(p.PerpQty)
	larger, smaller := pair.LegSpot, pair.LegPerp
	if diff.IsNegative() {
		larger, smaller = pair.LegPerp, pair.LegSpot
	}
	gap := diff.Abs()
	growing := g.intent == pair.IntentOpen || g.intent == pair.IntentHedge
	if growing {
		if !hopeless(last[smaller]) && repairs <= e.cfg.MaxRepairAttempts {
			if o, err := e.legOrder(ctx, p, m, smaller, true, gap, repairs, pair.IntentHedge); err == nil {
				return []pair.OrderIntent{o}
			} else {
				e.log.Info().Int64("pair", p.ID).Err(err).Msg("completing the lagging leg is not possible; unwinding the leading one")
			}
		}
	}
	// Shrink the larger leg: level with the smaller one, or for a close or reduce all the way to the goal
	// when the smaller leg is below the larger's lot step (dust that cannot be matched).
	shrink := gap
	if !growing {
		largerQty, smallerQty, largerStep := p.PerpQty, p.SpotQty, m.Perp.StepSize
		if larger == pair.LegSpot {
			largerQty, smallerQty, largerStep = p.SpotQty, p.PerpQty, m.Spot.StepSize
		}
		shrink = largerQty.Sub(decimal.Max(g.target, exchange.FloorToStep(smallerQty, largerStep)))
	}
	o, err := e.legOrder(ctx, p, m, larger, false, shrink, repairs, pair.IntentHedge)
	if err != nil {
		e.log.Error().Int64("pair", p.ID).Err(err).Msg("no repair order can be built")
		return nil
	}
	return []pair.OrderIntent{o}
}

// hopeless: a definite refusal that retrying the same order will not fix.
func hopeless(r legResult) bool {
	if r.outcome != outRejected {
		return false
	}
	switch r.rejectKind() {
	case exchange.RejectInsufficient, exchange.RejectFilter, exchange.RejectRisk:
		return true
	}
	return false
}

// planFlatten builds orders closing both legs entirely.
func (e *Executor) planFlatten(ctx context.Context, p *pair.Pair, m Market) []pair.OrderIntent {
	var orders []pair.OrderIntent
	for _, leg := range []struct {
		leg pair.Leg
		qty decimal.Decimal
	}{{pair.LegSpot, p.SpotQty}, {pair.LegPerp, p.PerpQty}} {
		o, err := e.legOrder(ctx, p, m, leg.leg, false, leg.qty, e.cfg.MaxRepairAttempts+1, pair.IntentClose)
		if err != nil {
			if !errors.Is(err, errTooSmall) {
				e.log.Error().Int64("pair", p.ID).Str("leg", string(leg.leg)).Err(err).Msg("cannot build a flatten order")
			}
			continue
		}
		orders = append(orders, o)
	}
	return orders
}
