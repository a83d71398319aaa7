package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

func loanTx(id string, kind exchange.LoanKind, asset, amount string, at time.Time) exchange.LoanTx {
	return exchange.LoanTx{TranID: id, Kind: kind, Asset: asset, Amount: d(amount), Time: at}
}

func TestDuplicateLoanTxStoredOnce(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "live")
	other, _ := st.EnsureAccount(ctx, "main", "paper")
	charge := exchange.LoanTx{TranID: "9001", Kind: exchange.LoanInterest, Asset: "BTC", Amount: d("0.00000042"), Time: t0,
		Rate: d("0.00000417"), Principal: d("0.1")}
	for i, want := range []bool{true, false, false} {
		isNew, err := st.InsertLoanTx(ctx, acct.ID, 0, charge)
		if err != nil {
			t.Fatal(err)
		}
		if isNew != want {
			t.Fatalf("insert %d: new = %v, want %v", i+1, isNew, want)
		}
	}
	// The same id of another kind is another transaction (Binance's borrow and interest ids are separate
	// sequences), and the same id on another account is that account's.
	if isNew, err := st.InsertLoanTx(ctx, acct.ID, 0, loanTx("9001", exchange.LoanBorrow, "BTC", "0.1", t0)); err != nil || !isNew {
		t.Fatalf("borrow with the interest's id: %v %v", isNew, err)
	}
	if isNew, err := st.InsertLoanTx(ctx, other.ID, 0, charge); err != nil || !isNew {
		t.Fatalf("same charge on another account: %v %v", isNew, err)
	}
	txs, err := st.LoanTxs(ctx, acct.ID, store.LoanFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(txs), txs)
	}
	got := txs[1]
	if got.Kind == exchange.LoanBorrow {
		got = txs[0]
	}
	if got.TranID != "9001" || !got.Amount.Equal(d("0.00000042")) || !got.Rate.Equal(d("0.00000417")) || !got.Principal.Equal(d("0.1")) || !got.Time.Equal(t0) {
		t.Errorf("stored charge %+v", got)
	}
	for _, bad := range []exchange.LoanTx{
		loanTx("", exchange.LoanBorrow, "BTC", "1", t0),
		loanTx("x", "fee", "BTC", "1", t0),
		loanTx("x", exchange.LoanRepay, "BTC", "-1", t0),
	} {
		if _, err := st.InsertLoanTx(ctx, acct.ID, 0, bad); err == nil {
			t.Errorf("stored %+v", bad)
		}
	}
}

func TestLoanSummaryPerPair(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "live")
	btc, err := st.CreatePair(ctx, pair.Pair{AccountID: acct.ID, Symbol: "BTCUSDT", Direction: pair.Reverse, TargetQty: d("0.1"), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	eth, err := st.CreatePair(ctx, pair.Pair{AccountID: acct.ID, Symbol: "ETHUSDT", Direction: pair.Reverse, TargetQty: d("2"), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	h := time.Hour
	rows := []struct {
		pair int64
		tx   exchange.LoanTx
	}{
		// BTC pair: borrowed 0.1, three hourly charges, 0.05 repaid so far.
		{btc.ID, loanTx("b1", exchange.LoanBorrow, "BTC", "0.1", t0)},
		{btc.ID, loanTx("i1", exchange.LoanInterest, "BTC", "0.00000042", t0)},
		{btc.ID, loanTx("i2", exchange.LoanInterest, "BTC", "0.00000042", t0.Add(h))},
		{btc.ID, loanTx("r1", exchange.LoanRepay, "BTC", "0.05", t0.Add(90*time.Minute))},
		{btc.ID, loanTx("i3", exchange.LoanInterest, "BTC", "0.00000021", t0.Add(2*h))},
		// ETH pair: borrowed in two steps, repaid in full with its interest.
		{eth.ID, loanTx("b2", exchange.LoanBorrow, "ETH", "1.5", t0)},
		{eth.ID, loanTx("b3", exchange.LoanBorrow, "ETH", "0.5", t0.Add(h))},
		{eth.ID, loanTx("i4", exchange.LoanInterest, "ETH", "0.00002", t0.Add(h))},
		{eth.ID, loanTx("r2", exchange.LoanRepay, "ETH", "2.00002", t0.Add(3*h))},
		// Unattributed: a USDT loan of the account.
		{0, loanTx("b4", exchange.LoanBorrow, "USDT", "100", t0)},
	}
	for pass := 0; pass < 2; pass++ { // a replay of the same history changes nothing
		for _, r := range rows {
			if _, err := st.InsertLoanTx(ctx, acct.ID, r.pair, r.tx); err != nil {
				t.Fatal(err)
			}
		}
	}
	sums, err := st.LoanSummaries(ctx, acct.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.LoanSummary{
		{PairID: 0, Asset: "USDT", Borrowed: d("100"), Repaid: decimal.Zero, Interest: decimal.Zero, Outstanding: d("100"), Count: 1, First: t0, Last: t0},
		{PairID: btc.ID, Asset: "BTC", Borrowed: d("0.1"), Repaid: d("0.05"), Interest: d("0.00000105"), Outstanding: d("0.05000105"), Count: 5, First: t0, Last: t0.Add(2 * h)},
		{PairID: eth.ID, Asset: "ETH", Borrowed: d("2"), Repaid: d("2.00002"), Interest: d("0.00002"), Outstanding: decimal.Zero, Count: 4, First: t0, Last: t0.Add(3 * h)},
	}
	if len(sums) != len(want) {
		t.Fatalf("summaries %+v", sums)
	}
	for i, w := range want {
		g := sums[i]
		if g.PairID != w.PairID || g.Asset != w.Asset || !g.Borrowed.Equal(w.Borrowed) || !g.Repaid.Equal(w.Repaid) || !g.Interest.Equal(w.Interest) ||
			!g.Outstanding.Equal(w.Outstanding) || g.Count != w.Count || !g.First.Equal(w.First) || !g.Last.Equal(w.Last) {
			t.Errorf("summary %d = %+v, want %+v", i, g, w)
		}
	}
	one, err := st.LoanSummaries(ctx, acct.ID, eth.ID)
	if err != nil || len(one) != 1 || one[0].PairID != eth.ID {
		t.Fatalf("summary of one pair: %+v %v", one, err)
	}
	// Listing by pair, asset and time.
	got, err := st.LoanTxs(ctx, acct.ID, store.LoanFilter{PairID: btc.ID, From: t0.Add(h), To: t0.Add(2 * h)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].TranID != "i2" || got[1].TranID != "r1" || got[0].PairID != btc.ID {
		t.Errorf("BTC pair in [t0+1h, t0+2h): %+v", got)
	}
	got, err = st.LoanTxs(ctx, acct.ID, store.LoanFilter{Asset: "ETH"})
	if err != nil || len(got) != 4 {
		t.Errorf("ETH rows: %+v %v", got, err)
	}
}

// The paper venue's loan history stored twice (a restart re-reading it) sums to what the venue owes.
func TestPaperLoanHistoryStoredOnce(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	cfg := paperConfig()
	cfg.InitialBalances[exchange.Margin] = map[string]decimal.Decimal{"USDT": d("5000")}
	cfg.InterestRates = map[string]decimal.Decimal{"BTC": d("0.00000417")}
	clk := clock.NewSim(t0)
	v, err := paper.New(ctx, cfg, clk, st.PaperJournal(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	apply(v, quoteEv(exchange.Spot, "60000", "60000.01", t0))
	if _, err := v.Borrow(ctx, "BTC", d("0.1")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "rev-s", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.07")}); err != nil {
		t.Fatal(err)
	}
	apply(v, quoteEv(exchange.Spot, "60000", "60000.01", t0.Add(5*time.Hour+time.Minute)))
	clk.Set(t0.Add(5*time.Hour + time.Minute))
	if _, err := v.Repay(ctx, "BTC", d("0.03")); err != nil {
		t.Fatal(err)
	}
	hist, err := v.LoanHistory(ctx, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for pass := 0; pass < 2; pass++ {
		for _, tx := range hist {
			if _, err := st.InsertLoanTx(ctx, acct.ID, 0, tx); err != nil {
				t.Fatal(err)
			}
		}
	}
	sums, err := st.LoanSummaries(ctx, acct.ID, 0)
	if err != nil || len(sums) != 1 {
		t.Fatalf("summaries %+v %v", sums, err)
	}
	loans, err := v.Loans(ctx)
	if err != nil || len(loans) != 1 {
		t.Fatalf("loans %+v %v", loans, err)
	}
	if s := sums[0]; !s.Outstanding.Equal(loans[0].Principal.Add(loans[0].Interest)) || s.Count != len(hist) || !s.Interest.Equal(d("0.00000252")) {
		t.Errorf("summary %+v vs venue %+v (history of %d)", s, loans[0], len(hist))
	}
}
