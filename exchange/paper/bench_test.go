package paper_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/replay"
)

// BenchmarkReplayPaperIdle replays the shipped BTCUSDT data (1h spot and perp klines, funding) through the
// paper venue with no strategy: the backtest loop's fixed cost per event.
func BenchmarkReplayPaperIdle(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		feed, err := replay.Open(shipped, replayOptions())
		if err != nil {
			b.Fatal(err)
		}
		clk := clock.NewSim(t0)
		v, err := paper.New(ctx, config(), clk, nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			ev, err := feed.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			clk.Set(ev.Time)
			v.Apply(&ev)
			events++
		}
		feed.Close()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyIdle is the venue's cost per event with nothing held: alternating spot quote, perp quote and
// mark, as a replay sends them.
func BenchmarkApplyIdle(b *testing.B) {
	v, _ := newVenue(b, config(), nil)
	evs := []exchange.Event{
		{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: t0, Quote: exchange.Quote{Venue: exchange.Spot, Symbol: "BTCUSDT", Bid: d("60000"), BidQty: d("1"), Ask: d("60000.01"), AskQty: d("1"), Time: t0}},
		{Kind: exchange.EventQuote, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: t0, Quote: exchange.Quote{Venue: exchange.Futures, Symbol: "BTCUSDT", Bid: d("60010"), BidQty: d("1"), Ask: d("60010.1"), AskQty: d("1"), Time: t0}},
		{Kind: exchange.EventMark, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: t0, Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: d("60010"), Index: d("60000"), EstimatedRate: d("0.0001"), NextFundingTime: t0, Time: t0}},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v.Apply(&evs[i%3])
	}
}

// BenchmarkApplyHedged is the same with a hedge held: every mark is screened against the liquidation price.
func BenchmarkApplyHedged(b *testing.B) {
	v, _ := newVenue(b, config(), nil)
	quote(v, exchange.Spot, "BTCUSDT", "60000", "60000.01")
	quote(v, exchange.Futures, "BTCUSDT", "60010", "60010.1")
	place(b, v, market("s", exchange.Spot, "BTCUSDT", exchange.Buy, "1"))
	place(b, v, market("p", exchange.Futures, "BTCUSDT", exchange.Sell, "1"))
	ev := exchange.Event{Kind: exchange.EventMark, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: t0, Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: d("60010"), Index: d("60000"), EstimatedRate: d("0.0001"), NextFundingTime: t0, Time: t0}}
	b.ReportAllocs()
	for b.Loop() {
		v.Apply(&ev)
	}
	if len(v.Liquidations()) != 0 {
		b.Fatal("liquidated")
	}
}
