package paper_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var t0 = time.Date(2021, 3, 1, 7, 0, 0, 0, time.UTC)

// Binance's BTCUSDT filters (binance.md) and an ETHUSDT perp.
func instruments() []exchange.Instrument {
	return []exchange.Instrument{
		{Venue: exchange.Spot, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true, TickSize: d("0.01"), StepSize: d("0.00001"),
			MinQty: d("0.00001"), MaxQty: d("9000"), MinNotional: d("5"), MinNotionalMarket: true},
		{Venue: exchange.Futures, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true, TickSize: d("0.1"), StepSize: d("0.001"),
			MinQty: d("0.001"), MaxQty: d("1000"), MinNotional: d("100"), MinNotionalMarket: true},
		{Venue: exchange.Futures, Symbol: "ETHUSDT", Base: "ETH", Quote: "USDT", Trading: true, TickSize: d("0.01"), StepSize: d("0.001"),
			MinQty: d("0.001"), MaxQty: d("10000"), MinNotional: d("20"), MinNotionalMarket: true},
	}
}

func config() paper.Config {
	return paper.Config{
		Quote:       "USDT",
		Instruments: instruments(),
		Fees: map[exchange.Venue]exchange.Fees{
			exchange.Spot:    {Maker: d("0.001"), Taker: d("0.001")},
			exchange.Futures: {Maker: d("0.0002"), Taker: d("0.0005")},
		},
		InitialBalances: map[exchange.Venue]map[string]decimal.Decimal{
			exchange.Spot:    {"USDT": d("100000")},
			exchange.Futures: {"USDT": d("20000")},
		},
	}
}

func newVenue(t testing.TB, cfg paper.Config, j paper.Journal) (*paper.Venue, *clock.Sim) {
	t.Helper()
	clk := clock.NewSim(t0)
	v, err := paper.New(context.Background(), cfg, clk, j)
	if err != nil {
		t.Fatalf("paper.New: %v", err)
	}
	return v, clk
}

func quote(v *paper.Venue, venue exchange.Venue, sym, bid, ask string) {
	v.Apply(&exchange.Event{Kind: exchange.EventQuote, Venue: venue, Symbol: sym, Time: t0,
		Quote: exchange.Quote{Venue: venue, Symbol: sym, Bid: d(bid), BidQty: d("10"), Ask: d(ask), AskQty: d("10"), Time: t0}})
}

func mark(v *paper.Venue, sym, price string) {
	v.Apply(&exchange.Event{Kind: exchange.EventMark, Venue: exchange.Futures, Symbol: sym, Time: t0,
		Mark: exchange.Mark{Symbol: sym, Mark: d(price), Time: t0}})
}

func funding(v *paper.Venue, sym string, at time.Time, rate, markPrice string) {
	v.Apply(&exchange.Event{Kind: exchange.EventFunding, Venue: exchange.Futures, Symbol: sym, Time: at,
		Funding: exchange.FundingRate{Symbol: sym, Rate: d(rate), MarkPrice: d(markPrice), IntervalHours: 8, Time: at}})
}

func place(t testing.TB, v *paper.Venue, req exchange.OrderRequest) exchange.Order {
	t.Helper()
	o, err := v.PlaceOrder(context.Background(), req)
	if err != nil {
		t.Fatalf("placing %+v: %v", req, err)
	}
	return o
}

func market(id string, venue exchange.Venue, sym string, side exchange.Side, qty string) exchange.OrderRequest {
	return exchange.OrderRequest{ClientID: id, Venue: venue, Symbol: sym, Side: side, Type: exchange.Market, Qty: d(qty)}
}

// balance returns an asset's free and locked balance in a wallet (zero when absent).
func balance(t testing.TB, v *paper.Venue, venue exchange.Venue, asset string) exchange.Balance {
	t.Helper()
	bs, err := v.Balances(context.Background(), venue)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Asset == asset {
			return b
		}
	}
	return exchange.Balance{Venue: venue, Asset: asset}
}

func eq(t testing.TB, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}
