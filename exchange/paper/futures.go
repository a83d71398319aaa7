package paper

import (
	"context"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// position is a USDⓈ-M position in one-way mode. cost is the signed entry notional (qty × entry price): it is
// reduced in proportion on a partial close, so the realized PnL of a round trip is exact.
type position struct {
	symbol      string
	leverage    int
	isolated    bool
	qty         decimal.Decimal // signed: positive long, negative short
	cost        decimal.Decimal // signed entry notional
	isoWallet   decimal.Decimal // isolated margin (isolated only)
	reserved    decimal.Decimal // margin reserved by resting orders that would open exposure
	openedAt    time.Time
	updated     time.Time
	lastFunding time.Time // the last settlement paid

	// Liquidation screening, refreshed on every state change (see afterChange).
	isOpen  bool
	trig    decimal.Decimal // liquidation price to compare the mark with
	trigF   float64
	hasTrig bool
	qtyF    float64
	costF   float64
}

// position returns the symbol's position record, creating it with the default leverage (cross margin).
func (v *Venue) position(symbol string) *position {
	p, ok := v.st.positions[symbol]
	if !ok {
		p = &position{symbol: symbol, leverage: v.cfg.DefaultLeverage}
		v.st.positions[symbol] = p
		v.perpState(symbol).pos = p
	}
	return p
}

// trade applies a signed fill to the position: it increases it (cost grows by qty × price), or reduces it
// (realized = closed qty × price − the closed share of the cost), or flips it. closed and opened are the
// absolute quantities that reduced and increased exposure.
func (p *position) trade(signed, price decimal.Decimal, at time.Time) (realized, closed, opened decimal.Decimal) {
	p.updated = at
	if p.qty.IsZero() || p.qty.Sign() == signed.Sign() {
		if p.qty.IsZero() {
			p.openedAt = at
		}
		p.qty = p.qty.Add(signed)
		p.cost = p.cost.Add(signed.Mul(price))
		return decimal.Zero, decimal.Zero, signed.Abs()
	}
	held := p.qty.Abs()
	closed = decimal.Min(signed.Abs(), held)
	closedSigned := closed
	if p.qty.IsNegative() {
		closedSigned = closed.Neg()
	}
	costClosed := p.cost
	if closed.LessThan(held) {
		costClosed = p.cost.Mul(closed).DivRound(held, 16)
	}
	realized = closedSigned.Mul(price).Sub(costClosed)
	p.qty = p.qty.Sub(closedSigned)
	p.cost = p.cost.Sub(costClosed)
	if rest := signed.Abs().Sub(closed); rest.IsPositive() {
		p.qty = rest
		if signed.IsNegative() {
			p.qty = rest.Neg()
		}
		p.cost = p.qty.Mul(price)
		p.openedAt = at
		opened = rest
	}
	if p.qty.IsZero() {
		p.cost = decimal.Zero
	}
	return realized, closed, opened
}

// entry is the average entry price.
func (p *position) entry() decimal.Decimal {
	if p.qty.IsZero() {
		return decimal.Zero
	}
	return p.cost.Abs().DivRound(p.qty.Abs(), 12)
}

func (p *position) unrealized(mark decimal.Decimal) decimal.Decimal {
	return p.qty.Mul(mark).Sub(p.cost)
}

// markOf is the price positions are valued at: the last mark, else the futures mid, else the entry price.
func (v *Venue) markOf(p *position) decimal.Decimal {
	if ps := v.perps[p.symbol]; ps != nil && ps.hasMark && ps.mark.IsPositive() {
		return ps.mark
	}
	if m := v.markets[mkey{exchange.Futures, p.symbol}]; m != nil && m.has {
		return m.quote().Mid()
	}
	return p.entry()
}

// crossTotals sums the cross positions at their marks: unrealised PnL, maintenance margin, initial margin.
func (v *Venue) crossTotals(skip *position) (upnl, maint, initial decimal.Decimal, err error) {
	for _, p := range v.st.open {
		if p.isolated || p == skip {
			continue
		}
		mark := v.markOf(p)
		notional := p.qty.Abs().Mul(mark)
		mm, e := exchange.MaintenanceMargin(notional, v.brackets(p.symbol))
		if e != nil {
			return upnl, maint, initial, e
		}
		upnl = upnl.Add(p.unrealized(mark))
		maint = maint.Add(mm)
		initial = initial.Add(initialMargin(notional, p.leverage))
	}
	return upnl, maint, initial, nil
}

// reservedMargin is the margin held back by resting futures orders.
func (v *Venue) reservedMargin() decimal.Decimal {
	r := decimal.Zero
	for _, p := range v.st.positions {
		r = r.Add(p.reserved)
	}
	return r
}

// account is the cross margin account summary.
func (v *Venue) account() (exchange.FuturesAccount, error) {
	wallet := v.wallet(exchange.Futures, v.cfg.Quote).free
	upnl, maint, initial, err := v.crossTotals(nil)
	if err != nil {
		return exchange.FuturesAccount{}, err
	}
	mb := wallet.Add(upnl)
	return exchange.FuturesAccount{WalletBalance: wallet, UnrealizedPnL: upnl, MarginBalance: mb, MaintenanceMargin: maint,
		AvailableBalance: mb.Sub(initial).Sub(v.reservedMargin()), Time: v.clk.Now()}, nil
}

// FuturesAccount is the cross margin account: cross wallet balance, unrealised PnL and maintenance margin of
// the cross positions, and the balance available for new margin. Isolated positions carry their own wallet
// (Positions).
func (v *Venue) FuturesAccount(ctx context.Context) (exchange.FuturesAccount, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return exchange.FuturesAccount{}, v.brokenErr()
	}
	return v.account()
}

// liquidationPrice solves Binance's formula for p: with its isolated wallet, or with the cross wallet and the
// other cross positions' maintenance margin and unrealised PnL at their marks. Zero when none exists.
func (v *Venue) liquidationPrice(p *position) decimal.Decimal {
	in := exchange.LiquidationInput{Qty: p.qty, EntryPrice: p.entry(), Brackets: v.brackets(p.symbol)}
	if p.isolated {
		in.Wallet = p.isoWallet
	} else {
		in.Wallet = v.wallet(exchange.Futures, v.cfg.Quote).free
		upnl, maint, _, err := v.crossTotals(p)
		if err != nil {
			return decimal.Zero
		}
		in.OtherMaintenance, in.OtherUnrealized = maint, upnl
	}
	lp, err := exchange.LiquidationPrice(in)
	if err != nil {
		return decimal.Zero
	}
	return lp
}

// Positions lists the open positions by symbol, valued at the last mark, with Binance's liquidation price.
func (v *Venue) Positions(ctx context.Context) ([]exchange.Position, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return nil, v.brokenErr()
	}
	out := make([]exchange.Position, 0, len(v.st.open))
	for _, p := range v.st.open {
		mark := v.markOf(p)
		out = append(out, exchange.Position{Symbol: p.symbol, Qty: p.qty, EntryPrice: p.entry(), MarkPrice: mark,
			UnrealizedPnL: p.unrealized(mark), Leverage: p.leverage, Isolated: p.isolated, IsolatedWallet: p.isoWallet,
			LiquidationPrice: v.liquidationPrice(p), Time: p.updated})
	}
	return out, nil
}

// afterChange refreshes the derived state after any journaled change: the list of open positions and the
// liquidation triggers the mark is compared with. A lone cross position or an isolated one has a trigger
// price; with several cross positions each mark re-checks the margin ratio instead.
func (v *Venue) afterChange() {
	st := v.st
	st.open = st.open[:0]
	st.crossOpen = 0
	st.crossWalletF = v.free(exchange.Futures, v.cfg.Quote).InexactFloat64()
	for _, p := range st.positions {
		p.isOpen = !p.qty.IsZero()
		if p.isOpen {
			st.open = append(st.open, p)
			if !p.isolated {
				st.crossOpen++
			}
		}
	}
	sort.Slice(st.open, func(i, j int) bool { return st.open[i].symbol < st.open[j].symbol })
	for _, p := range st.open {
		p.qtyF, p.costF = p.qty.InexactFloat64(), p.cost.InexactFloat64()
		p.hasTrig = false
		if p.isolated || st.crossOpen == 1 {
			if lp := v.liquidationPrice(p); lp.IsPositive() {
				p.trig, p.trigF, p.hasTrig = lp, lp.InexactFloat64(), true
			}
		}
		if ps := v.perps[p.symbol]; ps != nil && ps.hasMark {
			ps.markF = ps.mark.InexactFloat64()
		}
	}
	v.refreshLoanNext()
}

// errNoMargin is the Binance -2019 rejection.
func errNoMargin(format string, args ...any) error {
	return exchange.Rejected(exchange.RejectInsufficient, -2019, "Margin is insufficient. "+format, args...)
}
