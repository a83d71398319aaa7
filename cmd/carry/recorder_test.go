package main

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/signals"
)

func dd(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// recorderHarness is a recorder on a real paper venue and signals book trading BTCUSDT (no fees), fed
// events as the engine feeds them.
type recorderHarness struct {
	rec    *recorder
	step   func(ev exchange.Event)      // one event: the recorder first, then the venue and the book
	prices func(at time.Time, p string) // both markets quoted at p, and the perp's mark
	order  func(ven exchange.Venue, side exchange.Side, qty string)
}

func newRecorderHarness(t *testing.T, t0 time.Time) recorderHarness {
	t.Helper()
	ins := []exchange.Instrument{
		{Venue: exchange.Spot, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true, TickSize: dd("0.01"), StepSize: dd("0.00001"),
			MinQty: dd("0.00001"), MaxQty: dd("9000"), MinNotional: dd("5")},
		{Venue: exchange.Futures, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true, TickSize: dd("0.1"), StepSize: dd("0.001"),
			MinQty: dd("0.001"), MaxQty: dd("1000"), MinNotional: dd("5")},
	}
	cfg := paper.Config{Quote: "USDT", Instruments: ins,
		Fees: map[exchange.Venue]exchange.Fees{exchange.Spot: {}, exchange.Futures: {}},
		InitialBalances: map[exchange.Venue]map[string]decimal.Decimal{
			exchange.Spot: {"USDT": dd("10000")}, exchange.Futures: {"USDT": dd("10000")}}}
	clk := clock.NewSim(t0)
	v, err := paper.New(context.Background(), cfg, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	book := signals.NewBook([]string{"BTCUSDT"}, signals.Params{})
	rec := newRecorder("s", dd("20000"), v, book, "USDT", clk)
	step := func(ev exchange.Event) {
		clk.Set(ev.Time)
		rec.OnEvent(&ev)
		v.Apply(&ev)
		book.Apply(&ev)
	}
	prices := func(at time.Time, p string) {
		px := dd(p)
		for _, ven := range []exchange.Venue{exchange.Spot, exchange.Futures} {
			step(exchange.Event{Kind: exchange.EventQuote, Venue: ven, Symbol: "BTCUSDT", Time: at,
				Quote: exchange.Quote{Venue: ven, Symbol: "BTCUSDT", Bid: px, Ask: px, BidQty: dd("100"), AskQty: dd("100"), Time: at}})
		}
		step(exchange.Event{Kind: exchange.EventMark, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: at,
			Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: px, Time: at}})
	}
	n := 0
	order := func(ven exchange.Venue, side exchange.Side, qty string) {
		n++
		if _, err := v.PlaceOrder(context.Background(), exchange.OrderRequest{ClientID: "o" + string(rune('a'+n)), Venue: ven, Symbol: "BTCUSDT",
			Side: side, Type: exchange.Market, Qty: dd(qty)}); err != nil {
			t.Fatal(err)
		}
		rec.changed = true
	}
	return recorderHarness{rec: rec, step: step, prices: prices, order: order}
}

// TestRecorderGapValuesLegsAtOneMoment: a pair is held, closed (keeping spot dust), and after the price has
// doubled reopened mid-hour; the perp goes dark before the next sample. That sample values both legs at
// the last prices both markets traded at (the hour before, at the new price): the equity does not move, as
// nothing did. Valuing the new perp short at a mark from when the old pair was held would invent
// qty × (the price move) of basis PnL.
func TestRecorderGapValuesLegsAtOneMoment(t *testing.T) {
	t0 := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	x := newRecorderHarness(t, t0)
	rec, step, prices, order := x.rec, x.step, x.prices, x.order
	h := func(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Hour))) }
	prices(h(0), "100")
	order(exchange.Spot, exchange.Buy, "1")
	order(exchange.Futures, exchange.Sell, "1")
	prices(h(1), "100") // sample at 01:00 (both legs at 100)
	// close the pair, keeping spot dust
	order(exchange.Futures, exchange.Buy, "1")
	order(exchange.Spot, exchange.Sell, "0.999")
	for i := 2; i <= 5; i++ {
		prices(h(float64(i)), "200")
	}
	// reopen at 200 at 05:10, the perp goes dark at 05:30
	prices(h(5+10.0/60), "200")
	order(exchange.Spot, exchange.Buy, "1")
	order(exchange.Futures, exchange.Sell, "1")
	step(exchange.Event{Kind: exchange.EventSuspend, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: h(5.5)})
	// spot moves while the perp is dark: a live spot against a stale perp would move the equity
	step(exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: h(5.75),
		Quote: exchange.Quote{Venue: exchange.Spot, Symbol: "BTCUSDT", Bid: dd("250"), Ask: dd("250"), BidQty: dd("1"), AskQty: dd("1"), Time: h(5.75)}})
	step(exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: h(6),
		Quote: exchange.Quote{Venue: exchange.Spot, Symbol: "BTCUSDT", Bid: dd("200"), Ask: dd("200"), BidQty: dd("1"), AskQty: dd("1"), Time: h(6)}})
	byHour := map[string]decimal.Decimal{}
	for _, s := range rec.book.Samples {
		byHour[s.Time.Format("15:04")] = s.Equity
	}
	at5, at6 := byHour["05:00"], byHour["06:00"]
	if at5.IsZero() || !at6.Equal(at5) {
		t.Fatalf("equity %s at 06:00 (perp in a gap since 05:30) and %s at 05:00, want equal: prices have not moved since 02:00\n%v", at6, at5, byHour)
	}
}

// TestRecorderGapRightAfterAListing: a symbol's markets first trade at 00:10 at 100 and a pair opens there;
// the perp goes dark at 00:30 and spot moves to 110. The first sample (01:00) has never seen both markets
// trade, so it values the pair at the prices it opened at: the equity is the capital, as nothing moved
// for the hedged book. Valuing the live spot against the stale perp would invent 1 × 10 of basis PnL.
func TestRecorderGapRightAfterAListing(t *testing.T) {
	t0 := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	x := newRecorderHarness(t, t0)
	x.prices(t0.Add(10*time.Minute), "100")
	x.order(exchange.Spot, exchange.Buy, "1")
	x.order(exchange.Futures, exchange.Sell, "1")
	x.rec.OnPair(pair.Pair{ID: 1, Symbol: "BTCUSDT", State: pair.Open, Direction: "carry", SpotQty: dd("1"), PerpQty: dd("1"),
		UpdatedAt: t0.Add(10 * time.Minute)})
	x.step(exchange.Event{Kind: exchange.EventSuspend, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: t0.Add(30 * time.Minute)})
	for _, at := range []time.Duration{45 * time.Minute, time.Hour} {
		x.step(exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: t0.Add(at),
			Quote: exchange.Quote{Venue: exchange.Spot, Symbol: "BTCUSDT", Bid: dd("110"), Ask: dd("110"), BidQty: dd("1"), AskQty: dd("1"), Time: t0.Add(at)}})
	}
	samples := x.rec.book.Samples
	if len(samples) != 1 || !samples[0].Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("samples %+v, want one at 01:00", samples)
	}
	if !samples[0].Equity.Equal(dd("20000")) {
		t.Fatalf("equity at 01:00 %s (perp dark since 00:30, spot at 110), want the capital 20000: the pair at its opening prices", samples[0].Equity)
	}
}
