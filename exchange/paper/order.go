package paper

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// clientIDRE is Binance's rule for client order ids.
var clientIDRE = regexp.MustCompile(`^[.A-Z:/a-z0-9_-]{1,36}$`)

// PlaceOrder executes an order against the current quote (see the package doc for the matching rules). A
// *exchange.RejectError means nothing happened; any other error leaves the outcome unknown: query the order
// by client id.
func (v *Venue) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	f := v.faults.take(req.Venue)
	if f.lose {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", req.Venue, req.ClientID, ErrLost)
	}
	if f.reject != nil {
		return exchange.Order{}, f.reject
	}
	if d := v.cfg.Latency + f.delay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", req.Venue, req.ClientID, ctx.Err())
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", req.Venue, req.ClientID, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", req.Venue, req.ClientID, v.brokenErr())
	}
	if req.Venue == exchange.Margin {
		return v.placeMargin(ctx, req, f)
	}
	rec, err := v.decide(req, f.partial)
	if err != nil {
		return exchange.Order{}, err
	}
	// The venue executes the order whatever happens to the caller's context; only the journal bounds it.
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(jctx, KindOrder, rec.Time, rec); err != nil {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", req.Venue, req.ClientID, err)
	}
	o := v.st.orders[mkey{req.Venue, req.ClientID}].snapshot()
	if f.timeout {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", req.Venue, req.ClientID, ErrTimeout)
	}
	return o, nil
}

// decide checks an order and computes its outcome without changing anything.
func (v *Venue) decide(req exchange.OrderRequest, partial decimal.Decimal) (*orderRec, error) {
	now := v.clk.Now().UTC()
	if req.Venue != exchange.Spot && req.Venue != exchange.Futures {
		return nil, exchange.Rejected(exchange.RejectOther, -1100, "the paper venue trades spot and futures only, not %q", req.Venue)
	}
	if err := v.checkClientID(req.Venue, req.ClientID); err != nil {
		return nil, err
	}
	in, ok := v.instruments[mkey{req.Venue, req.Symbol}]
	if !ok {
		return nil, exchange.Rejected(exchange.RejectOther, -1121, "Invalid symbol. (%s %s)", req.Venue, req.Symbol)
	}
	if req.Side != exchange.Buy && req.Side != exchange.Sell {
		return nil, exchange.Rejected(exchange.RejectOther, -1117, "Invalid side %q.", req.Side)
	}
	if req.Type != exchange.Market && req.Type != exchange.LimitIOC && req.Type != exchange.LimitMaker {
		return nil, exchange.Rejected(exchange.RejectOther, -1116, "Invalid orderType %q.", req.Type)
	}
	if req.ReduceOnly && req.Venue != exchange.Futures {
		return nil, exchange.Rejected(exchange.RejectOther, -1106, "Parameter 'reduceOnly' sent when not required.")
	}
	if req.SideEffect != exchange.NoSideEffect {
		return nil, exchange.Rejected(exchange.RejectOther, -1106, "Parameter 'sideEffectType' sent when not required.")
	}
	q, ok := v.liveQuote(req.Venue, req.Symbol)
	if !ok {
		return nil, exchange.Rejected(exchange.RejectNoLiquidity, 0, "%s %s has no market (never quoted, or suspended by a data gap)", req.Venue, req.Symbol)
	}
	buy := req.Side == exchange.Buy
	touch := q.Bid
	if buy {
		touch = q.Ask
	}
	if err := exchange.CheckFilters(in, req, touch); err != nil {
		return nil, err
	}

	// What the order would do to the position (futures).
	var pos position
	if p := v.st.positions[req.Symbol]; p != nil && req.Venue == exchange.Futures {
		pos = *p
	} else {
		pos = position{symbol: req.Symbol, leverage: v.cfg.DefaultLeverage}
	}
	qty := req.Qty
	if req.ReduceOnly {
		if pos.qty.IsZero() || (pos.qty.IsPositive() == buy) {
			return nil, exchange.Rejected(exchange.RejectOther, -2022, "ReduceOnly Order is rejected.")
		}
		qty = decimal.Min(qty, pos.qty.Abs())
	}

	// Matching.
	crosses, price, fillQty := v.execution(in, req, touch, qty, partial)
	rest := req.Type == exchange.LimitMaker
	if rest {
		if crosses {
			if req.Venue == exchange.Futures {
				return nil, exchange.Rejected(exchange.RejectOther, -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")
			}
			return nil, exchange.Rejected(exchange.RejectOther, -2010, "Order would immediately match and take.")
		}
		price = req.Price
	}
	refPrice := price // the price the order is checked at: execution price, or the limit of a resting order
	if !refPrice.IsPositive() {
		refPrice = req.Price
	}

	fees := v.cfg.Fees[req.Venue]
	rate := fees.Taker
	if rest {
		rate = fees.Maker
	}
	var fills []fillRec
	switch req.Venue {
	case exchange.Spot:
		if err := v.checkSpotBalance(in, req, refPrice); err != nil {
			return nil, err
		}
		if fillQty.IsPositive() {
			fills = append(fills, v.spotFill(exchange.Spot, 1, in, req.Side, fillQty, price, rate, false, now))
		}
	case exchange.Futures:
		checkQty := fillQty
		if rest {
			checkQty = qty
		}
		if err := v.checkMargin(&pos, in, req, checkQty, refPrice, rate); err != nil {
			return nil, err
		}
		if fillQty.IsPositive() {
			fills = append(fills, v.futuresFill(&pos, in, req.Side, fillQty, price, rate, false, now))
		}
	}
	status := exchange.StatusNew
	switch {
	case rest:
	case fillQty.Equal(req.Qty):
		status = exchange.StatusFilled
	default: // IOC that did not cross, a partial fill, a reduce-only order capped at the position
		status = exchange.StatusExpired
	}
	return &orderRec{ClientID: req.ClientID, VenueOrderID: strconv.FormatInt(v.st.orderSeq[req.Venue]+1, 10), Venue: req.Venue,
		Symbol: req.Symbol, Base: in.Base, QuoteAsset: in.Quote, Side: req.Side, Type: req.Type, Status: status, Qty: req.Qty,
		Price: req.Price, ReduceOnly: req.ReduceOnly, Leverage: pos.leverage, Time: now, Fills: fills}, nil
}

// checkClientID enforces Binance's client order id rule, and that the id is new on the venue (spot and margin
// -2010, futures -4116).
func (v *Venue) checkClientID(venue exchange.Venue, clientID string) error {
	if !clientIDRE.MatchString(clientID) {
		return exchange.Rejected(exchange.RejectOther, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$' (got %q)", clientID)
	}
	if _, dup := v.st.orders[mkey{venue, clientID}]; dup {
		if venue == exchange.Futures {
			return exchange.Rejected(exchange.RejectOther, -4116, "ClientOrderId is duplicated.")
		}
		return exchange.Rejected(exchange.RejectOther, -2010, "Duplicate order sent.")
	}
	return nil
}

// liveQuote is the current quote of a market that can be traded: quoted, not suspended, two-sided.
func (v *Venue) liveQuote(venue exchange.Venue, symbol string) (exchange.Quote, bool) {
	m := v.markets[mkey{venue, symbol}]
	if m == nil || !m.has || m.suspended {
		return exchange.Quote{}, false
	}
	q := m.quote()
	return q, q.Valid()
}

// execution is how an order meets the market whose touch (the ask for a buy, the bid for a sell) is touch:
// whether it crosses (a market order always, a limit order whose price reaches the touch) and, when it does,
// the price it takes (the slipped touch; an IOC at the better of that and its limit) and the quantity it
// fills (qty, or the PartialNext fraction of it on the order's lot step). A resting order is the caller's.
func (v *Venue) execution(in exchange.Instrument, req exchange.OrderRequest, touch, qty, partial decimal.Decimal) (crosses bool, price, fillQty decimal.Decimal) {
	buy := req.Side == exchange.Buy
	if req.Type != exchange.Market && (buy && req.Price.LessThan(touch) || !buy && req.Price.GreaterThan(touch)) {
		return false, decimal.Zero, decimal.Zero
	}
	price = v.slipped(in, touch, buy)
	if req.Type == exchange.LimitIOC {
		if buy {
			price = decimal.Min(price, req.Price)
		} else {
			price = decimal.Max(price, req.Price)
		}
	}
	fillQty = qty
	if partial.IsPositive() {
		fillQty = exchange.FloorToStep(qty.Mul(partial), in.OrderStep(req.Type))
	}
	return true, price.Copy(), fillQty // orders are kept for the venue's lifetime: do not pin the feed's buffers
}

// slipped is the touch worsened by the configured slippage and rounded to the tick against the taker.
func (v *Venue) slipped(in exchange.Instrument, touch decimal.Decimal, buy bool) decimal.Decimal {
	if v.cfg.Slippage.IsZero() {
		return touch
	}
	one := decimal.NewFromInt(1)
	if buy {
		return exchange.CeilToStep(touch.Mul(one.Add(v.cfg.Slippage)), in.TickSize)
	}
	return exchange.FloorToStep(touch.Mul(one.Sub(v.cfg.Slippage)), in.TickSize)
}

// checkSpotBalance: a buy needs qty × price of the quote asset, a sell qty of the base asset (Binance -2010).
func (v *Venue) checkSpotBalance(in exchange.Instrument, req exchange.OrderRequest, price decimal.Decimal) error {
	if req.Side == exchange.Buy {
		need, have := req.Qty.Mul(price), v.free(exchange.Spot, in.Quote)
		if have.LessThan(need) {
			return exchange.Rejected(exchange.RejectInsufficient, -2010, "Account has insufficient balance for requested action. (%s %s needed, %s free)", need, in.Quote, have)
		}
		return nil
	}
	if have := v.free(exchange.Spot, in.Base); have.LessThan(req.Qty) {
		return exchange.Rejected(exchange.RejectInsufficient, -2010, "Account has insufficient balance for requested action. (%s %s needed, %s free)", req.Qty, in.Base, have)
	}
	return nil
}

// checkMargin: the part of qty that opens exposure needs notional/leverage of initial margin plus the fee
// from the available balance (Binance -2019), and the resulting position must fit the bracket of the
// leverage (-2027).
func (v *Venue) checkMargin(pos *position, in exchange.Instrument, req exchange.OrderRequest, qty, price, rate decimal.Decimal) error {
	if !qty.IsPositive() {
		return nil
	}
	after := *pos
	_, _, opened := after.trade(signedQty(req.Side, qty), price, time.Time{})
	if !opened.IsPositive() {
		return nil // reduces exposure only
	}
	b, err := exchange.BracketFor(v.brackets(in.Symbol), after.qty.Abs().Mul(price))
	if err != nil {
		return fmt.Errorf("paper futures %s: %w", in.Symbol, err)
	}
	if b.MaxLeverage > 0 && pos.leverage > b.MaxLeverage {
		return exchange.Rejected(exchange.RejectRisk, -2027, "Exceeded the maximum allowable position at current leverage. (%dx allows at most %dx at notional %s)",
			pos.leverage, b.MaxLeverage, after.qty.Abs().Mul(price))
	}
	im := initialMargin(opened.Mul(price), pos.leverage)
	acct, err := v.account()
	if err != nil {
		return fmt.Errorf("paper futures %s: %w", in.Symbol, err)
	}
	if need := im.Add(fee(qty.Mul(price), rate)); acct.AvailableBalance.LessThan(need) {
		return errNoMargin("(%s %s initial margin and fee needed, %s available)", need.StringFixed(8), v.cfg.Quote, acct.AvailableBalance.StringFixed(8))
	}
	return nil
}

// amountPlaces is the precision of the amounts Binance books — commissions, funding income, balances: 8
// decimal places. The paper venue rounds what it computes (half up) to it.
const amountPlaces = 8

// fee is amount × rate booked to amountPlaces: every commission the venue charges.
func fee(amount, rate decimal.Decimal) decimal.Decimal { return amount.Mul(rate).Round(amountPlaces) }

// initialMargin is the margin notional needs at leverage: notional ÷ leverage, to amountPlaces.
func initialMargin(notional decimal.Decimal, leverage int) decimal.Decimal {
	return notional.DivRound(decimal.NewFromInt(int64(max(leverage, 1))), amountPlaces)
}

// signedQty is qty with the sign of side: positive for a buy, negative for a sell.
func signedQty(side exchange.Side, qty decimal.Decimal) decimal.Decimal {
	if side == exchange.Sell {
		return qty.Neg()
	}
	return qty
}

// spotFill prices one execution on the spot book, for spot or margin (venue): a buy pays its fee in the base
// asset, a sell in the quote asset. n is the fill's place among those decided together (1 for the first).
func (v *Venue) spotFill(venue exchange.Venue, n int64, in exchange.Instrument, side exchange.Side, qty, price, rate decimal.Decimal, maker bool, at time.Time) fillRec {
	f := fillRec{TradeID: strconv.FormatInt(v.st.tradeSeq[venue]+n, 10), Side: side, Qty: qty, Price: price, Maker: maker, Time: at}
	if side == exchange.Buy {
		f.Fee, f.FeeAsset = fee(qty, rate), in.Base
	} else {
		f.Fee, f.FeeAsset = fee(qty.Mul(price), rate), in.Quote
	}
	return f
}

// futuresFill prices one futures execution (fee = qty × price × rate in the quote asset) and its realized PnL.
func (v *Venue) futuresFill(pos *position, in exchange.Instrument, side exchange.Side, qty, price, rate decimal.Decimal, maker bool, at time.Time) fillRec {
	dry := *pos
	realized, _, _ := dry.trade(signedQty(side, qty), price, at)
	return fillRec{TradeID: strconv.FormatInt(v.st.tradeSeq[exchange.Futures]+1, 10), Side: side, Qty: qty, Price: price,
		Fee: fee(qty.Mul(price), rate), FeeAsset: in.Quote, RealizedPnL: realized, Maker: maker, Time: at}
}

// QueryOrder finds an order by client id with its fills; exchange.ErrNotFound when the venue never got it.
func (v *Venue) QueryOrder(_ context.Context, venue exchange.Venue, symbol, clientID string) (exchange.Order, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	os, err := v.findOrder(venue, symbol, clientID)
	if err != nil {
		return exchange.Order{}, err
	}
	return os.snapshot(), nil
}

// findOrder finds an order by client id (v.mu held); exchange.ErrNotFound when the venue never got it or it is
// another symbol's.
func (v *Venue) findOrder(venue exchange.Venue, symbol, clientID string) (*orderState, error) {
	if v.broken != nil {
		return nil, fmt.Errorf("paper %s order %s: %w", venue, clientID, v.brokenErr())
	}
	os := v.st.orders[mkey{venue, clientID}]
	if os == nil || os.o.Symbol != symbol {
		return nil, fmt.Errorf("paper %s %s order %s: %w", venue, symbol, clientID, exchange.ErrNotFound)
	}
	return os, nil
}

// CancelOrder cancels a resting order. An order that is already final is rejected like Binance (-2011).
func (v *Venue) CancelOrder(ctx context.Context, venue exchange.Venue, symbol, clientID string) (exchange.Order, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	os, err := v.findOrder(venue, symbol, clientID)
	if err != nil {
		return exchange.Order{}, err
	}
	if os.o.Status.Final() {
		return exchange.Order{}, exchange.Rejected(exchange.RejectOther, -2011, "Unknown order sent. (%s is %s)", clientID, os.o.Status)
	}
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(jctx, KindCancel, v.clk.Now(), &cancelRec{Venue: venue, ClientID: clientID, Time: v.clk.Now().UTC()}); err != nil {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", venue, clientID, err)
	}
	return os.snapshot(), nil
}

// snapshot copies the order so callers cannot change the venue's state.
func (os *orderState) snapshot() exchange.Order {
	o := os.o
	o.Fills = append([]exchange.Fill(nil), os.o.Fills...)
	return o
}

// free is an asset's free balance (zero when the wallet has none).
func (v *Venue) free(venue exchange.Venue, asset string) decimal.Decimal {
	if b := v.st.wallets[venue][asset]; b != nil {
		return b.free
	}
	return decimal.Zero
}
