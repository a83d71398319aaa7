package paper_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/pgtest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

// marginSnapshot is everything of cross margin a restart must keep.
func marginSnapshot(t *testing.T, v *paper.Venue, orders ...string) string {
	t.Helper()
	ctx := context.Background()
	bal, err := v.Balances(ctx, exchange.Margin)
	if err != nil {
		t.Fatal(err)
	}
	loans, err := v.Loans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := v.LoanHistory(ctx, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	lvl, err := v.MarginLevel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprintf("balances %+v\nloans %+v\nhistory %+v\nlevel %s\nliquidations %+v\n", bal, loans, hist, lvl, v.MarginLiquidations())
	for _, id := range orders {
		o, err := v.QueryOrder(ctx, exchange.Margin, "BTCUSDT", id)
		if err != nil {
			t.Fatal(err)
		}
		s += fmt.Sprintf("order %+v\n", o)
	}
	return s
}

// A restart on the Postgres journal restores loans, interest history and margin balances, and goes on
// charging from the next boundary: none repeated, none lost.
func TestMarginRestartFromPostgres(t *testing.T) {
	ctx := context.Background()
	st, _ := pg.NewStore(t)
	acct, err := st.EnsureAccount(ctx, "paper-margin", "paper")
	if err != nil {
		t.Fatal(err)
	}
	cfg := marginConfig()
	clk := clock.NewSim(at(13, 20))
	v, err := paper.New(ctx, cfg, clk, st.PaperJournal(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	spotQuoteAt(v, "60000", "60000.01", at(13, 20))
	place(t, v, exchange.OrderRequest{ClientID: "pg-sell", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.1"), SideEffect: exchange.AutoBorrow})
	if _, err := v.Borrow(ctx, "USDT", d("500")); err != nil {
		t.Fatal(err)
	}
	spotQuoteAt(v, "60100", "60100.01", at(16, 10)) // 14:00, 15:00, 16:00 charged by the event
	clk.Set(at(16, 30))
	if _, err := v.Repay(ctx, "USDT", d("200.02")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToMargin, Asset: "USDT", Amount: d("1000")}); err != nil {
		t.Fatal(err)
	}
	before := marginSnapshot(t, v, "pg-sell")
	if n := len(history(t, v, "BTC", exchange.LoanInterest)); n != 4 {
		t.Fatalf("%d BTC charges before the restart, want 4", n)
	}

	clk2 := clock.NewSim(at(16, 30))
	v2, err := paper.New(ctx, cfg, clk2, st.PaperJournal(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	spotQuoteAt(v2, "60100", "60100.01", at(16, 30)) // market data is not journaled: the feed provides it again
	if after := marginSnapshot(t, v2, "pg-sell"); after != before {
		t.Fatalf("restart changed the margin account:\nbefore %s\nafter  %s", before, after)
	}
	// Going on: 17:00 and 18:00 are charged once each, on the principal outstanding.
	spotQuoteAt(v2, "60100", "60100.01", at(18, 0))
	spotQuoteAt(v2, "60100", "60100.01", at(18, 20))
	btc := history(t, v2, "BTC", exchange.LoanInterest)
	if len(btc) != 6 {
		t.Fatalf("%d BTC charges, want 6: %+v", len(btc), btc)
	}
	for i, h := range []int{14, 15, 16, 17, 18} {
		if got := btc[i+1]; !got.Time.Equal(at(h, 0)) || !got.Amount.Equal(d("0.00000042")) {
			t.Errorf("BTC charge %d: %+v", i+1, got)
		}
	}
	usdt := history(t, v2, "USDT", exchange.LoanInterest)
	// 500 USDT at the default 0.001%/h = 0.005 at 13:20, 14:00, 15:00, 16:00; 300 × 0.00001 = 0.003 at 17:00
	// and 18:00 (the 16:30 repayment of 200.02 paid the 0.02 of interest, then 200 of principal).
	want := []string{"0.005", "0.005", "0.005", "0.005", "0.003", "0.003"}
	if len(usdt) != len(want) {
		t.Fatalf("USDT charges %+v", usdt)
	}
	for i, w := range want {
		eq(t, fmt.Sprintf("USDT charge %d", i), usdt[i].Amount, d(w))
	}
	l := loanOf(t, v2, "USDT")
	eq(t, "USDT principal", l.Principal, d("300"))
	eq(t, "USDT interest", l.Interest, d("0.006"))

	// A third incarnation agrees with the second.
	v3, err := paper.New(ctx, cfg, clock.NewSim(at(18, 20)), st.PaperJournal(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	spotQuoteAt(v3, "60100", "60100.01", at(18, 20))
	if a, b := marginSnapshot(t, v3, "pg-sell"), marginSnapshot(t, v2, "pg-sell"); a != b {
		t.Fatalf("second restart:\n%s\nvs\n%s", a, b)
	}
}
