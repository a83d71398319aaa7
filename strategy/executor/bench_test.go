package executor_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/exchangetest"
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/pair"
)

// handOff timestamps the moment each order reaches the venue.
type handOff struct {
	executor.Venue
	mu    sync.Mutex
	times []time.Time
}

func (h *handOff) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	h.mu.Lock()
	h.times = append(h.times, time.Now())
	h.mu.Unlock()
	return h.Venue.PlaceOrder(ctx, req)
}

func (h *handOff) reset() {
	h.mu.Lock()
	h.times = h.times[:0]
	h.mu.Unlock()
}

func (h *handOff) last() (first, second time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, b := h.times[0], h.times[1]
	if b.Before(a) {
		a, b = b, a
	}
	return a, b
}

// BenchmarkDecisionToLegs measures, for opening a pair on the paper venue over a local Postgres, the time
// from the executor's Open call (the decision) until both legs have been handed to the venue — the pair row,
// the write-ahead commit of the transition and both client ids, and the concurrent dispatch included — and
// the skew between the two legs. Targets: p99 ≤ 5 ms and skew ≤ 1 ms. The futures margin is in place (no
// transfer), as for every pair after the first.
func BenchmarkDecisionToLegs(b *testing.B) {
	r := newRig(b, nil)
	ctx := context.Background()
	h := &handOff{Venue: r.venue}
	exec := executor.New(executor.Config{OrderType: exchange.Market, MaxUnhedged: 3 * time.Second, OrderTimeout: time.Second, MaxRepairAttempts: 2,
		QuoteAsset: "USDT", Leverage: 2}, h, r.st, r.clock, zerolog.Nop(), r.acct, executor.Options{})
	exec.SetMarket("BTCUSDT", executor.Market{Spot: exchangetest.BTCSpot(), Perp: exchangetest.BTCPerp(), SpotFee: exchange.Fees{Taker: d("0.001")}, PerpFee: exchange.Fees{Taker: d("0.0005")}})
	if _, err := r.venue.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d("20000")}); err != nil {
		b.Fatal(err)
	}
	var latency, skew []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.reset()
		start := time.Now()
		p, err := exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.01"), "bench")
		if err != nil || p.State != pair.Open {
			b.Fatalf("open: %v %s", err, p.State)
		}
		first, second := h.last()
		latency = append(latency, second.Sub(start))
		skew = append(skew, second.Sub(first))
		b.StopTimer()
		if _, err := exec.Close(ctx, p.ID, "bench"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(pct(latency, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(latency, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(pct(skew, 0.99).Microseconds()), "skew-p99-µs")
}

func pct(ds []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}
