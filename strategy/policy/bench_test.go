package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/signals"
)

// BenchmarkUniverseTick is one decision tick over a 500-symbol universe: a quote update, then signals,
// pricing, ranking, allocation and exit checks for every symbol (target ≤ 1 ms).
func BenchmarkUniverseTick(b *testing.B) {
	const n = 500
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("S%03dUSDT", i)
	}
	book := signals.NewBook(names, cfg().Signals)
	var held []Held
	for i, name := range names {
		rate := 0.00005 + float64(i%40)*0.00002
		market(book, name, 10+float64(i), float64(i%7-3)*0.0002, rate, now)
		if i%50 == 0 {
			held = append(held, Held{PairID: int64(i), Symbol: name, Direction: pair.Carry, State: pair.Open, Capital: decimal.NewFromInt(100)})
		}
	}
	p := New(cfg())
	ev := exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Futures, Symbol: names[7], Time: now,
		Quote: exchange.Quote{Bid: decimal.RequireFromString("17.001"), Ask: decimal.RequireFromString("17.003")}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev.Time = now.Add(time.Duration(i) * time.Second)
		book.Apply(&ev)
		_ = p.Decide(ev.Time, book, held, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/tick")
}
