package paper

import (
	"context"
	"fmt"

	"github.com/carry-trading/carry/exchange"
)

// SetupSymbol sets a futures symbol's leverage and margin type (one-way mode is the only mode). Asking for
// what is already set succeeds without a change, like Binance's "no need to change" answers.
func (v *Venue) SetupSymbol(ctx context.Context, symbol string, leverage int, isolated bool) error {
	if _, ok := v.instruments[mkey{exchange.Futures, symbol}]; !ok {
		return exchange.Rejected(exchange.RejectOther, -1121, "Invalid symbol. (futures %s)", symbol)
	}
	maxLev := 0
	for _, b := range v.brackets(symbol) {
		maxLev = max(maxLev, b.MaxLeverage)
	}
	if leverage < 1 || (maxLev > 0 && leverage > maxLev) {
		return exchange.Rejected(exchange.RejectOther, -4028, "Leverage %d is not valid (1..%d).", leverage, maxLev)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return fmt.Errorf("paper setup of %s: %w", symbol, v.brokenErr())
	}
	cur := position{leverage: v.cfg.DefaultLeverage}
	if p := v.st.positions[symbol]; p != nil {
		cur = *p
	}
	if cur.leverage == leverage && cur.isolated == isolated {
		return nil
	}
	open := !cur.qty.IsZero() || len(v.st.resting[mkey{exchange.Futures, symbol}]) > 0
	if cur.isolated != isolated && open {
		return exchange.Rejected(exchange.RejectOther, -4048, "Margin type cannot be changed if there exists position or open orders. (%s)", symbol)
	}
	if !cur.qty.IsZero() && leverage != cur.leverage {
		if isolated && leverage < cur.leverage {
			return exchange.Rejected(exchange.RejectOther, -4161, "Leverage reduction is not supported in Isolated Margin Mode with open positions. (%s)", symbol)
		}
		b, err := exchange.BracketFor(v.brackets(symbol), cur.qty.Abs().Mul(v.markOf(&cur)))
		if err == nil && b.MaxLeverage > 0 && leverage > b.MaxLeverage {
			return exchange.Rejected(exchange.RejectOther, -2027, "Exceeded the maximum allowable position at current leverage. (%dx allows at most %dx)", leverage, b.MaxLeverage)
		}
	}
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(jctx, KindSetup, v.clk.Now(), &setupRec{Symbol: symbol, Leverage: leverage, Isolated: isolated}); err != nil {
		return fmt.Errorf("paper setup of %s: %w", symbol, err)
	}
	return nil
}

// applySetup sets leverage and margin type.
func (v *Venue) applySetup(r *setupRec) {
	p := v.position(r.Symbol)
	p.leverage, p.isolated = r.Leverage, r.Isolated
}
