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
	if !clientIDRE.MatchString(req.ClientID) {
		return nil, exchange.Rejected(exchange.RejectOther, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$' (got %q)", req.ClientID)
	}
	if _, dup := v.st.orders[mkey{req.Venue, req.ClientID}]; dup {
		if req.Venue == exchange.Futures {
			return nil, exchange.Rejected(exchange.RejectOther, -4116, "ClientOrderId is duplicated.")
		}
		return nil, exchange.Rejected(exchange.RejectOther, -2010, "Duplicate order sent.")
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
	m := v.markets[mkey{req.Venue, req.Symbol}]
	if m == nil || !m.has || m.suspended || !m.quote().Valid() {
		return nil, exchange.Rejected(exchange.RejectNoLiquidity, 0, "%s %s has no market (never quoted, or suspended by a data gap)", req.Venue, req.Symbol)
	}
	q := m.quote()
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
	var price decimal.Decimal
	rest := false
	crosses := req.Type == exchange.Market || (buy && req.Price.GreaterThanOrEqual(q.Ask)) || (!buy && req.Price.LessThanOrEqual(q.Bid))
	switch req.Type {
	case exchange.Market:
		price = v.slipped(in, touch, buy)
	case exchange.LimitIOC:
		if crosses {
			price = v.slipped(in, touch, buy)
			if buy {
				price = decimal.Min(price, req.Price)
			} else {
				price = decimal.Max(price, req.Price)
			}
		}
	case exchange.LimitMaker:
		if crosses {
			if req.Venue == exchange.Futures {
				return nil, exchange.Rejected(exchange.RejectOther, -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")
			}
			return nil, exchange.Rejected(exchange.RejectOther, -2010, "Order would immediately match and take.")
		}
		rest, price = true, req.Price
	}
	fillQty := decimal.Zero
	if crosses {
		fillQty = qty
		if partial.IsPositive() {
			fillQty = exchange.FloorToStep(qty.Mul(partial), in.OrderStep(req.Type))
		}
	}
	price = price.Copy() // orders are kept for the venue's lifetime: do not pin the feed's buffers
	refPrice := price    // the price the order is checked at: execution price, or the limit of a resting order
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
			fills = append(fills, v.spotFill(in, req.Side, fillQty, price, rate, false, now))
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
	signed := qty
	if req.Side == exchange.Sell {
		signed = qty.Neg()
	}
	after := *pos
	_, _, opened := after.trade(signed, price, time.Time{})
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
	im := opened.Mul(price).DivRound(decimal.NewFromInt(int64(pos.leverage)), 8)
	fee := qty.Mul(price).Mul(rate).Round(amountPlaces)
	acct, err := v.account()
	if err != nil {
		return fmt.Errorf("paper futures %s: %w", in.Symbol, err)
	}
	if need := im.Add(fee); acct.AvailableBalance.LessThan(need) {
		return errNoMargin("(%s %s initial margin and fee needed, %s available)", need.StringFixed(8), v.cfg.Quote, acct.AvailableBalance.StringFixed(8))
	}
	return nil
}

// amountPlaces is the precision of the amounts Binance books — commissions, funding income, balances: 8
// decimal places. The paper venue rounds what it computes (half up) to it.
const amountPlaces = 8

// spotFill prices one spot execution: a buy pays its fee in the base asset, a sell in the quote asset.
func (v *Venue) spotFill(in exchange.Instrument, side exchange.Side, qty, price, rate decimal.Decimal, maker bool, at time.Time) fillRec {
	f := fillRec{TradeID: strconv.FormatInt(v.st.tradeSeq[exchange.Spot]+1, 10), Side: side, Qty: qty, Price: price, Maker: maker, Time: at}
	if side == exchange.Buy {
		f.Fee, f.FeeAsset = qty.Mul(rate).Round(amountPlaces), in.Base
	} else {
		f.Fee, f.FeeAsset = qty.Mul(price).Mul(rate).Round(amountPlaces), in.Quote
	}
	return f
}

// futuresFill prices one futures execution (fee = qty × price × rate in the quote asset) and its realized PnL.
func (v *Venue) futuresFill(pos *position, in exchange.Instrument, side exchange.Side, qty, price, rate decimal.Decimal, maker bool, at time.Time) fillRec {
	signed := qty
	if side == exchange.Sell {
		signed = qty.Neg()
	}
	dry := *pos
	realized, _, _ := dry.trade(signed, price, at)
	return fillRec{TradeID: strconv.FormatInt(v.st.tradeSeq[exchange.Futures]+1, 10), Side: side, Qty: qty, Price: price,
		Fee: qty.Mul(price).Mul(rate).Round(amountPlaces), FeeAsset: in.Quote, RealizedPnL: realized, Maker: maker, Time: at}
}

// QueryOrder finds an order by client id with its fills; exchange.ErrNotFound when the venue never got it.
func (v *Venue) QueryOrder(_ context.Context, venue exchange.Venue, symbol, clientID string) (exchange.Order, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", venue, clientID, v.brokenErr())
	}
	os := v.st.orders[mkey{venue, clientID}]
	if os == nil || os.o.Symbol != symbol {
		return exchange.Order{}, fmt.Errorf("paper %s %s order %s: %w", venue, symbol, clientID, exchange.ErrNotFound)
	}
	return os.snapshot(), nil
}

// CancelOrder cancels a resting order. An order that is already final is rejected like Binance (-2011).
func (v *Venue) CancelOrder(ctx context.Context, venue exchange.Venue, symbol, clientID string) (exchange.Order, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return exchange.Order{}, fmt.Errorf("paper %s order %s: %w", venue, clientID, v.brokenErr())
	}
	os := v.st.orders[mkey{venue, clientID}]
	if os == nil || os.o.Symbol != symbol {
		return exchange.Order{}, fmt.Errorf("paper %s %s order %s: %w", venue, symbol, clientID, exchange.ErrNotFound)
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
