package executor

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// Recovery is what Recover found and did.
type Recovery struct {
	Resumed []int64 // pairs driven to a resting state
	Halted  []int64 // pairs left (or put) halted for an operator
	// Blocked symbols: the venue holds a position no pair explains; nothing opens there until it is resolved.
	Blocked map[string]string
}

// Recover reconciles every live pair against the venue before anything new is opened: wallet moves and
// orders whose answers were lost are resolved (orders by client id), fills are recorded, quantities are
// recomputed from the fills, and each pair is resumed toward its committed intent. Finally the venue's
// positions are compared with the pairs: a position no pair explains blocks its symbol, and a pair the
// venue contradicts is halted.
func (e *Executor) Recover(ctx context.Context) (Recovery, error) {
	rec := Recovery{Blocked: map[string]string{}}
	if err := e.resolveTransfers(ctx); err != nil {
		return rec, fmt.Errorf("recovery: resolving transfers: %w", err)
	}
	pairs, err := e.j.LivePairs(ctx, e.account.ID)
	if err != nil {
		return rec, fmt.Errorf("recovery: %w", err)
	}
	for i := range pairs {
		p := &pairs[i]
		if err := e.reconcileOrders(ctx, p); err != nil {
			return rec, fmt.Errorf("recovery of pair %d: %w", p.ID, err)
		}
		if err := e.resume(ctx, p); err != nil && !isHalted(err) {
			return rec, fmt.Errorf("recovery of pair %d: %w", p.ID, err)
		}
		if p.State == pair.Halted {
			rec.Halted = append(rec.Halted, p.ID)
		} else {
			rec.Resumed = append(rec.Resumed, p.ID)
		}
	}
	if err := e.checkVenue(ctx, &rec); err != nil {
		return rec, fmt.Errorf("recovery: comparing pairs with the venue: %w", err)
	}
	return rec, nil
}

// reconcileOrders asks the venue about every order of the pair whose outcome was never recorded.
func (e *Executor) reconcileOrders(ctx context.Context, p *pair.Pair) error {
	orders, err := e.j.PairOrders(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, o := range orders {
		if o.Resolved() {
			continue
		}
		r := legResult{intent: o.OrderIntent, sentAt: o.CreatedAt}
		e.resolve(ctx, &r)
		if r.outcome == outUnknown {
			return fmt.Errorf("order %s: the venue does not say what became of it: %v", o.ClientID, r.err)
		}
		e.log.Info().Int64("pair", p.ID).Str("client_id", o.ClientID).Str("outcome", r.outcome.String()).Msg("recovered order outcome")
		if err := e.record(ctx, p, []legResult{r}); err != nil {
			return err
		}
	}
	return nil
}

// resume drives a recovered pair to a resting state according to its committed intent.
func (e *Executor) resume(ctx context.Context, p *pair.Pair) error {
	m, err := e.market(p.Symbol)
	if err != nil {
		return e.halt(ctx, p, "no instruments for the symbol at restart: "+err.Error())
	}
	if err := e.refresh(ctx, p, m); err != nil {
		return err
	}
	reason := "resumed after restart"
	switch p.State {
	case pair.Halted:
		return nil
	case pair.Pending:
		// Nothing was committed to be sent; the decision is stale.
		next := *p
		next.State = pair.Closed
		return e.commit(ctx, p, next, nil, "abandoned at restart before any order was sent")
	case pair.Open:
		if isLevel(p, m) {
			return nil
		}
		return e.drive(ctx, p, goal{intent: pair.IntentHedge, target: p.TargetQty, reason: "legs differ at restart"})
	default: // opening, closing, repairing: finish what was committed
		intent := p.Intent
		target := p.TargetQty
		if intent == pair.IntentClose {
			target = decimal.Zero
		}
		return e.drive(ctx, p, goal{intent: intent, target: target, reason: reason})
	}
}

// checkVenue compares the venue's perp positions and spot balances with what the live pairs hold.
func (e *Executor) checkVenue(ctx context.Context, rec *Recovery) error {
	pairs, err := e.j.LivePairs(ctx, e.account.ID)
	if err != nil {
		return err
	}
	bySymbol := map[string]*pair.Pair{}
	for i := range pairs {
		bySymbol[pairs[i].Symbol] = &pairs[i]
	}
	positions, err := e.venue.Positions(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, pos := range positions {
		seen[pos.Symbol] = true
		m, known := e.markets[pos.Symbol]
		step := decimal.New(1, -8)
		if known {
			step = m.Perp.StepSize
		}
		want := decimal.Zero
		p := bySymbol[pos.Symbol]
		if p != nil {
			want = p.PerpQty
			if p.Direction == pair.Carry {
				want = want.Neg()
			}
		}
		if pos.Qty.Sub(want).Abs().LessThan(step) {
			continue
		}
		msg := fmt.Sprintf("the venue holds a %s perp position of %s; the pairs explain %s", pos.Symbol, pos.Qty, want)
		if p != nil && p.State != pair.Halted {
			if err := e.halt(ctx, p, msg); err != nil && !isHalted(err) {
				return err
			}
			rec.Halted = append(rec.Halted, p.ID)
			continue
		}
		if p == nil {
			rec.Blocked[pos.Symbol] = msg
			e.alert(Alert{Severity: "critical", Kind: "unexplained_position", Symbol: pos.Symbol, Message: msg + "; the symbol is blocked until an operator resolves it"})
		}
	}
	// A pair whose perp leg the venue does not hold at all.
	for sym, p := range bySymbol {
		m, ok := e.markets[sym]
		if seen[sym] || p.State == pair.Halted || !ok || p.PerpQty.LessThan(m.Perp.StepSize) {
			continue
		}
		if err := e.halt(ctx, p, fmt.Sprintf("the venue holds no %s perp position; the pair holds %s", sym, p.PerpQty)); err != nil && !isHalted(err) {
			return err
		}
		rec.Halted = append(rec.Halted, p.ID)
	}
	return e.checkSpot(ctx, pairs, rec)
}

// checkSpot halts carry pairs whose spot leg the spot wallet no longer holds (extra spot is the owner's).
func (e *Executor) checkSpot(ctx context.Context, pairs []pair.Pair, rec *Recovery) error {
	need := map[string]decimal.Decimal{}
	owner := map[string]*pair.Pair{}
	for i := range pairs {
		p := &pairs[i]
		m, ok := e.markets[p.Symbol]
		if !ok || p.Direction != pair.Carry || p.State == pair.Halted {
			continue
		}
		need[m.Spot.Base] = need[m.Spot.Base].Add(p.SpotQty)
		owner[m.Spot.Base] = p
	}
	if len(need) == 0 {
		return nil
	}
	bals, err := e.venue.Balances(ctx, exchange.Spot)
	if err != nil {
		return err
	}
	have := map[string]decimal.Decimal{}
	for _, b := range bals {
		have[b.Asset] = b.Total()
	}
	for asset, n := range need {
		p := owner[asset]
		m := e.markets[p.Symbol]
		if have[asset].Add(m.Spot.StepSize).LessThan(n) {
			if err := e.halt(ctx, p, fmt.Sprintf("the spot wallet holds %s %s; the pairs need %s", have[asset], asset, n)); err != nil && !isHalted(err) {
				return err
			}
			rec.Halted = append(rec.Halted, p.ID)
		}
	}
	return nil
}
