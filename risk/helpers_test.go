package risk_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/pgtest"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy/pair"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var t0 = time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC)

// defaults is the shipped risk configuration (config.example.yaml).
func defaults(t testing.TB) config.RiskConfig {
	t.Helper()
	c, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c.Risk
}

func newRules(t testing.TB, mutate func(*config.RiskConfig)) *risk.Rules {
	t.Helper()
	c := defaults(t)
	if mutate != nil {
		mutate(&c)
	}
	r, err := risk.New(c, "USDT")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// market is a symbol with BTCUSDT's filters (binance.md) and the BTCUSDT bracket snapshot.
func market(symbol, base string) risk.Market {
	return risk.Market{
		Spot: exchange.Instrument{Venue: exchange.Spot, Symbol: symbol, Base: base, Quote: "USDT", Trading: true,
			TickSize: d("0.01"), StepSize: d("0.00001"), MinQty: d("0.00001"), MinNotional: d("5"), MinNotionalMarket: true},
		Perp: exchange.Instrument{Venue: exchange.Futures, Symbol: symbol, Base: base, Quote: "USDT", Trading: true,
			TickSize: d("0.1"), StepSize: d("0.001"), MinQty: d("0.001"), MinNotional: d("100"), MinNotionalMarket: true},
		Brackets:      exchange.DefaultBrackets(),
		SpotFeeInBase: d("0.001"),
	}
}

func markets(symbols ...string) map[string]risk.Market {
	out := map[string]risk.Market{}
	for _, s := range symbols {
		out[s] = market(s, s[:len(s)-4])
	}
	return out
}

// short is a cross short position of qty at entry, marked at mark.
func short(symbol, qty, entry, mark string) exchange.Position {
	return exchange.Position{Symbol: symbol, Qty: d(qty).Neg(), EntryPrice: d(entry), MarkPrice: d(mark), Leverage: 2}
}

func long(symbol, qty, entry, mark string) exchange.Position {
	return exchange.Position{Symbol: symbol, Qty: d(qty), EntryPrice: d(entry), MarkPrice: d(mark), Leverage: 2}
}

func isolated(p exchange.Position, wallet string) exchange.Position {
	p.Isolated = true
	p.IsolatedWallet = d(wallet)
	return p
}

// openPair is an open carry pair hedged at qty (spot net qty, perp qty).
func openPair(id int64, symbol, spot, perp, target string) pair.Pair {
	return pair.Pair{ID: id, Symbol: symbol, Direction: pair.Carry, State: pair.Open, Intent: pair.IntentOpen,
		TargetQty: d(target), SpotQty: d(spot), PerpQty: d(perp), EntrySpotPrice: d("60000"), EntryPerpPrice: d("60000")}
}

func evaluate(t testing.TB, r *risk.Rules, in risk.Input) risk.Report {
	t.Helper()
	rep, err := r.Evaluate(&in)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func actionsOf(rep risk.Report, kind risk.ActionKind) []risk.Action {
	var out []risk.Action
	for _, a := range rep.Actions {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

func notesOf(rep risk.Report, kind risk.NoteKind) []risk.Note {
	var out []risk.Note
	for _, n := range rep.Notes {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func kinds(rep risk.Report) []risk.ActionKind {
	out := []risk.ActionKind{}
	for _, a := range rep.Actions {
		out = append(out, a.Kind)
	}
	return out
}
