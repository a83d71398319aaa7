package binance_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

func nextUser(t *testing.T, ch <-chan binance.UserEvent, within time.Duration, what string, match func(binance.UserEvent) bool) binance.UserEvent {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed while waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-timer.C:
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
	}
}

func userKind(k binance.UserEventKind, v exchange.Venue) func(binance.UserEvent) bool {
	return func(ev binance.UserEvent) bool { return ev.Kind == k && ev.Venue == v }
}

func TestUserDataStreams(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	cfg := fakeConfig(srv)
	cfg.SubscribeGrace = 100 * time.Millisecond
	cfg.KeepAlive = 150 * time.Millisecond
	c := newClient(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ud, err := c.UserData(ctx)
	must(t, err)
	// Both streams announce themselves: reconcile now.
	gotSpot, gotFut := false, false
	nextUser(t, ud, 5*time.Second, "both resyncs", func(ev binance.UserEvent) bool {
		gotSpot = gotSpot || userKind(binance.UserResync, exchange.Spot)(ev)
		gotFut = gotFut || userKind(binance.UserResync, exchange.Futures)(ev)
		return gotSpot && gotFut
	})
	eventually(t, 5*time.Second, "the spot subscription", func() bool { return srv.WSConnections(fakebinance.WSSpotUser) == 1 })

	// Spot: executionReport with the execution, then the balances.
	o, err := c.PlaceOrder(ctx, order("ud-spot-1", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
	must(t, err)
	ev := nextUser(t, ud, 5*time.Second, "the spot execution", func(ev binance.UserEvent) bool {
		return userKind(binance.UserOrder, exchange.Spot)(ev) && ev.HasFill && ev.Order.ClientID == "ud-spot-1"
	})
	if ev.Fill.TradeID != o.Fills[0].TradeID || !ev.Fill.Fee.Equal(d("0.00001")) || ev.Fill.FeeAsset != "BTC" || ev.Order.Status != exchange.StatusFilled {
		t.Errorf("spot execution %+v, REST fill %+v", ev, o.Fills[0])
	}
	eq(t, "cum quote", ev.Order.CumQuote, d("600.0001"))
	ev = nextUser(t, ud, 5*time.Second, "the spot balances", userKind(binance.UserAccount, exchange.Spot))
	for _, b := range ev.Balances {
		if b.Asset == "BTC" && !b.Free.Equal(d("1.00999")) {
			t.Errorf("BTC balance %s, want 1.00999", b.Free)
		}
	}

	// A cancelled order is reported under our client id (Binance puts it in "C").
	_, err = c.PlaceOrder(ctx, order("ud-spot-2", exchange.Spot, exchange.Sell, exchange.LimitMaker, "0.01", "65000"))
	must(t, err)
	_, err = c.CancelOrder(ctx, exchange.Spot, "BTCUSDT", "ud-spot-2")
	must(t, err)
	nextUser(t, ud, 5*time.Second, "the cancel", func(ev binance.UserEvent) bool {
		return userKind(binance.UserOrder, exchange.Spot)(ev) && ev.Order.ClientID == "ud-spot-2" && ev.Order.Status == exchange.StatusCanceled
	})

	// Futures: ORDER_TRADE_UPDATE with the trade, then ACCOUNT_UPDATE with the position.
	o, err = c.PlaceOrder(ctx, order("ud-perp-1", exchange.Futures, exchange.Sell, exchange.Market, "0.3", ""))
	must(t, err)
	ev = nextUser(t, ud, 5*time.Second, "the futures execution", func(ev binance.UserEvent) bool {
		return userKind(binance.UserOrder, exchange.Futures)(ev) && ev.HasFill && ev.Order.ClientID == "ud-perp-1"
	})
	if ev.Fill.TradeID != o.Fills[0].TradeID || !ev.Fill.Qty.Equal(d("0.3")) || ev.Fill.FeeAsset != "USDT" || !ev.Fill.Fee.Equal(d("9.0015")) {
		t.Errorf("futures execution %+v", ev.Fill)
	}
	eq(t, "cum quote (avg × executed)", ev.Order.CumQuote, d("18003"))
	ev = nextUser(t, ud, 5*time.Second, "the futures account update", func(ev binance.UserEvent) bool {
		return userKind(binance.UserAccount, exchange.Futures)(ev) && ev.Reason == "ORDER"
	})
	if len(ev.Positions) != 1 || !ev.Positions[0].Qty.Equal(d("-0.3")) || !ev.Positions[0].EntryPrice.Equal(d("60010")) {
		t.Errorf("positions %+v", ev.Positions)
	}

	// A settlement: ACCOUNT_UPDATE with reason FUNDING_FEE (the tranId comes from FundingPayments).
	_, err = srv.Settle("BTCUSDT", d("0.0001"), d("60000"))
	must(t, err)
	ev = nextUser(t, ud, 5*time.Second, "the funding update", func(ev binance.UserEvent) bool {
		return userKind(binance.UserAccount, exchange.Futures)(ev) && ev.Reason == "FUNDING_FEE"
	})
	// 50000 − 9.0015 fee (0.3 × 60010 × 0.05%) + 0.3 × 60000 × 0.01% funding = 49992.7985
	if len(ev.Balances) != 1 || !ev.Balances[0].Free.Equal(d("49992.7985")) {
		t.Errorf("balances %+v", ev.Balances)
	}

	// The listenKey is kept alive on our own timer.
	eventually(t, 5*time.Second, "two keepalives", func() bool {
		n := 0
		for _, r := range srv.Requests("/fapi/v1/listenKey") {
			if r.Method == http.MethodPut && r.Status == http.StatusOK {
				n++
			}
		}
		return n >= 2
	})

	// A dropped stream: UserDown, then UserResync after the reconnect, and events flow again.
	srv.DropWS(fakebinance.WSFuturesUser)
	nextUser(t, ud, 5*time.Second, "futures down", userKind(binance.UserDown, exchange.Futures))
	nextUser(t, ud, 5*time.Second, "futures resync", userKind(binance.UserResync, exchange.Futures))
	_, err = c.PlaceOrder(ctx, order("ud-perp-2", exchange.Futures, exchange.Buy, exchange.Market, "0.1", ""))
	must(t, err)
	nextUser(t, ud, 5*time.Second, "an execution after the reconnect", func(ev binance.UserEvent) bool {
		return ev.Kind == binance.UserOrder && ev.Order.ClientID == "ud-perp-2" && ev.HasFill
	})
	srv.DropWS(fakebinance.WSSpotUser)
	nextUser(t, ud, 5*time.Second, "spot down", userKind(binance.UserDown, exchange.Spot))
	nextUser(t, ud, 5*time.Second, "spot resync", userKind(binance.UserResync, exchange.Spot))

	// Stopping closes the channel and gives the listenKey back.
	cancel()
	for range ud {
	}
	deleted := false
	for _, r := range srv.Requests("/fapi/v1/listenKey") {
		deleted = deleted || r.Method == http.MethodDelete
	}
	if !deleted {
		t.Error("the listenKey was not closed")
	}
}

func TestSpotUserDataRefusedSubscriptionReconnects(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	cfg := fakeConfig(srv)
	cfg.SubscribeGrace = 50 * time.Millisecond
	c := newClient(t, cfg)
	ctx := ctxT(t, 10*time.Second)
	ud, err := c.UserData(ctx)
	must(t, err)
	nextUser(t, ud, 5*time.Second, "spot resync", userKind(binance.UserResync, exchange.Spot))
	// The key loses its permission between reconnects: the subscription answer is an error, which the
	// library passes on as an event without a type. The adapter notices and reconnects (and keeps trying).
	dials := srv.WSAccepted(fakebinance.WSSpotUser)
	srv.SetTimeOffset(time.Minute) // every subscription is now outside recvWindow (-1021)
	srv.DropWS(fakebinance.WSSpotUser)
	nextUser(t, ud, 5*time.Second, "spot down", userKind(binance.UserDown, exchange.Spot))
	eventually(t, 5*time.Second, "repeated subscription attempts", func() bool { return srv.WSAccepted(fakebinance.WSSpotUser) >= dials+3 })
}
