package executor

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// SizeFor returns the pair quantity capital c buys at leverage L: spot notional c·L/(L+1) at the current
// spot touch, on the coarser lot step, checked against both legs' minimums.
func (e *Executor) SizeFor(ctx context.Context, symbol string, dir pair.Direction, capital decimal.Decimal) (decimal.Decimal, error) {
	m, err := e.market(symbol)
	if err != nil {
		return decimal.Zero, err
	}
	q, err := e.quote(ctx, exchange.Spot, symbol)
	if err != nil {
		return decimal.Zero, err
	}
	price := q.Ask
	if dir == pair.Reverse {
		price = q.Bid
	}
	l := decimal.NewFromInt(int64(max(e.cfg.Leverage, 1)))
	notional := capital.Mul(l).DivRound(l.Add(decimal.NewFromInt(1)), 8)
	return exchange.PairQuantity(notional.DivRound(price, 12), m.Spot, m.Perp, price)
}

// Open creates a pair of qty on symbol and drives it open. The futures margin it needs is moved from the
// spot wallet first (write-ahead, like orders). The returned pair is in its final state: open, closed
// (refused or nothing filled) or halted (ErrHalted).
func (e *Executor) Open(ctx context.Context, symbol string, dir pair.Direction, qty decimal.Decimal, reason string) (pair.Pair, error) {
	m, err := e.market(symbol)
	if err != nil {
		return pair.Pair{}, err
	}
	p, err := e.j.CreatePair(ctx, pair.Pair{AccountID: e.account.ID, Symbol: symbol, Direction: dir, State: pair.Pending,
		Intent: pair.IntentOpen, TargetQty: qty, Reason: reason, CreatedAt: e.clock.Now()})
	if err != nil {
		return pair.Pair{}, fmt.Errorf("opening %s %s: %w", dir, symbol, err)
	}
	e.log.Info().Int64("pair", p.ID).Str("symbol", symbol).Str("direction", string(dir)).Str("qty", qty.String()).Str("reason", reason).Msg("opening pair")
	if err := e.ensureMargin(ctx, &p, m, qty); err != nil {
		next := p
		next.State = pair.Closed
		if cerr := e.commit(ctx, &p, next, nil, "not opened: "+err.Error()); cerr != nil {
			return p, cerr
		}
		return p, nil
	}
	err = e.drive(ctx, &p, goal{intent: pair.IntentOpen, target: qty, reason: reason})
	return p, err
}

// Close drives an open (or halted) pair to flat.
func (e *Executor) Close(ctx context.Context, pairID int64, reason string) (pair.Pair, error) {
	p, err := e.j.GetPair(ctx, pairID)
	if err != nil {
		return p, err
	}
	switch p.State {
	case pair.Open, pair.Halted:
	default:
		return p, fmt.Errorf("pair %d is %s; only an open or halted pair can be closed", p.ID, p.State)
	}
	err = e.drive(ctx, &p, goal{intent: pair.IntentClose, target: decimal.Zero, reason: reason})
	return p, err
}

// Reduce shrinks an open pair's both legs to target (deleverage, a slice of an unwind).
func (e *Executor) Reduce(ctx context.Context, pairID int64, target decimal.Decimal, reason string) (pair.Pair, error) {
	p, err := e.j.GetPair(ctx, pairID)
	if err != nil {
		return p, err
	}
	if p.State != pair.Open {
		return p, fmt.Errorf("pair %d is %s; only an open pair can be reduced", p.ID, p.State)
	}
	m, err := e.market(p.Symbol)
	if err != nil {
		return p, err
	}
	target = exchange.FloorToStep(target, m.LotStep())
	if target.GreaterThanOrEqual(p.PerpQty) {
		return p, nil
	}
	intent := pair.IntentReduce
	if target.IsZero() {
		intent = pair.IntentClose
	}
	err = e.drive(ctx, &p, goal{intent: intent, target: target, reason: reason})
	return p, err
}

// Hedge levels an open pair whose legs drifted apart by a lot step or more.
func (e *Executor) Hedge(ctx context.Context, pairID int64, reason string) (pair.Pair, error) {
	p, err := e.j.GetPair(ctx, pairID)
	if err != nil {
		return p, err
	}
	if p.State != pair.Open {
		return p, fmt.Errorf("pair %d is %s; only an open pair can be re-hedged", p.ID, p.State)
	}
	err = e.drive(ctx, &p, goal{intent: pair.IntentHedge, target: p.TargetQty, reason: reason})
	return p, err
}

// Adjust sends one corrective order on one leg of an open pair (risk's hedge-drift correction, for a drift
// beyond the band that is at least one lot step), committed like every other round.
func (e *Executor) Adjust(ctx context.Context, pairID int64, leg pair.Leg, grow bool, qty decimal.Decimal, reason string) (pair.Pair, error) {
	p, err := e.j.GetPair(ctx, pairID)
	if err != nil {
		return p, err
	}
	if p.State != pair.Open {
		return p, fmt.Errorf("pair %d is %s; only an open pair can be adjusted", p.ID, p.State)
	}
	m, err := e.market(p.Symbol)
	if err != nil {
		return p, err
	}
	g := goal{intent: pair.IntentHedge, target: p.TargetQty, reason: reason}
	o, err := e.legOrder(ctx, &p, m, leg, grow, qty, 1, pair.IntentHedge)
	if err != nil {
		return p, fmt.Errorf("pair %d: corrective order: %w", p.ID, err)
	}
	if _, err := e.round(ctx, &p, pair.Repairing, g, []pair.OrderIntent{o}, "hedge"); err != nil {
		return p, err
	}
	err = e.drive(ctx, &p, g)
	return p, err
}

// Halt stops a pair for an operator, without trading.
func (e *Executor) Halt(ctx context.Context, pairID int64, reason string) (pair.Pair, error) {
	p, err := e.j.GetPair(ctx, pairID)
	if err != nil {
		return p, err
	}
	if p.State == pair.Closed || p.State == pair.Halted {
		return p, nil
	}
	err = e.halt(ctx, &p, reason)
	if err != nil && !isHalted(err) {
		return p, err
	}
	return p, nil
}

// Resume takes a halted pair back: re-levelled and open if it holds a position, closed if flat.
func (e *Executor) Resume(ctx context.Context, pairID int64, reason string) (pair.Pair, error) {
	p, err := e.j.GetPair(ctx, pairID)
	if err != nil {
		return p, err
	}
	if p.State != pair.Halted {
		return p, fmt.Errorf("pair %d is %s, not halted", p.ID, p.State)
	}
	m, err := e.market(p.Symbol)
	if err != nil {
		return p, err
	}
	if err := e.refresh(ctx, &p, m); err != nil {
		return p, err
	}
	if isLevel(&p, m) {
		err = e.finish(ctx, &p, m, goal{intent: pair.IntentOpen, target: p.PerpQty, reason: reason})
		return p, err
	}
	// The first repair round leaves halted (halted → repairing), carrying its orders.
	err = e.drive(ctx, &p, goal{intent: pair.IntentHedge, target: decimal.Max(p.SpotQty, p.PerpQty), reason: reason})
	return p, err
}

// Reconcile brings a pair's record in line with what the venue did to its perp leg on its own — a
// liquidation (autoclose-… orders), an auto-deleverage, a trade made by hand: futures trades of the symbol
// since the pair was created that carry has not recorded are adopted as the pair's fills. If the legs are
// then uneven, the rest is closed: a perp leg the venue took away must not leave a naked spot leg. Spot
// trades are not adopted: the spot wallet also holds the owner's own assets.
func (e *Executor) Reconcile(ctx context.Context, pairID int64, why string) (pair.Pair, error) {
	p, err := e.j.GetPair(ctx, pairID)
	if err != nil {
		return p, err
	}
	m, err := e.market(p.Symbol)
	if err != nil {
		return p, err
	}
	trades, err := e.venue.Trades(ctx, exchange.Futures, p.Symbol, p.CreatedAt)
	if err != nil {
		return p, fmt.Errorf("pair %d: reading the venue's %s trades: %w", p.ID, p.Symbol, err)
	}
	if p.Direction == pair.Reverse {
		// The cross-margin wallet is carry's too: a margin liquidation buys the borrowed asset back there.
		mt, err := e.venue.Trades(ctx, exchange.Margin, p.Symbol, p.CreatedAt)
		if err != nil {
			return p, fmt.Errorf("pair %d: reading the venue's %s margin trades: %w", p.ID, p.Symbol, err)
		}
		trades = append(trades, mt...)
	}
	// Every trade is offered to the journal; only those it did not hold (unique per venue, symbol and trade
	// id, whichever pair recorded them) are new: those are adopted.
	adoptedTrades, err := e.j.InsertFills(ctx, e.account.ID, p.ID, trades)
	if err != nil {
		return p, fmt.Errorf("pair %d: adopting the venue's trades: %w", p.ID, err)
	}
	adopted := decimal.Zero
	for _, t := range adoptedTrades {
		adopted = adopted.Add(t.Qty)
		e.log.Warn().Int64("pair", p.ID).Str("venue", string(t.Venue)).Str("trade", t.TradeID).Str("client_id", t.ClientID).
			Str("side", string(t.Side)).Str("qty", t.Qty.String()).Str("price", t.Price.String()).Msg("adopted a trade carry did not place")
	}
	if err := e.refresh(ctx, &p, m); err != nil {
		return p, err
	}
	if adopted.IsZero() || isLevel(&p, m) {
		return p, nil
	}
	msg := fmt.Sprintf("pair %d %s: the venue traded %s of the perp on its own (%s); spot %s, perp %s now: closing the rest", p.ID, p.Symbol, adopted, why, p.SpotQty, p.PerpQty)
	e.alert(Alert{Severity: "critical", Kind: "liquidation", Symbol: p.Symbol, PairID: p.ID, Message: msg})
	if p.State != pair.Open && p.State != pair.Halted {
		return p, e.halt(ctx, &p, msg)
	}
	err = e.drive(ctx, &p, goal{intent: pair.IntentClose, target: decimal.Zero, reason: msg})
	return p, err
}
