package binance

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// clientIDPattern is Binance's rule for client order ids. We always send our own (otherwise go-binance
// invents one with a broker prefix, and a lost answer could never be matched).
var clientIDPattern = regexp.MustCompile(`^[.A-Z:/a-z0-9_-]{1,36}$`)

// fillWait bounds how long PlaceOrder/QueryOrder wait for a futures order's trades to catch up with its
// executed quantity (Binance writes them a moment after the order).
const (
	fillAttempts = 4
	fillDelay    = 150 * time.Millisecond
)

// PlaceOrder sends an order with our client id. Spot answers carry their fills (newOrderRespType FULL);
// futures fills are read from the order's trades. A *exchange.RejectError means nothing happened; any
// other error leaves the outcome unknown (see the package documentation): query it by client id.
func (c *Client) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	op := fmt.Sprintf("place %s %s %s %s %s", req.Venue, req.Symbol, req.Side, req.Type, req.ClientID)
	if !clientIDPattern.MatchString(req.ClientID) {
		return exchange.Order{}, exchange.Rejected(exchange.RejectOther, 0, "%s: client order id %q does not match %s; nothing was sent", op, req.ClientID, clientIDPattern)
	}
	if !req.Qty.IsPositive() {
		return exchange.Order{}, exchange.Rejected(exchange.RejectFilter, 0, "%s: quantity %s must be positive; nothing was sent", op, req.Qty)
	}
	if req.Side != exchange.Buy && req.Side != exchange.Sell {
		return exchange.Order{}, exchange.Rejected(exchange.RejectOther, 0, "%s: unknown side; nothing was sent", op)
	}
	if req.Type != exchange.Market && !req.Price.IsPositive() {
		return exchange.Order{}, exchange.Rejected(exchange.RejectFilter, 0, "%s: a %s order needs a positive price; nothing was sent", op, req.Type)
	}
	if req.SideEffect != exchange.NoSideEffect && req.Venue != exchange.Margin {
		return exchange.Order{}, exchange.Rejected(exchange.RejectOther, 0, "%s: a side effect (%s) is for margin orders; nothing was sent", op, req.SideEffect)
	}
	switch req.Venue {
	case exchange.Spot:
		return c.placeSpot(ctx, op, req)
	case exchange.Futures:
		return c.placeFutures(ctx, op, req)
	case exchange.Margin:
		return c.placeMargin(ctx, op, req)
	}
	return exchange.Order{}, exchange.Rejected(exchange.RejectOther, 0, "%s: venue %q is not supported yet; nothing was sent", op, req.Venue)
}

func (c *Client) placeSpot(ctx context.Context, op string, req exchange.OrderRequest) (exchange.Order, error) {
	return placeSpotLike(ctx, c, op, req, func(a *apis) *binance.CreateOrderService { return a.spot.NewCreateOrderService() })
}

// spotOrderService is what the spot and the cross-margin order services (POST /api/v3/order and
// /sapi/v1/margin/order) have in common.
type spotOrderService[S any] interface {
	Symbol(string) S
	Side(binance.SideType) S
	Type(binance.OrderType) S
	TimeInForce(binance.TimeInForceType) S
	Quantity(string) S
	Price(string) S
	NewClientOrderID(string) S
	NewOrderRespType(binance.NewOrderRespType) S
	Do(ctx context.Context, opts ...binance.RequestOption) (*binance.CreateOrderResponse, error)
}

// placeSpotLike sends a spot or cross-margin order (req.Venue) built on the service newSvc returns, with
// newOrderRespType FULL so the answer carries the fills.
func placeSpotLike[S spotOrderService[S]](ctx context.Context, c *Client, op string, req exchange.OrderRequest, newSvc func(a *apis) S) (exchange.Order, error) {
	var res *binance.CreateOrderResponse
	info, err := c.call(ctx, true, func(ctx context.Context, a *apis) error {
		svc := newSvc(a).Symbol(req.Symbol).Side(binance.SideType(req.Side)).Quantity(req.Qty.String()).
			NewClientOrderID(req.ClientID).NewOrderRespType(binance.NewOrderRespTypeFULL)
		switch req.Type {
		case exchange.Market:
			svc.Type(binance.OrderTypeMarket)
		case exchange.LimitIOC:
			svc.Type(binance.OrderTypeLimit).TimeInForce(binance.TimeInForceTypeIOC).Price(req.Price.String())
		case exchange.LimitMaker:
			svc.Type(binance.OrderTypeLimitMaker).Price(req.Price.String())
		default:
			return errUnsupportedType
		}
		var err error
		res, err = svc.Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return exchange.Order{}, c.orderError(op, err, info)
	}
	o, err := spotCreated(res, req)
	if err != nil {
		return exchange.Order{}, fmt.Errorf("%s: %w: the order was accepted but its answer is unreadable: %w", op, ErrOutcomeUnknown, err)
	}
	return o, nil
}

func (c *Client) placeFutures(ctx context.Context, op string, req exchange.OrderRequest) (exchange.Order, error) {
	var res *futures.CreateOrderResponse
	info, err := c.call(ctx, true, func(ctx context.Context, a *apis) error {
		svc := a.fut.NewCreateOrderService().Symbol(req.Symbol).Side(futures.SideType(req.Side)).
			Quantity(req.Qty.String()).NewClientOrderID(req.ClientID).NewOrderResponseType(futures.NewOrderRespTypeRESULT)
		switch req.Type {
		case exchange.Market:
			svc.Type(futures.OrderTypeMarket)
		case exchange.LimitIOC:
			svc.Type(futures.OrderTypeLimit).TimeInForce(futures.TimeInForceTypeIOC).Price(req.Price.String())
		case exchange.LimitMaker:
			svc.Type(futures.OrderTypeLimit).TimeInForce(futures.TimeInForceTypeGTX).Price(req.Price.String())
		default:
			return errUnsupportedType
		}
		if req.ReduceOnly {
			svc.ReduceOnly(true)
		}
		var err error
		res, err = svc.Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return exchange.Order{}, c.orderError(op, err, info)
	}
	var p nums
	o := exchange.Order{
		ClientID: res.ClientOrderID, VenueOrderID: strconv.FormatInt(res.OrderID, 10), Venue: exchange.Futures, Symbol: res.Symbol,
		Side: exchange.Side(res.Side), Type: futuresType(res.Type, res.TimeInForce), Status: orderStatus(string(res.Status)),
		Qty: p.dec("origQty", res.OrigQuantity), Price: p.dec("price", res.Price), ExecutedQty: p.dec("executedQty", res.ExecutedQuantity),
		CumQuote: p.dec("cumQuote", res.CumQuote), Time: msTime(res.UpdateTime),
	}
	if p.err != nil {
		return exchange.Order{}, fmt.Errorf("%s: %w: the order was accepted but its answer is unreadable: %w", op, ErrOutcomeUnknown, p.err)
	}
	// A market order may be answered before it is done: follow it briefly to its final state.
	for i := 0; i < fillAttempts && req.Type == exchange.Market && !o.Status.Final(); i++ {
		if !sleepCtx(ctx, fillDelay) {
			break
		}
		if q, err := c.QueryOrder(ctx, exchange.Futures, req.Symbol, req.ClientID); err == nil {
			return q, nil
		}
	}
	if o.ExecutedQty.IsPositive() {
		fills, err := c.futuresFills(ctx, req.Symbol, res.OrderID, o.ClientID, o.ExecutedQty)
		o.Fills = fills
		if err != nil {
			return o, fmt.Errorf("%s: placed (%s executed) but its fills could not be read: %w", op, o.ExecutedQty, err)
		}
	}
	return o, nil
}

var errUnsupportedType = errors.New("unsupported order type")

func (c *Client) orderError(op string, err error, info *callInfo) error {
	switch {
	case errors.Is(err, ErrNoCredentials):
		return exchange.Rejected(exchange.RejectOther, 0, "%s: %v", op, err)
	case errors.Is(err, errUnsupportedType):
		return exchange.Rejected(exchange.RejectOther, 0, "%s: unsupported order type; nothing was sent", op)
	}
	return classifyOrder(op, err, info)
}

// spotCreated maps a spot or cross-margin (req.Venue) order answer.
func spotCreated(res *binance.CreateOrderResponse, req exchange.OrderRequest) (exchange.Order, error) {
	var p nums
	o := exchange.Order{
		ClientID: res.ClientOrderID, VenueOrderID: strconv.FormatInt(res.OrderID, 10), Venue: req.Venue, Symbol: res.Symbol,
		Side: exchange.Side(res.Side), Type: spotType(string(res.Type), string(res.TimeInForce)), Status: orderStatus(string(res.Status)),
		Qty: p.dec("origQty", res.OrigQuantity), Price: p.dec("price", res.Price), ExecutedQty: p.dec("executedQty", res.ExecutedQuantity),
		CumQuote: p.dec("cummulativeQuoteQty", res.CummulativeQuoteQuantity), Time: msTime(res.TransactTime),
	}
	if o.Type == "" {
		o.Type = req.Type
	}
	for _, f := range res.Fills {
		if f == nil {
			continue
		}
		o.Fills = append(o.Fills, exchange.Fill{
			Venue: o.Venue, Symbol: o.Symbol, TradeID: strconv.FormatInt(f.TradeID, 10), ClientID: o.ClientID, VenueOrderID: o.VenueOrderID,
			Side: o.Side, Qty: p.dec("fills.qty", f.Quantity), Price: p.dec("fills.price", f.Price), Fee: p.dec("fills.commission", f.Commission),
			FeeAsset: f.CommissionAsset, Time: o.Time, // immediate fills of MARKET/IOC orders are taker fills
		})
	}
	return o, p.err
}

// spotOrder maps a spot or cross-margin order as GET …/order reads it.
func spotOrder(res *binance.Order, venue exchange.Venue) (exchange.Order, error) {
	var p nums
	o := exchange.Order{
		ClientID: res.ClientOrderID, VenueOrderID: strconv.FormatInt(res.OrderID, 10), Venue: venue, Symbol: res.Symbol,
		Side: exchange.Side(res.Side), Type: spotType(string(res.Type), string(res.TimeInForce)), Status: orderStatus(string(res.Status)),
		Qty: p.dec("origQty", res.OrigQuantity), Price: p.dec("price", res.Price), ExecutedQty: p.dec("executedQty", res.ExecutedQuantity),
		CumQuote: p.dec("cummulativeQuoteQty", res.CummulativeQuoteQuantity), Time: msTime(res.Time),
	}
	return o, p.err
}

// QueryOrder finds an order by our client id, with its fills. exchange.ErrNotFound when Binance has none.
func (c *Client) QueryOrder(ctx context.Context, venue exchange.Venue, symbol, clientID string) (exchange.Order, error) {
	op := fmt.Sprintf("query %s %s order %s", venue, symbol, clientID)
	switch venue {
	case exchange.Spot:
		var res *binance.Order
		err := c.do(ctx, op, true, func(ctx context.Context, a *apis) error {
			var err error
			res, err = a.spot.NewGetOrderService().Symbol(symbol).OrigClientOrderID(clientID).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return exchange.Order{}, err
		}
		o, err := spotOrder(res, exchange.Spot)
		if err != nil {
			return exchange.Order{}, fmt.Errorf("%s: %w", op, err)
		}
		if o.ExecutedQty.IsPositive() {
			fills, err := c.spotFills(ctx, symbol, res.OrderID, o.ClientID)
			if err != nil {
				return o, err
			}
			o.Fills = fills
		}
		return o, nil
	case exchange.Futures:
		var res *futures.Order
		err := c.do(ctx, op, true, func(ctx context.Context, a *apis) error {
			var err error
			res, err = a.fut.NewGetOrderService().Symbol(symbol).OrigClientOrderID(clientID).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return exchange.Order{}, err
		}
		var p nums
		o := exchange.Order{
			ClientID: res.ClientOrderID, VenueOrderID: strconv.FormatInt(res.OrderID, 10), Venue: exchange.Futures, Symbol: res.Symbol,
			Side: exchange.Side(res.Side), Type: futuresType(res.Type, res.TimeInForce), Status: orderStatus(string(res.Status)),
			Qty: p.dec("origQty", res.OrigQuantity), Price: p.dec("price", res.Price), ExecutedQty: p.dec("executedQty", res.ExecutedQuantity),
			CumQuote: p.dec("cumQuote", res.CumQuote), Time: msTime(res.Time),
		}
		if p.err != nil {
			return exchange.Order{}, fmt.Errorf("%s: %w", op, p.err)
		}
		if o.ExecutedQty.IsPositive() {
			fills, err := c.futuresFills(ctx, symbol, res.OrderID, o.ClientID, o.ExecutedQty)
			o.Fills = fills
			if err != nil {
				return o, err
			}
		}
		return o, nil
	case exchange.Margin:
		return c.queryMargin(ctx, op, symbol, clientID)
	}
	return exchange.Order{}, fmt.Errorf("%s: venue %q is not supported yet", op, venue)
}

// CancelOrder cancels an open order by client id. An order that is no longer open is returned as it is
// (with its fills); exchange.ErrNotFound when Binance has no such order at all.
func (c *Client) CancelOrder(ctx context.Context, venue exchange.Venue, symbol, clientID string) (exchange.Order, error) {
	op := fmt.Sprintf("cancel %s %s order %s", venue, symbol, clientID)
	var err error
	switch venue {
	case exchange.Spot:
		err = c.do(ctx, op, true, func(ctx context.Context, a *apis) error {
			_, err := a.spot.NewCancelOrderService().Symbol(symbol).OrigClientOrderID(clientID).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			return err
		})
	case exchange.Futures:
		err = c.do(ctx, op, true, func(ctx context.Context, a *apis) error {
			_, err := a.fut.NewCancelOrderService().Symbol(symbol).OrigClientOrderID(clientID).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
			return err
		})
	case exchange.Margin:
		err = c.cancelMargin(ctx, op, symbol, clientID)
	default:
		return exchange.Order{}, fmt.Errorf("%s: venue %q is not supported yet", op, venue)
	}
	if err != nil && apiCode(err) != codeCancelRejected {
		return exchange.Order{}, err
	}
	// Whether it was cancelled now or was already final (-2011), report the order as Binance has it.
	o, qerr := c.QueryOrder(ctx, venue, symbol, clientID)
	if qerr != nil {
		if err != nil && errors.Is(qerr, exchange.ErrNotFound) {
			return exchange.Order{}, qerr
		}
		return o, fmt.Errorf("%s: %w", op, qerr)
	}
	return o, nil
}

func (c *Client) spotFills(ctx context.Context, symbol string, orderID int64, clientID string) ([]exchange.Fill, error) {
	var trades []*binance.TradeV3
	err := c.do(ctx, fmt.Sprintf("spot trades of order %d", orderID), true, func(ctx context.Context, a *apis) error {
		var err error
		trades, err = a.spot.NewListTradesService().Symbol(symbol).OrderId(orderID).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return nil, err
	}
	var p nums
	out := make([]exchange.Fill, 0, len(trades))
	for _, t := range trades {
		if t != nil && t.OrderID == orderID {
			out = append(out, spotFill(&p, exchange.Spot, symbol, clientID, t))
		}
	}
	return out, p.err
}

// futuresFills reads an order's trades, waiting briefly until they add up to its executed quantity.
func (c *Client) futuresFills(ctx context.Context, symbol string, orderID int64, clientID string, executed decimal.Decimal) ([]exchange.Fill, error) {
	var out []exchange.Fill
	for attempt := 0; ; attempt++ {
		var trades []*futures.AccountTrade
		err := c.do(ctx, fmt.Sprintf("futures trades of order %d", orderID), true, func(ctx context.Context, a *apis) error {
			var err error
			trades, err = a.fut.NewListAccountTradeService().Symbol(symbol).OrderID(orderID).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return nil, err
		}
		var p nums
		out = out[:0]
		sum := decimal.Zero
		for _, t := range trades {
			if t == nil || t.OrderID != orderID {
				continue
			}
			f := futuresFill(&p, symbol, clientID, t)
			sum = sum.Add(f.Qty)
			out = append(out, f)
		}
		if p.err != nil {
			return nil, p.err
		}
		if sum.GreaterThanOrEqual(executed) {
			return out, nil
		}
		if attempt+1 >= fillAttempts || !sleepCtx(ctx, fillDelay) {
			return out, fmt.Errorf("futures order %d: trades add up to %s of %s executed", orderID, sum, executed)
		}
	}
}

// spotFill maps a spot or cross-margin myTrades row; clientID is ours, or "" when not known.
func spotFill(p *nums, venue exchange.Venue, symbol, clientID string, t *binance.TradeV3) exchange.Fill {
	side := exchange.Sell
	if t.IsBuyer {
		side = exchange.Buy
	}
	return exchange.Fill{
		Venue: venue, Symbol: symbol, TradeID: strconv.FormatInt(t.ID, 10), ClientID: clientID, VenueOrderID: strconv.FormatInt(t.OrderID, 10),
		Side: side, Qty: p.dec("qty", t.Quantity), Price: p.dec("price", t.Price), Fee: p.dec("commission", t.Commission),
		FeeAsset: t.CommissionAsset, Maker: t.IsMaker, Time: msTime(t.Time),
	}
}

// futuresFill maps a USDⓈ-M userTrades row; clientID is ours, or "" when not known.
func futuresFill(p *nums, symbol, clientID string, t *futures.AccountTrade) exchange.Fill {
	return exchange.Fill{
		Venue: exchange.Futures, Symbol: symbol, TradeID: strconv.FormatInt(t.ID, 10), ClientID: clientID, VenueOrderID: strconv.FormatInt(t.OrderID, 10),
		Side: exchange.Side(t.Side), Qty: p.dec("qty", t.Quantity), Price: p.dec("price", t.Price), Fee: p.dec("commission", t.Commission),
		FeeAsset: t.CommissionAsset, RealizedPnL: p.dec("realizedPnl", t.RealizedPnl), Maker: t.Maker, Time: msTime(t.Time),
	}
}

// pageFrom pages a trade list by trade id once a page was read (fromID > 0), and by time before: from since,
// to until when it is set.
func pageFrom[S interface {
	FromID(int64) S
	StartTime(int64) S
	EndTime(int64) S
}](svc S, fromID int64, since, until time.Time) S {
	if fromID > 0 {
		return svc.FromID(fromID)
	}
	svc = svc.StartTime(since.UnixMilli())
	if !until.IsZero() {
		svc = svc.EndTime(until.UnixMilli())
	}
	return svc
}

// orderStatus maps Binance's order status; the few it has beyond carry's list pass through unchanged.
func orderStatus(s string) exchange.OrderStatus {
	if s == "EXPIRED_IN_MATCH" {
		return exchange.StatusExpired
	}
	return exchange.OrderStatus(s)
}

func spotType(typ, tif string) exchange.OrderType {
	switch {
	case typ == "MARKET":
		return exchange.Market
	case typ == "LIMIT_MAKER":
		return exchange.LimitMaker
	case typ == "LIMIT" && tif == "IOC":
		return exchange.LimitIOC
	}
	return exchange.OrderType(typ)
}

func futuresType(typ futures.OrderType, tif futures.TimeInForceType) exchange.OrderType {
	switch {
	case typ == futures.OrderTypeMarket:
		return exchange.Market
	case typ == futures.OrderTypeLimit && tif == futures.TimeInForceTypeGTX:
		return exchange.LimitMaker
	case typ == futures.OrderTypeLimit && tif == futures.TimeInForceTypeIOC:
		return exchange.LimitIOC
	}
	return exchange.OrderType(typ)
}

// sleepCtx waits d or until ctx ends; false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
