package binance_test

import (
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// A pair opened weeks ago is reconciled from every trade since it opened. Binance answers futures
// userTrades by time only 7 days at a time (spot myTrades 24 hours with both ends), so a read from the
// pair's start must walk forward to the first trade and continue by trade id: a trade made today (a
// liquidation) must be in the listing.
func TestTradesReachPastTheTimeWindows(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 30*time.Second)
	for _, v := range []exchange.Venue{exchange.Futures, exchange.Spot} {
		old, err := c.PlaceOrder(ctx, order("old-"+string(v), v, exchange.Buy, exchange.Market, "0.01", ""))
		must(t, err)
		srv.ShiftTrades(v, "BTCUSDT", -20*24*time.Hour)
		recent, err := c.PlaceOrder(ctx, order("new-"+string(v), v, exchange.Sell, exchange.Market, "0.01", ""))
		must(t, err)
		if len(old.Fills) != 1 || len(recent.Fills) != 1 {
			t.Fatalf("%s: fills %+v %+v", v, old.Fills, recent.Fills)
		}
		now := time.Now()
		got, err := c.Trades(ctx, v, "BTCUSDT", now.Add(-40*24*time.Hour))
		must(t, err)
		if len(got) != 2 || got[0].TradeID != old.Fills[0].TradeID || got[1].TradeID != recent.Fills[0].TradeID {
			t.Fatalf("%s trades since 40 days ago: %+v, want trade %s (20 days ago) then %s (now)", v, got, old.Fills[0].TradeID, recent.Fills[0].TradeID)
		}
		if !got[0].Time.Before(now.Add(-19*24*time.Hour)) || got[1].Side != exchange.Sell || got[1].VenueOrderID != recent.VenueOrderID {
			t.Fatalf("%s trades %+v", v, got)
		}
		got, err = c.Trades(ctx, v, "BTCUSDT", now.Add(-10*24*time.Hour))
		must(t, err)
		if len(got) != 1 || got[0].TradeID != recent.Fills[0].TradeID {
			t.Fatalf("%s trades since 10 days ago: %+v, want only %s", v, got, recent.Fills[0].TradeID)
		}
		got, err = c.Trades(ctx, v, "BTCUSDT", now.Add(time.Minute))
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("%s trades after now: %+v", v, got)
		}
	}
}
