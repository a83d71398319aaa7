package risk_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy/pair"
)

// sixPairs is a cross account carrying six hedged pairs, healthy (every position ~35% from liquidation).
func sixPairs(b *testing.B) risk.Input {
	syms := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT"}
	prices := []string{"60000.10", "3000.25", "150.125", "600.50", "0.6123", "0.12345"}
	qtys := []string{"0.5", "10", "200", "50", "50000", "250000"}
	in := risk.Input{Time: t0, State: risk.Active, Wallet: d("100000"), SpotQuoteFree: d("50000"), Markets: markets(syms...)}
	for i, s := range syms {
		in.Positions = append(in.Positions, short(s, qtys[i], prices[i], prices[i]))
		in.Pairs = append(in.Pairs, pair.Pair{ID: int64(i + 1), Symbol: s, Direction: pair.Carry, State: pair.Open,
			TargetQty: d(qtys[i]), SpotQty: d(qtys[i]), PerpQty: d(qtys[i]), EntryPerpPrice: d(prices[i])})
	}
	return in
}

// BenchmarkDecimalCmp is the floor: one comparison of decimals with equal exponents.
func BenchmarkDecimalCmp(b *testing.B) {
	x, y := d("60000.10"), d("62307.69")
	for b.Loop() {
		_ = x.Cmp(y)
	}
}

// BenchmarkMonitorMark: the hot path, one position, no trigger crossed.
func BenchmarkMonitorMark(b *testing.B) {
	r := newRules(b, nil)
	in := risk.Input{State: risk.Active, Wallet: d("20000"), Markets: markets("BTCUSDT"),
		Positions: []exchange.Position{short("BTCUSDT", "1", "60000", "60000.10")}}
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	if _, err := mon.Reset(in); err != nil {
		b.Fatal(err)
	}
	marks := []decimal.Decimal{d("60000.10"), d("60010.20"), d("59990.30"), d("60005.00")}
	i := 0
	for b.Loop() {
		if mon.Mark("BTCUSDT", marks[i&3]) {
			b.Fatal("crossed")
		}
		i++
	}
}

// BenchmarkMonitorMarkSixPairs: six shorts sharing the cross wallet, marks cycling through the symbols.
func BenchmarkMonitorMarkSixPairs(b *testing.B) {
	r := newRules(b, nil)
	in := sixPairs(b)
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	if _, err := mon.Reset(in); err != nil {
		b.Fatal(err)
	}
	syms := make([]string, len(in.Positions))
	marks := make([]decimal.Decimal, len(in.Positions))
	for i, p := range in.Positions {
		syms[i], marks[i] = p.Symbol, p.MarkPrice
	}
	i := 0
	for b.Loop() {
		k := i % len(syms)
		if mon.Mark(syms[k], marks[k]) {
			b.Fatal("crossed")
		}
		i++
	}
}

// BenchmarkMonitorMarkExponentChange: the rare path, a mark with a new exponent re-rounds the triggers.
func BenchmarkMonitorMarkExponentChange(b *testing.B) {
	r := newRules(b, nil)
	in := risk.Input{State: risk.Active, Wallet: d("20000"), Markets: markets("BTCUSDT"),
		Positions: []exchange.Position{short("BTCUSDT", "1", "60000", "60000.10")}}
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	if _, err := mon.Reset(in); err != nil {
		b.Fatal(err)
	}
	marks := []decimal.Decimal{d("60000.10"), d("60000.1000")}
	i := 0
	for b.Loop() {
		mon.Mark("BTCUSDT", marks[i&1])
		i++
	}
}

// BenchmarkEvaluate: a full evaluation of six healthy pairs (margin, liquidation, hedges; no action).
func BenchmarkEvaluate(b *testing.B) {
	r := newRules(b, nil)
	in := sixPairs(b)
	for b.Loop() {
		rep, err := r.Evaluate(&in)
		if err != nil || len(rep.Actions) != 0 {
			b.Fatal(err, len(rep.Actions))
		}
	}
}

// BenchmarkEvaluateWithActions: six pairs on the top-up rung (a top-up with its verification and reasons).
func BenchmarkEvaluateWithActions(b *testing.B) {
	r := newRules(b, nil)
	in := sixPairs(b)
	in.Wallet = d("8000") // each position ~25% from its liquidation price: the top-up rung
	for b.Loop() {
		rep, err := r.Evaluate(&in)
		if err != nil || len(rep.Actions) == 0 {
			b.Fatal(err, len(rep.Actions))
		}
	}
}

// BenchmarkMonitorEvaluate: what a crossed trigger costs: a full evaluation plus new triggers.
func BenchmarkMonitorEvaluate(b *testing.B) {
	r := newRules(b, nil)
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	if _, err := mon.Reset(sixPairs(b)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := mon.Evaluate(t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreTrade(b *testing.B) {
	r := newRules(b, nil)
	bk := book()
	c := spotOrder(exchange.Buy, "0.01")
	for b.Loop() {
		if err := r.PreTrade(bk, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMonitorMarkHandle: the hot path with the symbol looked up once (what the engine's loop uses).
func BenchmarkMonitorMarkHandle(b *testing.B) {
	r := newRules(b, nil)
	in := sixPairs(b)
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	if _, err := mon.Reset(in); err != nil {
		b.Fatal(err)
	}
	hs := make([]risk.Handle, len(in.Positions))
	marks := make([]decimal.Decimal, len(in.Positions))
	for i, p := range in.Positions {
		hs[i], marks[i] = mon.Handle(p.Symbol), p.MarkPrice
	}
	i := 0
	for b.Loop() {
		k := i % len(hs)
		if mon.MarkHandle(hs[k], marks[k]) {
			b.Fatal("crossed")
		}
		i++
	}
}
