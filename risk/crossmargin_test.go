package risk_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy/pair"
)

func TestMarginLevelMath(t *testing.T) {
	call, liq := d("1.3"), d("1.1")
	lvl, ok := risk.MarginLevel(d("1300"), d("990"), d("10"))
	if !ok || !lvl.Equal(d("1.3")) {
		t.Fatalf("level %s %v; want 1.3", lvl, ok)
	}
	if _, ok := risk.MarginLevel(d("1300"), d("0"), d("0")); ok {
		t.Fatal("no debt has no margin level")
	}
	for _, c := range []struct {
		level  string
		status risk.MarginStatus
		rung   risk.Level
	}{
		{"2", risk.MarginOK, risk.LevelNone},
		{"1.3001", risk.MarginOK, risk.LevelNone},
		{"1.3", risk.MarginCall, risk.LevelTopup},
		{"1.25", risk.MarginCall, risk.LevelDeleverage},
		{"1.2", risk.MarginCall, risk.LevelFlatten},
		{"1.15", risk.MarginCall, risk.LevelHalt},
		{"1.1", risk.MarginLiquidation, risk.LevelHalt},
	} {
		if s := risk.MarginLevelStatus(d(c.level), call, liq); s != c.status {
			t.Fatalf("level %s: status %s; want %s", c.level, s, c.status)
		}
		if r := risk.MarginLevelRung(d(c.level), call, liq); r != c.rung {
			t.Fatalf("level %s: rung %s; want %s", c.level, r, c.rung)
		}
	}
	// (1,300 + x) / 1,000 = 1.5 → x = 200.
	if x := risk.MarginTopupAmount(d("1300"), d("1000"), d("1.5"), d("0.01")); !x.Equal(d("200")) {
		t.Fatalf("top-up %s; want 200", x)
	}
	// Valued wallet: 1 BTC borrowed and sold for 60,000 USDT, plus 18,000 USDT collateral; interest 0.001 BTC.
	cm := risk.CrossMargin{Balances: []exchange.Balance{
		{Venue: exchange.Margin, Asset: "USDT", Free: d("78000")},
		{Venue: exchange.Margin, Asset: "BTC", Borrowed: d("1"), Interest: d("0.001")},
	}, Prices: map[string]decimal.Decimal{"BTC": d("60000")}}
	a, l, i, err := risk.MarginTotals(cm, "USDT")
	if err != nil || !a.Equal(d("78000")) || !l.Equal(d("60000")) || !i.Equal(d("60")) {
		t.Fatalf("totals %s %s %s %v", a, l, i, err)
	}
	delete(cm.Prices, "BTC")
	if _, _, _, err := risk.MarginTotals(cm, "USDT"); err == nil {
		t.Fatal("a borrowed asset without a price was valued")
	}
}

func TestCrossMarginLadder(t *testing.T) {
	r := newRules(t, nil)
	rev := openPair(5, "BTCUSDT", "1", "1", "1")
	rev.Direction = pair.Reverse
	pos := long("BTCUSDT", "1", "60000", "60000")
	in := risk.Input{State: risk.Active, Wallet: d("60000"), SpotQuoteFree: d("10000"), Markets: markets("BTCUSDT"),
		Positions: []exchange.Position{pos}, Pairs: []pair.Pair{rev},
		CrossMargin: &risk.CrossMargin{Balances: []exchange.Balance{{Asset: "USDT", Free: d("78000")}, {Asset: "BTC", Borrowed: d("1")}},
			Prices: map[string]decimal.Decimal{"BTC": d("60000")}}}
	// 78,000 / 60,000 = 1.30: call → top up spot → margin to 1.5: 12,000, capped by the 10,000 free.
	rep := evaluate(t, r, in)
	ups := actionsOf(rep, risk.ActionTopup)
	if rep.CrossMargin == nil || rep.CrossMargin.Status != risk.MarginCall || len(ups) != 1 ||
		ups[0].Transfer != exchange.SpotToMargin || !ups[0].Amount.Equal(d("10000")) {
		t.Fatalf("margin call: %+v %+v", rep.CrossMargin, rep.Actions)
	}
	// 70,000 / 60,000 = 1.1667: flatten the reverse pair (buy back and repay, sell the perp); at 1.14 also halt.
	in.CrossMargin.Balances[0].Free = d("70000")
	rep = evaluate(t, r, in)
	if got := kinds(rep); len(got) != 1 || got[0] != risk.ActionFlatten || rep.Actions[0].Orders[0].SideEffect != exchange.AutoRepay {
		t.Fatalf("flatten rung: %v %+v", got, rep.Actions)
	}
	in.CrossMargin.Balances[0].Free = d("68400")
	if got := kinds(evaluate(t, r, in)); len(got) != 2 || got[1] != risk.ActionHalt {
		t.Fatalf("halt rung: %v", got)
	}
}
