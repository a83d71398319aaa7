package fakebinance

import (
	"fmt"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Order matching against the one-level books set with SetBook. Books are not depleted by fills: every
// order can take up to the displayed quantity at the touch. Taker orders (MARKET, LIMIT IOC) fill at the
// touch price; post-only orders (spot LIMIT_MAKER, futures GTX) that would take are rejected as Binance
// does, otherwise they rest and fill (as maker, at their price) when a later SetBook crosses them.
// Spot fees are charged in the asset received (base on buys), futures fees in USDT.

type orderReq struct {
	venue                          exchange.Venue
	symbol, side, typ, tif, client string
	qty, price                     decimal.Decimal
	reduceOnly                     bool
	partial                        *Fault
	sideEffect                     string // margin orders
}

func (st *state) place(req orderReq) (*order, error) {
	si := st.symbol(req.venue, req.symbol)
	if si == nil {
		return nil, errBadRequest(-1121, "Invalid symbol.")
	}
	if req.side != "BUY" && req.side != "SELL" {
		return nil, errBadRequest(-1100, "Illegal characters found in parameter 'side'.")
	}
	postOnly := false
	switch {
	case req.typ == "MARKET":
	case req.typ == "LIMIT" && (req.tif == "IOC" || req.tif == "GTC" || req.tif == "FOK"):
	case req.typ == "LIMIT" && req.tif == "GTX" && req.venue == exchange.Futures:
		postOnly = true
	case req.typ == "LIMIT_MAKER" && req.venue != exchange.Futures:
		postOnly = true
	default:
		return nil, errBadRequest(-1116, "Invalid orderType.")
	}
	if req.client == "" {
		req.client = fmt.Sprintf("fake-%d", st.nextID())
	}
	if o, ok := st.orders[orderKey{req.venue, req.symbol, req.client}]; ok && !o.final() {
		if req.venue == exchange.Futures {
			return nil, errBadRequest(-4116, "ClientOrderId is duplicated.")
		}
		return nil, errBadRequest(-2010, "Duplicate order sent.")
	}
	if err := st.checkFilters(si, req); err != nil {
		return nil, err
	}
	b := st.bookOf(req.venue, req.symbol)
	px, avail := b.ask, b.askQty
	crosses := req.typ == "MARKET" || req.price.GreaterThanOrEqual(b.ask)
	if req.side == "SELL" {
		px, avail = b.bid, b.bidQty
		crosses = req.typ == "MARKET" || req.price.LessThanOrEqual(b.bid)
	}
	if !px.IsPositive() {
		crosses = false
	}
	if postOnly && crosses {
		if req.venue == exchange.Futures {
			return nil, errBadRequest(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history")
		}
		return nil, errBadRequest(-2010, "Order would immediately match and take.")
	}
	fill := decimal.Zero
	if crosses {
		fill = decimal.Min(req.qty, avail)
		if req.partial != nil {
			fill = decimal.Min(fill, exchange.FloorToStep(req.qty.Mul(req.partial.Ratio), si.step))
		}
		if req.tif == "FOK" && fill.LessThan(req.qty) {
			fill = decimal.Zero
		}
	}
	rests := req.typ == "LIMIT_MAKER" || (req.typ == "LIMIT" && (req.tif == "GTC" || req.tif == "GTX"))
	if err := st.checkFunds(si, req, px, fill); err != nil {
		return nil, err
	}
	now := st.nowMS()
	o := &order{venue: req.venue, id: st.nextID(), client: req.client, symbol: req.symbol, side: req.side, typ: req.typ, tif: req.tif,
		qty: req.qty, price: req.price, status: "NEW", reduceOnly: req.reduceOnly, created: now, updated: now, sideEffect: req.sideEffect}
	if o.typ == "MARKET" {
		o.price = decimal.Zero
		o.tif = "GTC"
	}
	if o.typ == "LIMIT_MAKER" {
		o.tif = "GTC"
	}
	st.orders[orderKey{o.venue, o.symbol, o.client}] = o
	st.allOrders = append(st.allOrders, o)
	st.report(o, "NEW", nil)
	if fill.IsPositive() {
		st.fill(o, si, fill, px, false)
	}
	switch {
	case o.executed.Equal(o.qty):
		o.status = "FILLED"
	case rests:
		if o.executed.IsPositive() {
			o.status = "PARTIALLY_FILLED"
		}
		st.lock(o, si)
	default:
		o.status = "EXPIRED"
		st.report(o, "EXPIRED", nil)
	}
	st.accountUpdate(o.venue, si, "ORDER")
	return o, nil
}

func (st *state) checkFilters(si *symbolInfo, req orderReq) error {
	fut := req.venue == exchange.Futures
	if !req.qty.IsPositive() {
		if fut {
			return errBadRequest(-4003, "Quantity less than or equal to zero.")
		}
		return errBadRequest(-1013, "Filter failure: LOT_SIZE")
	}
	if !exchange.IsMultiple(req.qty, si.step) {
		if fut {
			return errBadRequest(-1111, "Precision is over the maximum defined for this asset.")
		}
		return errBadRequest(-1013, "Filter failure: LOT_SIZE")
	}
	if req.qty.LessThan(si.minQty) && !(fut && req.reduceOnly) {
		if fut {
			return errBadRequest(-4004, "Quantity less than min qty.")
		}
		return errBadRequest(-1013, "Filter failure: LOT_SIZE")
	}
	if si.maxQty.IsPositive() && req.qty.GreaterThan(si.maxQty) && req.typ != "MARKET" {
		if fut {
			return errBadRequest(-4005, "Quantity greater than max quantity.")
		}
		return errBadRequest(-1013, "Filter failure: LOT_SIZE")
	}
	ref := req.price
	if req.typ != "MARKET" {
		if !req.price.IsPositive() || !exchange.IsMultiple(req.price, si.tick) {
			if fut {
				return errBadRequest(-4014, "Price not increased by tick size.")
			}
			return errBadRequest(-1013, "Filter failure: PRICE_FILTER")
		}
	} else {
		b := st.bookOf(req.venue, req.symbol)
		ref = b.ask
		if req.side == "SELL" {
			ref = b.bid
		}
		if fut && !ref.IsPositive() {
			ref = st.markPrice(req.symbol)
		}
	}
	if si.minNotional.IsPositive() && ref.IsPositive() && req.qty.Mul(ref).LessThan(si.minNotional) {
		switch {
		case fut && !req.reduceOnly:
			return errBadRequest(-4164, "Order's notional must be no smaller than %s (unless you choose reduce only).", si.minNotional)
		case !fut && (req.typ != "MARKET" || si.notionalOnMarket):
			return errBadRequest(-1013, "Filter failure: NOTIONAL")
		}
	}
	return nil
}

func (st *state) checkFunds(si *symbolInfo, req orderReq, px, fill decimal.Decimal) error {
	if req.venue != exchange.Futures {
		w := st.walletOf(req.venue)
		if req.side == "BUY" {
			need := fill.Mul(px)
			if req.typ != "MARKET" {
				need = req.qty.Mul(req.price)
			}
			if st.bal(w, si.quote).free.LessThan(need) {
				return errBadRequest(-2010, "Account has insufficient balance for requested action.")
			}
		} else if st.bal(w, si.base).free.LessThan(req.qty) {
			return errBadRequest(-2010, "Account has insufficient balance for requested action.")
		}
		return nil
	}
	p := st.pos(req.symbol)
	sign := 1
	if req.side == "SELL" {
		sign = -1
	}
	if req.reduceOnly && (p.qty.IsZero() || p.qty.Sign() == sign || req.qty.GreaterThan(p.qty.Abs())) {
		return errBadRequest(-2022, "ReduceOnly Order is rejected.")
	}
	// Margin for the part that opens or increases the position.
	increase := req.qty
	if !p.qty.IsZero() && p.qty.Sign() != sign {
		increase = decimal.Max(decimal.Zero, req.qty.Sub(p.qty.Abs()))
	}
	ref := px
	if req.typ != "MARKET" {
		ref = req.price
	}
	if !ref.IsPositive() {
		ref = st.markPrice(req.symbol)
	}
	lev := decimal.NewFromInt(int64(st.config(req.symbol).leverage))
	need := increase.Mul(ref).Div(lev).Add(increase.Mul(ref).Mul(st.opts.FuturesTaker))
	if increase.IsPositive() && st.available().LessThan(need) {
		return errBadRequest(-2019, "Margin is insufficient.")
	}
	return nil
}

// fill executes qty of o at price (in SplitFills trades).
func (st *state) fill(o *order, si *symbolInfo, qty, price decimal.Decimal, maker bool) {
	parts := st.opts.SplitFills
	step := si.step
	remaining := qty
	for i := 0; i < parts && remaining.IsPositive(); i++ {
		q := remaining
		if i < parts-1 {
			q = exchange.FloorToStep(qty.Div(decimal.NewFromInt(int64(parts))), step)
			if !q.IsPositive() {
				q = remaining
			}
		}
		remaining = remaining.Sub(q)
		st.fillOne(o, si, q, price, maker)
	}
}

func (st *state) fillOne(o *order, si *symbolInfo, q, price decimal.Decimal, maker bool) {
	t := &trade{venue: o.venue, id: st.nextID(), orderID: o.id, symbol: o.symbol, side: o.side, price: price, qty: q, maker: maker, time: st.nowMS()}
	quote := q.Mul(price)
	if o.venue != exchange.Futures {
		rate := st.opts.SpotTaker
		if maker {
			rate = st.opts.SpotMaker
		}
		w := st.walletOf(o.venue)
		base, qt := st.bal(w, si.base), st.bal(w, si.quote)
		if o.side == "BUY" {
			t.fee, t.feeAsset = q.Mul(rate), si.base
			st.spend(qt, o, quote)
			base.free = base.free.Add(q).Sub(t.fee)
		} else {
			t.fee, t.feeAsset = quote.Mul(rate), si.quote
			st.spend(base, o, q)
			qt.free = qt.free.Add(quote).Sub(t.fee)
		}
	} else {
		rate := st.opts.FuturesTaker
		if maker {
			rate = st.opts.FuturesMaker
		}
		t.fee, t.feeAsset = quote.Mul(rate), "USDT"
		t.realized = st.applyPosition(o.symbol, o.side, q, price)
		st.futWallet["USDT"] = st.futWallet["USDT"].Sub(t.fee).Add(t.realized)
	}
	st.trades = append(st.trades, t)
	st.autoRepay(o, t, si)
	o.executed = o.executed.Add(q)
	o.quote = o.quote.Add(quote)
	o.updated = t.time
	if o.executed.Equal(o.qty) {
		o.status = "FILLED"
	} else {
		o.status = "PARTIALLY_FILLED"
	}
	st.report(o, "TRADE", t)
}

// spend takes amount from a resting order's lock first, then from free.
func (st *state) spend(b *balance, o *order, amount decimal.Decimal) {
	if o.locked.IsPositive() {
		take := decimal.Min(o.locked, amount)
		o.locked = o.locked.Sub(take)
		b.locked = b.locked.Sub(take)
		amount = amount.Sub(take)
	}
	b.free = b.free.Sub(amount)
}

// applyPosition moves the one-way position and returns the realised PnL.
func (st *state) applyPosition(symbol, side string, q, price decimal.Decimal) decimal.Decimal {
	p := st.pos(symbol)
	signed := q
	if side == "SELL" {
		signed = q.Neg()
	}
	realized := decimal.Zero
	switch {
	case p.qty.IsZero() || p.qty.Sign() == signed.Sign():
		total := p.qty.Abs().Add(q)
		p.entry = p.qty.Abs().Mul(p.entry).Add(q.Mul(price)).DivRound(total, 8)
		p.qty = p.qty.Add(signed)
	default:
		closing := decimal.Min(q, p.qty.Abs())
		dir := decimal.NewFromInt(int64(p.qty.Sign()))
		realized = closing.Mul(price.Sub(p.entry)).Mul(dir)
		p.qty = p.qty.Add(signed)
		if p.qty.IsZero() {
			p.entry = decimal.Zero
		} else if p.qty.Sign() == signed.Sign() { // flipped: the rest opens at this price
			p.entry = price
		}
	}
	return realized
}

// lock reserves what a resting spot order may spend.
func (st *state) lock(o *order, si *symbolInfo) {
	if o.venue == exchange.Futures {
		return
	}
	rem := o.qty.Sub(o.executed)
	if o.side == "BUY" {
		o.lockAsset, o.locked = si.quote, rem.Mul(o.price)
	} else {
		o.lockAsset, o.locked = si.base, rem
	}
	b := st.bal(st.walletOf(o.venue), o.lockAsset)
	b.free = b.free.Sub(o.locked)
	b.locked = b.locked.Add(o.locked)
}

func (st *state) unlock(o *order) {
	if o.locked.IsPositive() {
		b := st.bal(st.walletOf(o.venue), o.lockAsset)
		b.free = b.free.Add(o.locked)
		b.locked = b.locked.Sub(o.locked)
		o.locked = decimal.Zero
	}
}

func (st *state) cancel(venue exchange.Venue, symbol, client string) (*order, error) {
	o, ok := st.orders[orderKey{venue, symbol, client}]
	if !ok || o.final() {
		return nil, errBadRequest(-2011, "Unknown order sent.")
	}
	st.unlock(o)
	o.status, o.updated = "CANCELED", st.nowMS()
	st.report(o, "CANCELED", nil)
	st.accountUpdate(venue, st.symbol(venue, symbol), "ORDER")
	return o, nil
}

// crossResting fills resting orders the new book crosses.
func (st *state) crossResting(venue exchange.Venue, symbol string) {
	b := st.bookOf(venue, symbol)
	si := st.symbol(venue, symbol)
	if si == nil {
		return
	}
	touched := false
	for _, o := range st.allOrders {
		if o.venue != venue || o.symbol != symbol || o.final() || o.typ == "MARKET" {
			continue
		}
		rem := o.qty.Sub(o.executed)
		var q decimal.Decimal
		switch {
		case o.side == "BUY" && b.ask.IsPositive() && b.ask.LessThanOrEqual(o.price):
			q = decimal.Min(rem, b.askQty)
		case o.side == "SELL" && b.bid.IsPositive() && b.bid.GreaterThanOrEqual(o.price):
			q = decimal.Min(rem, b.bidQty)
		default:
			continue
		}
		if q.IsPositive() {
			st.fill(o, si, q, o.price, true)
			touched = true
		}
	}
	if touched {
		st.accountUpdate(venue, si, "ORDER")
	}
}

// settle pays or charges funding on the symbol's position at the given rate and mark, records the settled
// rate, and rolls the schedule.
func (st *state) settle(symbol string, rate, markPx decimal.Decimal) (incomeRow, bool, error) {
	m, ok := st.marks[symbol]
	if !ok {
		return incomeRow{}, false, &apiError{status: http.StatusBadRequest, code: -1121, msg: "Invalid symbol."}
	}
	if !markPx.IsPositive() {
		markPx = m.mark
	}
	// Settlements are strictly ordered in time, even when a test settles twice within a millisecond:
	// a client detects a settlement by nextFundingTime moving forward.
	now := st.nowMS()
	if rows := st.funding[symbol]; len(rows) > 0 && now <= rows[len(rows)-1].FundingTime {
		now = rows[len(rows)-1].FundingTime + 1
	}
	st.funding[symbol] = append(st.funding[symbol], fundingRow{Symbol: symbol, FundingTime: now, FundingRate: rate.String(), MarkPrice: markPx.StringFixed(8)})
	m.mark = markPx
	m.next = time.UnixMilli(now).Add(st.interval(symbol))
	p := st.pos(symbol)
	if p.qty.IsZero() {
		return incomeRow{}, false, nil
	}
	amount := exchange.FundingAmount(p.qty, markPx, rate).Round(8)
	st.futWallet["USDT"] = st.futWallet["USDT"].Add(amount)
	row := incomeRow{Symbol: symbol, IncomeType: "FUNDING_FEE", Income: amount.StringFixed(8), Asset: "USDT", Info: "FUNDING_FEE", Time: now, TranID: st.nextID()}
	st.income = append(st.income, row)
	st.accountUpdate(exchange.Futures, st.futSyms[symbol], "FUNDING_FEE")
	return row, true, nil
}

// report queues the order's user-data event.
func (st *state) report(o *order, exec string, t *trade) {
	if o.venue == exchange.Margin {
		return // no margin user-data stream (go-binance has none that works): clients poll
	}
	now := st.nowMS()
	if o.venue == exchange.Spot {
		ev := map[string]any{
			"e": "executionReport", "E": now, "s": o.symbol, "c": o.client, "S": o.side, "o": o.typ, "f": o.tif,
			"q": str(o.qty), "p": str(o.price), "P": "0", "F": "0", "g": -1, "C": "", "x": exec, "X": o.status, "r": "NONE",
			"i": o.id, "l": "0", "z": str(o.executed), "L": "0", "n": "0", "N": nil, "T": o.updated, "t": -1, "I": st.nextID(),
			"w": !o.final(), "m": false, "M": false, "O": o.created, "Z": str(o.quote), "Y": "0", "Q": "0", "W": o.created, "V": "EXPIRE_MAKER",
		}
		if exec == "CANCELED" {
			ev["c"], ev["C"] = fmt.Sprintf("cancel-%d", st.nextID()), o.client
		}
		if t != nil {
			ev["l"], ev["L"], ev["n"], ev["N"], ev["t"], ev["m"], ev["M"], ev["Y"], ev["T"] =
				str(t.qty), str(t.price), str(t.fee), t.feeAsset, t.id, t.maker, true, str(t.qty.Mul(t.price)), t.time
		}
		st.emit(exchange.Spot, ev)
		return
	}
	ot := map[string]any{
		"s": o.symbol, "c": o.client, "S": o.side, "o": o.typ, "f": o.tif, "q": str(o.qty), "p": str(o.price), "ap": str(o.avgPrice()),
		"sp": "0", "x": exec, "X": o.status, "i": o.id, "l": "0", "z": str(o.executed), "L": "0", "T": o.updated, "t": 0, "b": "0", "a": "0",
		"m": false, "R": o.reduceOnly, "wt": "CONTRACT_PRICE", "ot": o.typ, "ps": "BOTH", "cp": false, "rp": "0", "pP": false, "si": 0, "ss": 0,
		"V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0,
	}
	if t != nil {
		ot["l"], ot["L"], ot["n"], ot["N"], ot["t"], ot["m"], ot["rp"], ot["T"] = str(t.qty), str(t.price), str(t.fee), t.feeAsset, t.id, t.maker, str(t.realized), t.time
	}
	st.emit(exchange.Futures, map[string]any{"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": ot})
}

// accountUpdate queues the wallet/position event after a change.
func (st *state) accountUpdate(venue exchange.Venue, si *symbolInfo, reason string) {
	if venue == exchange.Margin {
		return
	}
	now := st.nowMS()
	if venue == exchange.Spot {
		if si == nil {
			return
		}
		var bs []map[string]any
		for _, a := range []string{si.base, si.quote} {
			b := st.bal(st.spot, a)
			bs = append(bs, map[string]any{"a": a, "f": str(b.free), "l": str(b.locked)})
		}
		st.emit(exchange.Spot, map[string]any{"e": "outboundAccountPosition", "E": now, "u": now, "B": bs})
		return
	}
	w := st.futWallet["USDT"]
	a := map[string]any{"m": reason, "B": []map[string]any{{"a": "USDT", "wb": str(w), "cw": str(w), "bc": "0"}}}
	if si != nil {
		p := st.pos(si.symbol)
		mk := st.markPrice(si.symbol)
		mt := "cross"
		if st.config(si.symbol).isolated {
			mt = "isolated"
		}
		a["P"] = []map[string]any{{"s": si.symbol, "pa": str(p.qty), "ep": str(p.entry), "bep": str(p.entry), "cr": "0",
			"up": str(exchange.UnrealizedPnL(p.qty, p.entry, mk)), "mt": mt, "iw": "0", "ps": "BOTH"}}
	}
	st.emit(exchange.Futures, map[string]any{"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": a})
}
