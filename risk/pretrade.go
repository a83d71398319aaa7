package risk

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Origin says who issues an order.
type Origin string

// Origins. A halted account still accepts exposure-reducing orders from risk (the ladder's flatten) and
// from an operator (a CLI flatten); nothing from the strategy.
const (
	OriginStrategy Origin = "strategy"
	OriginRisk     Origin = "risk"
	OriginOperator Origin = "operator"
)

// Exposure is one symbol's legs for the pre-trade checks.
type Exposure struct {
	Spot     decimal.Decimal // signed base of the spot leg: + held (carry), − sold and owed (reverse)
	Perp     decimal.Decimal // signed perp position
	Price    decimal.Decimal // the price that values both legs (mark or mid)
	Leverage int             // the symbol's futures leverage setting; 0 when unknown
}

// notional is the symbol's exposure: the larger leg's value (a hedged pair counts once).
func (e Exposure) notional() decimal.Decimal {
	return decimal.Max(e.Spot.Abs(), e.Perp.Abs()).Mul(e.Price)
}

// Book is what the pre-trade checks need to know about the account, kept current by the engine.
type Book struct {
	State                State
	SpotFree             map[string]decimal.Decimal // free spot wallet balances by asset
	MarginFree           map[string]decimal.Decimal // free cross-margin balances by asset
	FuturesAvailable     decimal.Decimal            // futures available balance: what new initial margin can use
	FuturesMarginBalance decimal.Decimal            // futures wallet + unrealised PnL: the base of the effective leverage
	Symbols              map[string]Exposure
}

// OrderCheck is an order about to be sent, with what the checks need besides the book.
type OrderCheck struct {
	Order      exchange.OrderRequest
	Instrument exchange.Instrument // the order's market (a margin order uses the spot instrument)
	// Price is the reference price: the touch on the order's side for a market order. A limit order's own
	// price is used instead when set.
	Price  decimal.Decimal
	Origin Origin
}

// PreTrade checks an order before it is sent: the trading state, the instrument's filters, the minimum
// notional (reduce-only futures orders are exempt), the free balance (spot quote for buys, base for sells),
// the available futures margin for the initial margin (notional ÷ leverage), the maximum leverage, and the
// maximum notional per symbol and in total. Limits on size only refuse orders that grow the exposure. A
// refusal is a *exchange.RejectError of kind RejectRisk whose reason names the limit and the numbers.
func (r *Rules) PreTrade(b *Book, c OrderCheck) error {
	o := c.Order
	px := c.Price
	if o.Price.IsPositive() {
		px = o.Price
	}
	if !px.IsPositive() {
		return refuse("price: no reference price to check %s %s %s %s against", o.Venue, o.Symbol, o.Side, num(o.Qty))
	}
	e := b.Symbols[o.Symbol]
	before, after := legOf(e, o.Venue), legOf(e, o.Venue).Add(signed(o))
	reduces := after.Abs().LessThan(before.Abs()) && after.Sign()*before.Sign() >= 0
	legWord := "spot leg"
	if o.Venue == exchange.Futures {
		legWord = "perp position"
	}
	change := fmt.Sprintf("this %s %s on %s %s would take the %s from %s to %s", o.Side, num(o.Qty), o.Venue, o.Symbol, legWord, num(before), num(after))

	switch b.State {
	case Reducing:
		if !reduces {
			return refuse("trading_state: the account is reducing: only exposure-reducing orders are allowed; %s", change)
		}
	case Halted:
		if !reduces || c.Origin == OriginStrategy || c.Origin == "" {
			return refuse("trading_state: the account is halted: only exposure-reducing orders from risk or an operator are allowed; %s (origin %s)", change, originName(c.Origin))
		}
	case Active:
	default:
		return refuse("trading_state: unknown state %q", b.State)
	}
	if o.Venue == exchange.Futures && o.ReduceOnly && !reduces {
		return refuse("reduce_only: %s", change)
	}

	in := c.Instrument
	noMin := in
	noMin.MinNotional = decimal.Zero
	if err := exchange.CheckFilters(noMin, o, px); err != nil {
		return refuse("filters: %s", reason(err))
	}
	if err := exchange.CheckMinNotional(in, o.Qty, px, o.ReduceOnly, o.Type); err != nil {
		return refuse("min_notional: %s", reason(err))
	}

	if err := r.balance(b, c, in, px); err != nil {
		return err
	}
	if o.Venue == exchange.Futures && !reduces {
		if err := r.futuresMargin(b, c, before, after, px); err != nil {
			return err
		}
	}

	// Size limits refuse only orders that grow the exposure.
	ne := e
	setLeg(&ne, o.Venue, after)
	if !ne.Price.IsPositive() {
		ne.Price = px
	}
	symBefore, symAfter := e.notional(), ne.notional()
	if !e.Price.IsPositive() {
		symBefore = decimal.Max(e.Spot.Abs(), e.Perp.Abs()).Mul(px)
	}
	if symAfter.GreaterThan(symBefore) {
		if lim := r.cfg.MaxNotionalPerSymbol; symAfter.GreaterThan(lim) {
			return refuse("max_notional_per_symbol: %s %s after this order > limit %s", o.Symbol, money(symAfter), num(lim))
		}
		total := symAfter
		for s, x := range b.Symbols {
			if s != o.Symbol {
				total = total.Add(x.notional())
			}
		}
		if lim := r.cfg.MaxNotionalTotal; total.GreaterThan(lim) {
			return refuse("max_notional_total: %s after this order > limit %s", money(total), num(lim))
		}
	}
	return nil
}

// balance checks the wallet the order draws on has the funds.
func (r *Rules) balance(b *Book, c OrderCheck, in exchange.Instrument, px decimal.Decimal) error {
	o := c.Order
	quote, base := in.Quote, in.Base
	if quote == "" {
		quote = r.quote
	}
	var free map[string]decimal.Decimal
	switch o.Venue {
	case exchange.Spot:
		free = b.SpotFree
	case exchange.Margin:
		free = b.MarginFree
		if o.SideEffect == exchange.AutoBorrow || o.SideEffect == exchange.BorrowRepay {
			return nil // the loan funds it; the venue's borrow limit is checked when borrowing
		}
	default:
		return nil
	}
	if o.Side == exchange.Buy {
		need := o.Qty.Mul(px)
		if have := free[quote]; need.GreaterThan(have) {
			return refuse("balance: buying %s %s needs %s %s, only %s is free in %s", num(o.Qty), o.Symbol, money(need), quote, money(have), o.Venue)
		}
		return nil
	}
	if have := free[base]; o.Qty.GreaterThan(have) {
		return refuse("balance: selling %s %s needs %s %s, only %s is free in %s", num(o.Qty), o.Symbol, num(o.Qty), base, num(have), o.Venue)
	}
	return nil
}

// futuresMargin checks an order that grows a perp position: the symbol's leverage setting and the account's
// effective leverage against max_leverage, and the initial margin against the available balance.
func (r *Rules) futuresMargin(b *Book, c OrderCheck, before, after, px decimal.Decimal) error {
	o := c.Order
	e := b.Symbols[o.Symbol]
	if e.Leverage <= 0 {
		return refuse("max_leverage: the futures leverage of %s is unknown; set the symbol up before trading it", o.Symbol)
	}
	if e.Leverage > r.cfg.MaxLeverage {
		return refuse("max_leverage: %s is set to %dx > limit %dx", o.Symbol, e.Leverage, r.cfg.MaxLeverage)
	}
	// The part of the order that opens exposure (beyond zero when it flips the position).
	grow := after.Abs()
	if after.Sign()*before.Sign() > 0 {
		grow = after.Abs().Sub(before.Abs())
	}
	im := grow.Mul(px).DivRound(decimal.NewFromInt(int64(e.Leverage)), 8)
	if im.GreaterThan(b.FuturesAvailable) {
		return refuse("futures_margin: %s %s at %dx needs initial margin %s, only %s is available", num(grow), o.Symbol, e.Leverage, money(im), money(b.FuturesAvailable))
	}
	total := after.Abs().Mul(px)
	for s, x := range b.Symbols {
		if s != o.Symbol {
			total = total.Add(x.Perp.Abs().Mul(x.Price))
		}
	}
	limit := decimal.NewFromInt(int64(r.cfg.MaxLeverage))
	if !b.FuturesMarginBalance.IsPositive() {
		return refuse("max_leverage: futures notional %s after this order with no futures margin balance", money(total))
	}
	if lev := total.DivRound(b.FuturesMarginBalance, 4); lev.GreaterThan(limit) {
		return refuse("max_leverage: futures notional %s after this order is %sx the margin balance %s > limit %dx",
			money(total), lev.StringFixed(2), money(b.FuturesMarginBalance), r.cfg.MaxLeverage)
	}
	return nil
}

func legOf(e Exposure, v exchange.Venue) decimal.Decimal {
	if v == exchange.Futures {
		return e.Perp
	}
	return e.Spot
}

func setLeg(e *Exposure, v exchange.Venue, q decimal.Decimal) {
	if v == exchange.Futures {
		e.Perp = q
	} else {
		e.Spot = q
	}
}

// signed is the order's change to its leg: + for buys, − for sells.
func signed(o exchange.OrderRequest) decimal.Decimal {
	if o.Side == exchange.Sell {
		return o.Qty.Neg()
	}
	return o.Qty
}

func originName(o Origin) string {
	if o == "" {
		return string(OriginStrategy)
	}
	return string(o)
}

// reason is a filter error's text without the rejection wrapper.
func reason(err error) string {
	if re, ok := err.(*exchange.RejectError); ok {
		return re.Reason
	}
	return err.Error()
}

// refuse is a pre-trade refusal.
func refuse(format string, args ...any) error {
	return exchange.Rejected(exchange.RejectRisk, 0, format, args...)
}
