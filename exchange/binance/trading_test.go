package binance_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

func order(id string, v exchange.Venue, side exchange.Side, typ exchange.OrderType, qty, price string) exchange.OrderRequest {
	r := exchange.OrderRequest{ClientID: id, Venue: v, Symbol: "BTCUSDT", Side: side, Type: typ, Qty: d(qty)}
	if price != "" {
		r.Price = d(price)
	}
	return r
}

func withSymbol(r exchange.OrderRequest, symbol string) exchange.OrderRequest {
	r.Symbol = symbol
	return r
}

func fundedFake(t *testing.T, opts fakebinance.Options) *fakebinance.Server {
	srv := startFake(t, opts)
	must(t, srv.SetBalance(exchange.Spot, "USDT", d("300000")))
	must(t, srv.SetBalance(exchange.Spot, "BTC", d("1")))
	must(t, srv.SetBalance(exchange.Futures, "USDT", d("50000")))
	return srv
}

func sumFills(o exchange.Order) (qty, fee decimal.Decimal) {
	for _, f := range o.Fills {
		qty, fee = qty.Add(f.Qty), fee.Add(f.Fee)
	}
	return qty, fee
}

func TestSpotOrders(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 20*time.Second)

	// MARKET buy: FULL answer with the fill, fee charged in BTC (the asset received).
	o, err := c.PlaceOrder(ctx, order("spot-mkt-1", exchange.Spot, exchange.Buy, exchange.Market, "0.10011", ""))
	must(t, err)
	if o.Status != exchange.StatusFilled || o.ClientID != "spot-mkt-1" || o.Type != exchange.Market || o.VenueOrderID == "" {
		t.Fatalf("order %+v", o)
	}
	eq(t, "executed", o.ExecutedQty, d("0.10011"))
	eq(t, "cum quote", o.CumQuote, d("0.10011").Mul(d("60000.01")))
	if len(o.Fills) != 1 {
		t.Fatalf("fills %+v", o.Fills)
	}
	f := o.Fills[0]
	if f.FeeAsset != "BTC" || f.TradeID == "" || f.ClientID != "spot-mkt-1" || f.Side != exchange.Buy || f.Maker {
		t.Errorf("fill %+v", f)
	}
	eq(t, "fill price", f.Price, d("60000.01"))
	eq(t, "fee", f.Fee, d("0.00010011"))
	// binance.md: 0.10011 bought at 0.1% in base nets 0.10000989.
	eq(t, "net base", f.NetBase("BTC"), d("0.10000989"))
	eq(t, "fake BTC balance", srv.Balance(exchange.Spot, "BTC").Free, d("1.10000989"))

	// QueryOrder by client id returns the same fills, from myTrades.
	q, err := c.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "spot-mkt-1")
	must(t, err)
	if q.Status != exchange.StatusFilled || len(q.Fills) != 1 || q.Fills[0].TradeID != f.TradeID || !q.Fills[0].Fee.Equal(f.Fee) {
		t.Errorf("queried %+v", q)
	}

	// LIMIT IOC against 2 BTC at the ask: fills 2 of 3, the rest expires.
	o, err = c.PlaceOrder(ctx, order("spot-ioc-1", exchange.Spot, exchange.Buy, exchange.LimitIOC, "3", "60001"))
	must(t, err)
	if o.Status != exchange.StatusExpired || o.Type != exchange.LimitIOC {
		t.Errorf("IOC %+v", o)
	}
	eq(t, "IOC executed", o.ExecutedQty, d("2"))
	eq(t, "IOC fill price (the ask, not the limit)", o.Fills[0].Price, d("60000.01"))

	// An IOC that does not cross expires empty; it is not a rejection.
	o, err = c.PlaceOrder(ctx, order("spot-ioc-2", exchange.Spot, exchange.Buy, exchange.LimitIOC, "0.01", "59000"))
	must(t, err)
	if o.Status != exchange.StatusExpired || !o.ExecutedQty.IsZero() || len(o.Fills) != 0 {
		t.Errorf("non-crossing IOC %+v", o)
	}

	// LIMIT_MAKER that would take: Binance -2010 "would immediately match", a definite rejection.
	_, err = c.PlaceOrder(ctx, order("spot-maker-x", exchange.Spot, exchange.Buy, exchange.LimitMaker, "0.01", "60000.01"))
	var rej *exchange.RejectError
	if !errors.As(err, &rej) || rej.Code != -2010 || rej.Kind != exchange.RejectOther {
		t.Fatalf("crossing post-only: %v", err)
	}

	// LIMIT_MAKER that rests, then fills as maker when the book comes to it.
	o, err = c.PlaceOrder(ctx, order("spot-maker-1", exchange.Spot, exchange.Buy, exchange.LimitMaker, "0.01", "59990"))
	must(t, err)
	if o.Status != exchange.StatusNew || o.Type != exchange.LimitMaker {
		t.Fatalf("resting maker %+v", o)
	}
	must(t, srv.SetBook(exchange.Spot, "BTCUSDT", d("59980"), d("1"), d("59985"), d("1")))
	q, err = c.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "spot-maker-1")
	must(t, err)
	if q.Status != exchange.StatusFilled || len(q.Fills) != 1 || !q.Fills[0].Maker || !q.Fills[0].Price.Equal(d("59990")) {
		t.Errorf("maker fill %+v", q)
	}

	// Cancel: a resting order is cancelled; a filled one is reported as it is; an unknown one is not found.
	_, err = c.PlaceOrder(ctx, order("spot-maker-2", exchange.Spot, exchange.Sell, exchange.LimitMaker, "0.01", "61000"))
	must(t, err)
	eq(t, "locked BTC", srv.Balance(exchange.Spot, "BTC").Locked, d("0.01"))
	o, err = c.CancelOrder(ctx, exchange.Spot, "BTCUSDT", "spot-maker-2")
	must(t, err)
	if o.Status != exchange.StatusCanceled {
		t.Errorf("cancelled %+v", o)
	}
	eq(t, "unlocked BTC", srv.Balance(exchange.Spot, "BTC").Locked, d("0"))
	o, err = c.CancelOrder(ctx, exchange.Spot, "BTCUSDT", "spot-mkt-1")
	if err != nil || o.Status != exchange.StatusFilled {
		t.Errorf("cancel of a filled order: %+v %v", o, err)
	}
	if _, err := c.CancelOrder(ctx, exchange.Spot, "BTCUSDT", "never-sent"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	if _, err := c.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "never-sent"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("query unknown: %v", err)
	}

	// Our client id is sent as is (no broker prefix), and a bad one is refused before sending.
	if _, ok := srv.Order(exchange.Spot, "BTCUSDT", "spot-mkt-1"); !ok {
		t.Error("the fake does not know the order by our client id")
	}
	n := len(srv.Requests("/api/v3/order"))
	if _, err := c.PlaceOrder(ctx, order("bad id with spaces", exchange.Spot, exchange.Buy, exchange.Market, "0.01", "")); !exchange.IsRejected(err) {
		t.Errorf("bad client id: %v", err)
	}
	if len(srv.Requests("/api/v3/order")) != n {
		t.Error("an order with a bad client id was sent")
	}
}

func TestFuturesOrders(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{SplitFills: 3})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 20*time.Second)

	// MARKET sell opens a short; fills come from the order's trades (three of them here).
	o, err := c.PlaceOrder(ctx, order("perp-mkt-1", exchange.Futures, exchange.Sell, exchange.Market, "0.5", ""))
	must(t, err)
	if o.Status != exchange.StatusFilled || o.ClientID != "perp-mkt-1" || o.Venue != exchange.Futures {
		t.Fatalf("order %+v", o)
	}
	if len(o.Fills) != 3 {
		t.Fatalf("got %d fills, want 3", len(o.Fills))
	}
	qty, fee := sumFills(o)
	eq(t, "filled", qty, d("0.5"))
	eq(t, "executed", o.ExecutedQty, d("0.5"))
	// taker 0.05% of 0.5 × 60010 = 15.0025 USDT
	eq(t, "fee", fee, d("15.0025"))
	seen := map[string]bool{}
	for _, f := range o.Fills {
		if f.FeeAsset != "USDT" || f.ClientID != "perp-mkt-1" || seen[f.TradeID] || !f.Price.Equal(d("60010")) {
			t.Errorf("fill %+v", f)
		}
		seen[f.TradeID] = true
	}
	ps, err := c.Positions(ctx)
	must(t, err)
	if len(ps) != 1 || !ps[0].Qty.Equal(d("-0.5")) || !ps[0].EntryPrice.Equal(d("60010")) || ps[0].Leverage != 20 {
		t.Fatalf("positions %+v", ps)
	}

	// reduceOnly that would increase the short: -2022, a definite rejection.
	_, err = c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "perp-ro-x", Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.Market, Qty: d("0.1"), ReduceOnly: true})
	var rej *exchange.RejectError
	if !errors.As(err, &rej) || rej.Code != -2022 {
		t.Fatalf("reduce-only increase: %v", err)
	}
	// reduceOnly buy closes part of it with realised PnL at the ask.
	o, err = c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "perp-ro-1", Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, Qty: d("0.2"), ReduceOnly: true})
	must(t, err)
	pnl := decimal.Zero
	for _, f := range o.Fills {
		pnl = pnl.Add(f.RealizedPnL)
	}
	eq(t, "realised PnL of closing 0.2 at 60010.1", pnl, d("-0.02"))

	// GTX post-only that would take: -5022.
	_, err = c.PlaceOrder(ctx, order("perp-gtx-x", exchange.Futures, exchange.Buy, exchange.LimitMaker, "0.01", "60010.1"))
	if !errors.As(err, &rej) || rej.Code != -5022 {
		t.Fatalf("crossing GTX: %v", err)
	}
	o, err = c.PlaceOrder(ctx, order("perp-gtx-1", exchange.Futures, exchange.Buy, exchange.LimitMaker, "0.01", "60000"))
	must(t, err)
	if o.Status != exchange.StatusNew || o.Type != exchange.LimitMaker {
		t.Errorf("resting GTX %+v", o)
	}
	o, err = c.CancelOrder(ctx, exchange.Futures, "BTCUSDT", "perp-gtx-1")
	if err != nil || o.Status != exchange.StatusCanceled {
		t.Errorf("cancel GTX %+v %v", o, err)
	}

	q, err := c.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "perp-mkt-1")
	must(t, err)
	qty, _ = sumFills(q)
	if q.Status != exchange.StatusFilled || len(q.Fills) != 3 || !qty.Equal(d("0.5")) {
		t.Errorf("queried %+v", q)
	}
	if _, err := c.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "never-sent"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("query unknown: %v", err)
	}
	if _, err := c.CancelOrder(ctx, exchange.Futures, "BTCUSDT", "never-sent"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
}

func TestRejectionsAreClassified(t *testing.T) {
	srv := startFake(t, fakebinance.Options{})
	must(t, srv.SetBalance(exchange.Spot, "USDT", d("100")))
	must(t, srv.SetBalance(exchange.Futures, "USDT", d("100")))
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 20*time.Second)
	cases := []struct {
		name string
		req  exchange.OrderRequest
		code int
		kind exchange.RejectKind
	}{
		{"spot balance", order("r-1", exchange.Spot, exchange.Buy, exchange.Market, "0.1", ""), -2010, exchange.RejectInsufficient},
		{"futures margin", order("r-2", exchange.Futures, exchange.Sell, exchange.Market, "0.1", ""), -2019, exchange.RejectInsufficient},
		{"spot lot step", order("r-3", exchange.Spot, exchange.Buy, exchange.Market, "0.000011", ""), -1013, exchange.RejectFilter},
		{"spot min notional", order("r-4", exchange.Spot, exchange.Buy, exchange.Market, "0.00001", ""), -1013, exchange.RejectFilter},
		{"futures precision", order("r-5", exchange.Futures, exchange.Sell, exchange.Market, "0.0011", ""), -1111, exchange.RejectFilter},
		{"futures min notional", withSymbol(order("r-6", exchange.Futures, exchange.Sell, exchange.Market, "0.001", ""), "ETHUSDT"), -4164, exchange.RejectFilter},
		{"spot tick", order("r-7", exchange.Spot, exchange.Buy, exchange.LimitIOC, "0.001", "60000.001"), -1013, exchange.RejectFilter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PlaceOrder(ctx, tc.req)
			var rej *exchange.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("%v: not a rejection", err)
			}
			if rej.Code != tc.code || rej.Kind != tc.kind {
				t.Errorf("got code %d kind %s (%s), want %d %s", rej.Code, rej.Kind, rej.Reason, tc.code, tc.kind)
			}
			if _, ok := srv.Order(tc.req.Venue, tc.req.Symbol, tc.req.ClientID); ok {
				t.Error("a rejected order exists on the venue")
			}
		})
	}
}

func TestOrderWithAnEndedContextIsNotSent(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.PlaceOrder(ctx, order("gone-1", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
	if !exchange.IsRejected(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want a rejection (nothing sent) wrapping context.Canceled", err)
	}
	if len(srv.Requests("/api/v3/order")) != 0 {
		t.Error("an order was sent with an ended context")
	}
}
