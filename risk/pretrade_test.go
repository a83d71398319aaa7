package risk_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/risk"
)

// book: 5,000 USDT and 0.1 BTC free in spot, 2,000 USDT available in futures on a 10,000 margin balance,
// BTC short 0.1 (hedged) at 60,000 with leverage 2, ETH and SOL exposures of 40,000 each.
func book() *risk.Book {
	return &risk.Book{
		State:                risk.Active,
		SpotFree:             map[string]decimal.Decimal{"USDT": d("5000"), "BTC": d("0.1")},
		MarginFree:           map[string]decimal.Decimal{"USDT": d("100")},
		FuturesAvailable:     d("2000"),
		FuturesMarginBalance: d("10000"),
		Symbols: map[string]risk.Exposure{
			"BTCUSDT": {Spot: d("0.1"), Perp: d("-0.1"), Price: d("60000"), Leverage: 2},
			"ETHUSDT": {Spot: d("10"), Perp: d("-10"), Price: d("4000"), Leverage: 2},
			"SOLUSDT": {Spot: d("400"), Perp: d("-400"), Price: d("100"), Leverage: 2},
		},
	}
}

func spotOrder(side exchange.Side, qty string) risk.OrderCheck {
	m := market("BTCUSDT", "BTC")
	return risk.OrderCheck{Order: exchange.OrderRequest{Venue: exchange.Spot, Symbol: "BTCUSDT", Side: side, Type: exchange.Market, Qty: d(qty)},
		Instrument: m.Spot, Price: d("60000"), Origin: risk.OriginStrategy}
}

func perpOrder(side exchange.Side, qty string, reduceOnly bool) risk.OrderCheck {
	m := market("BTCUSDT", "BTC")
	return risk.OrderCheck{Order: exchange.OrderRequest{Venue: exchange.Futures, Symbol: "BTCUSDT", Side: side, Type: exchange.Market, Qty: d(qty),
		ReduceOnly: reduceOnly}, Instrument: m.Perp, Price: d("60000"), Origin: risk.OriginStrategy}
}

func TestPreTradeRefusals(t *testing.T) {
	r := newRules(t, nil) // per symbol 50,000, total 100,000, max leverage 5
	cases := []struct {
		name   string
		mutate func(*risk.Book, *risk.OrderCheck)
		check  risk.OrderCheck
		want   string // "" passes; else the exact reason or a prefix ending in "…"
	}{
		{"within every limit", nil, spotOrder(exchange.Buy, "0.01"), ""},
		{"lot step", nil, spotOrder(exchange.Buy, "0.000015"),
			"filters: spot BTCUSDT: quantity 0.000015 is not a multiple of the lot step 0.00001"},
		{"not trading", func(_ *risk.Book, c *risk.OrderCheck) { c.Instrument.Trading = false }, spotOrder(exchange.Buy, "0.01"),
			"filters: spot BTCUSDT is not trading"},
		{"min notional", nil, spotOrder(exchange.Buy, "0.00005"),
			"min_notional: spot BTCUSDT: notional 3.0000 (0.00005 × 60000) is below the minimum 5"},
		{"futures min notional", func(b *risk.Book, _ *risk.OrderCheck) {
			b.Symbols["BTCUSDT"] = risk.Exposure{Price: d("60000"), Leverage: 2}
		},
			perpOrder(exchange.Sell, "0.001", false), "min_notional: futures BTCUSDT: notional 60.0000 (0.001 × 60000) is below the minimum 100"},
		{"reduce-only futures exempt from min notional", nil, perpOrder(exchange.Buy, "0.001", true), ""},
		{"reduce-only that would not reduce", nil, perpOrder(exchange.Sell, "0.001", true), "reduce_only: …"},
		{"spot quote balance", nil, spotOrder(exchange.Buy, "0.1"),
			"balance: buying 0.1 BTCUSDT needs 6,000.00 USDT, only 5,000.00 is free in spot"},
		{"spot base balance", nil, spotOrder(exchange.Sell, "0.2"), "balance: selling 0.2 BTCUSDT needs 0.2 BTC, only 0.1 is free in spot"},
		{"margin buy needs margin quote", nil, risk.OrderCheck{Order: exchange.OrderRequest{Venue: exchange.Margin, Symbol: "BTCUSDT",
			Side: exchange.Buy, Type: exchange.Market, Qty: d("0.01"), SideEffect: exchange.AutoRepay}, Instrument: market("BTCUSDT", "BTC").Spot,
			Price: d("60000"), Origin: risk.OriginStrategy}, "balance: buying 0.01 BTCUSDT needs 600.00 USDT, only 100.00 is free in margin"},
		{"margin sell with borrow", nil, risk.OrderCheck{Order: exchange.OrderRequest{Venue: exchange.Margin, Symbol: "BTCUSDT",
			Side: exchange.Sell, Type: exchange.Market, Qty: d("0.01"), SideEffect: exchange.AutoBorrow}, Instrument: market("BTCUSDT", "BTC").Spot,
			Price: d("60000"), Origin: risk.OriginStrategy}, ""},
		{"initial margin", nil, perpOrder(exchange.Sell, "0.1", false),
			"futures_margin: 0.1 BTCUSDT at 2x needs initial margin 3,000.00, only 2,000.00 is available"},
		{"leverage setting", func(b *risk.Book, _ *risk.OrderCheck) {
			e := b.Symbols["BTCUSDT"]
			e.Leverage = 10
			b.Symbols["BTCUSDT"] = e
		}, perpOrder(exchange.Sell, "0.01", false), "max_leverage: BTCUSDT is set to 10x > limit 5x"},
		{"leverage unknown", func(b *risk.Book, _ *risk.OrderCheck) {
			e := b.Symbols["BTCUSDT"]
			e.Leverage = 0
			b.Symbols["BTCUSDT"] = e
		}, perpOrder(exchange.Sell, "0.01", false), "max_leverage: the futures leverage of BTCUSDT is unknown; set the symbol up before trading it"},
		// Futures notional 6,000 + 40,000 + 40,000 = 86,000 and +600 → 86,600 on 10,000 = 8.66x.
		{"effective leverage", func(b *risk.Book, _ *risk.OrderCheck) { b.FuturesAvailable = d("100000") }, perpOrder(exchange.Sell, "0.01", false),
			"max_leverage: futures notional 86,600.00 after this order is 8.66x the margin balance 10,000.00 > limit 5x"},
		{"max notional per symbol", func(b *risk.Book, _ *risk.OrderCheck) {
			b.SpotFree["USDT"] = d("1000000")
			b.Symbols["ETHUSDT"] = risk.Exposure{}
			b.Symbols["SOLUSDT"] = risk.Exposure{}
		}, spotOrder(exchange.Buy, "0.75"), "max_notional_per_symbol: BTCUSDT 51,000.00 after this order > limit 50,000"},
		// binance.md-style numbers: 40,000 + 40,000 + BTC 0.1→0.405 at 60,000 = 24,300 → 104,300.
		{"max notional total", func(b *risk.Book, _ *risk.OrderCheck) { b.SpotFree["USDT"] = d("1000000") }, spotOrder(exchange.Buy, "0.305"),
			"max_notional_total: 104,300.00 after this order > limit 100,000"},
		{"reducing orders pass limits already broken", func(b *risk.Book, _ *risk.OrderCheck) {
			b.Symbols["ETHUSDT"] = risk.Exposure{Spot: d("20"), Perp: d("-20"), Price: d("4000"), Leverage: 2}
		}, spotOrder(exchange.Sell, "0.05"), ""},
		{"reducing state refuses growth", func(b *risk.Book, _ *risk.OrderCheck) { b.State = risk.Reducing }, spotOrder(exchange.Buy, "0.01"),
			"trading_state: the account is reducing: only exposure-reducing orders are allowed; this BUY 0.01 on spot BTCUSDT would take the spot leg from 0.1 to 0.11"},
		{"reducing state allows a reduction", func(b *risk.Book, _ *risk.OrderCheck) { b.State = risk.Reducing }, perpOrder(exchange.Buy, "0.05", true), ""},
		{"halted refuses the strategy's reduction", func(b *risk.Book, _ *risk.OrderCheck) { b.State = risk.Halted }, spotOrder(exchange.Sell, "0.05"),
			"trading_state: the account is halted: only exposure-reducing orders from risk or an operator are allowed; this SELL 0.05 on spot BTCUSDT would take the spot leg from 0.1 to 0.05 (origin strategy)"},
		{"halted allows risk's flatten", func(b *risk.Book, c *risk.OrderCheck) { b.State = risk.Halted; c.Origin = risk.OriginRisk },
			perpOrder(exchange.Buy, "0.1", true), ""},
		{"halted allows an operator's reduction", func(b *risk.Book, c *risk.OrderCheck) { b.State = risk.Halted; c.Origin = risk.OriginOperator },
			spotOrder(exchange.Sell, "0.1"), ""},
		{"halted refuses even risk's growth", func(b *risk.Book, c *risk.OrderCheck) { b.State = risk.Halted; c.Origin = risk.OriginRisk },
			spotOrder(exchange.Buy, "0.01"), "trading_state: the account is halted: …"},
		// Buying 0.2 against a 0.1 short closes it and opens a 0.1 long: only that 0.1 needs initial margin.
		{"a flip counts its opening part", nil, perpOrder(exchange.Buy, "0.2", false),
			"futures_margin: 0.1 BTCUSDT at 2x needs initial margin 3,000.00, only 2,000.00 is available"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, chk := book(), c.check
			if c.mutate != nil {
				c.mutate(b, &chk)
			}
			err := r.PreTrade(b, chk)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var re *exchange.RejectError
			if !errors.As(err, &re) || re.Kind != exchange.RejectRisk {
				t.Fatalf("error %v; want a *RejectError of kind risk", err)
			}
			if prefix, ok := strings.CutSuffix(c.want, "…"); ok {
				if !strings.HasPrefix(re.Reason, prefix) {
					t.Fatalf("reason %q; want it to start with %q", re.Reason, prefix)
				}
				return
			}
			if re.Reason != c.want {
				t.Fatalf("reason\n  %q\nwant\n  %q", re.Reason, c.want)
			}
		})
	}
}
