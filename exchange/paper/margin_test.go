package paper_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
)

// hourly BTC rate of the margin tests: 0.1 BTC × 0.00000417 = 0.000000417, charged rounded UP to 8
// decimals = 0.00000042 BTC an hour.
const btcRate = "0.00000417"

func marginConfig() paper.Config {
	cfg := config()
	cfg.InitialBalances[exchange.Margin] = map[string]decimal.Decimal{"USDT": d("10000")}
	cfg.InterestRates = map[string]decimal.Decimal{"BTC": d(btcRate)}
	return cfg
}

// at is 2021-03-01 h:m UTC (t0's day).
func at(h, m int) time.Time { return time.Date(2021, 3, 1, h, m, 0, 0, time.UTC) }

func spotQuoteAt(v *paper.Venue, bid, ask string, t time.Time) {
	v.Apply(&exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: t,
		Quote: exchange.Quote{Venue: exchange.Spot, Symbol: "BTCUSDT", Bid: d(bid), BidQty: d("10"), Ask: d(ask), AskQty: d("10"), Time: t}})
}

func loanOf(t *testing.T, v *paper.Venue, asset string) exchange.Loan {
	t.Helper()
	ls, err := v.Loans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Asset == asset {
			return l
		}
	}
	return exchange.Loan{Asset: asset}
}

func history(t *testing.T, v *paper.Venue, asset string, kind exchange.LoanKind) []exchange.LoanTx {
	t.Helper()
	txs, err := v.LoanHistory(context.Background(), asset, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []exchange.LoanTx
	for _, x := range txs {
		if kind == "" || x.Kind == kind {
			out = append(out, x)
		}
	}
	return out
}

func sumTx(txs []exchange.LoanTx) decimal.Decimal {
	s := decimal.Zero
	for _, x := range txs {
		s = s.Add(x.Amount)
	}
	return s
}

func requireReject(t *testing.T, err error, kind exchange.RejectKind, code int) {
	t.Helper()
	var rej *exchange.RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("error %v, want a rejection %s %d", err, kind, code)
	}
	if rej.Kind != kind || rej.Code != code {
		t.Fatalf("rejection %s %d (%s), want %s %d", rej.Kind, rej.Code, rej.Reason, kind, code)
	}
}

// Binance's example: borrow at 13:20, repay at 14:15 = 2 hours of interest (the borrow-time charge and the
// 14:00 boundary), nothing for the 14:15 repayment itself.
func TestInterestBorrow1320Repay1415(t *testing.T) {
	ctx := context.Background()
	cfg := marginConfig()
	cfg.InitialBalances[exchange.Margin]["BTC"] = d("0.001") // to pay the interest with
	v, clk := newVenue(t, cfg, nil)
	clk.Set(at(13, 20))
	spotQuoteAt(v, "60000", "60000.01", at(13, 20))

	tx, err := v.Borrow(ctx, "BTC", d("0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if tx.Kind != exchange.LoanBorrow || !tx.Amount.Equal(d("0.1")) || !tx.Time.Equal(at(13, 20)) || tx.TranID == "" {
		t.Fatalf("borrow tx %+v", tx)
	}
	eq(t, "interest right after borrowing (the first hour, charged at once)", loanOf(t, v, "BTC").Interest, d("0.00000042"))

	clk.Set(at(13, 59))
	eq(t, "interest at 13:59", loanOf(t, v, "BTC").Interest, d("0.00000042"))

	clk.Set(at(14, 15)) // no event at all since 13:20: the repayment itself catches up the 14:00 boundary
	l := loanOf(t, v, "BTC")
	hand := d("0.00000084") // 2 × 0.00000042
	eq(t, "interest at 14:15", l.Interest, hand)
	eq(t, "principal at 14:15", l.Principal, d("0.1"))
	rtx, err := v.Repay(ctx, "BTC", l.Principal.Add(l.Interest))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "repaid", rtx.Amount, d("0.10000084"))
	eq(t, "principal part of the repayment (interest is paid first)", rtx.Principal, d("0.1"))
	if ls, _ := v.Loans(ctx); len(ls) != 0 {
		t.Fatalf("loans after the full repayment: %+v", ls)
	}

	clk.Set(at(18, 30))
	ints := history(t, v, "BTC", exchange.LoanInterest)
	if len(ints) != 2 {
		t.Fatalf("%d interest charges, want 2: %+v", len(ints), ints)
	}
	eq(t, "interest charged in total", sumTx(ints), hand)
	if !ints[0].Time.Equal(at(13, 20)) || !ints[1].Time.Equal(at(14, 0)) {
		t.Errorf("charges at %s and %s, want 13:20 and 14:00", ints[0].Time, ints[1].Time)
	}
	if ints[1].TranID != paper.InterestTranID("BTC", at(14, 0)) || !ints[1].Rate.Equal(d(btcRate)) || !ints[1].Principal.Equal(d("0.1")) {
		t.Errorf("boundary charge %+v", ints[1])
	}
	eq(t, "BTC left", balance(t, v, exchange.Margin, "BTC").Free, d("0.001").Sub(hand))
}

// Events that skip hours still charge every boundary exactly once, on the principal outstanding at that
// boundary and at the rate in effect then; a restart on the journal neither repeats nor loses a charge.
func TestInterestCatchUpEveryBoundaryOnce(t *testing.T) {
	ctx := context.Background()
	j := &paper.MemJournal{}
	cfg := marginConfig()
	v, clk := newVenue(t, cfg, j)
	clk.Set(at(13, 20))
	spotQuoteAt(v, "60000", "60000.01", at(13, 20))
	if _, err := v.Borrow(ctx, "BTC", d("0.2")); err != nil {
		t.Fatal(err)
	}
	// From 16:00 the rate doubles (a recorded rate fed as market data).
	if err := v.SetInterestRate("BTC", d("0.00000834"), at(16, 0)); err != nil {
		t.Fatal(err)
	}
	// The events move the venue on; the clock stays behind at 13:20 (the event time leads).
	spotQuoteAt(v, "60000", "60000.01", at(13, 40))
	if n := len(history(t, v, "BTC", exchange.LoanInterest)); n != 1 {
		t.Fatalf("%d charges by 13:40, want 1", n)
	}
	spotQuoteAt(v, "60000", "60000.01", at(15, 5)) // skips 14:00 and 15:00
	clk.Set(at(15, 30))
	// Half of the principal back at 15:30: interest first, then principal.
	l := loanOf(t, v, "BTC")
	if _, err := v.Repay(ctx, "BTC", d("0.1").Add(l.Interest)); err != nil {
		t.Fatal(err)
	}
	eq(t, "principal after the partial repayment", loanOf(t, v, "BTC").Principal, d("0.1"))
	spotQuoteAt(v, "60000", "60000.01", at(18, 5)) // skips 16:00, 17:00, 18:00
	spotQuoteAt(v, "60000", "60000.01", at(17, 0)) // late event: nothing to charge again
	spotQuoteAt(v, "60000", "60000.01", at(18, 5)) // same hour again

	// Restart: the rebuilt venue continues from the journal.
	v2, err := paper.New(ctx, cfg, clock.NewSim(at(18, 5)), j)
	if err != nil {
		t.Fatal(err)
	}
	if err := v2.SetInterestRate("BTC", d("0.00000834"), at(16, 0)); err != nil {
		t.Fatal(err)
	}
	spotQuoteAt(v2, "60000", "60000.01", at(18, 40))
	spotQuoteAt(v2, "60000", "60000.01", at(19, 0))

	// By hand: 0.2 × 0.00000417 = 0.000000834 → 0.00000084 at 13:20, 14:00 and 15:00;
	// 0.1 × 0.00000834 = 0.000000834 → 0.00000084 at 16:00, 17:00, 18:00 and 19:00.
	want := []struct {
		at     time.Time
		amount string
	}{
		{at(13, 20), "0.00000084"}, {at(14, 0), "0.00000084"}, {at(15, 0), "0.00000084"},
		{at(16, 0), "0.00000084"}, {at(17, 0), "0.00000084"}, {at(18, 0), "0.00000084"}, {at(19, 0), "0.00000084"},
	}
	got := history(t, v2, "BTC", exchange.LoanInterest)
	if len(got) != len(want) {
		t.Fatalf("%d charges, want %d: %+v", len(got), len(want), got)
	}
	ids := map[string]bool{}
	for i, w := range want {
		if !got[i].Time.Equal(w.at) || !got[i].Amount.Equal(d(w.amount)) {
			t.Errorf("charge %d: %s %s, want %s %s", i, got[i].Time.Format("15:04"), got[i].Amount, w.at.Format("15:04"), w.amount)
		}
		if ids[got[i].TranID] {
			t.Errorf("charge id %s twice", got[i].TranID)
		}
		ids[got[i].TranID] = true
	}
	eq(t, "rate at 17:00", got[4].Rate, d("0.00000834"))
	eq(t, "principal charged at 16:00", got[3].Principal, d("0.1"))
	// Interest outstanding: what was charged after the 15:30 repayment (16:00..19:00).
	eq(t, "interest owed", loanOf(t, v2, "BTC").Interest, d("0.00000336"))
	// The old venue's view of the same journal up to 18:05 agrees with the new one.
	if n := len(history(t, v, "BTC", exchange.LoanInterest)); n != 6 {
		t.Errorf("old venue: %d charges by 18:05, want 6", n)
	}
}

// The reverse pair, round trip: margin SELL with auto-borrow + perp long; hours later a margin BUY with
// auto-repay, grossed up for the fee in base and the interest, + perp close. The loan ends fully repaid and
// every wallet reconciles to the last decimal with a hand computation.
func TestReverseRoundTrip(t *testing.T) {
	ctx := context.Background()
	cfg := marginConfig()
	delete(cfg.InitialBalances, exchange.Margin)
	v, clk := newVenue(t, cfg, nil)
	clk.Set(at(7, 0))
	spotQuoteAt(v, "60000", "60000.01", at(7, 0))
	quote(v, exchange.Futures, "BTCUSDT", "60010", "60010.1")
	mark(v, "BTCUSDT", "60010")
	// 3100 of collateral: 3x lets 6200 be owed, 0.1033 BTC at the mid.
	if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToMargin, Asset: "USDT", Amount: d("3100")}); err != nil {
		t.Fatal(err)
	}
	margin0 := d("3100")
	fut0 := balance(t, v, exchange.Futures, "USDT").Free

	sell := place(t, v, exchange.OrderRequest{ClientID: "rev-1s", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.1"), SideEffect: exchange.AutoBorrow})
	if sell.Status != exchange.StatusFilled || sell.Venue != exchange.Margin || len(sell.Fills) != 1 || !sell.Fills[0].Price.Equal(d("60000")) {
		t.Fatalf("margin sell %+v", sell)
	}
	eq(t, "sell fee (quote)", sell.Fills[0].Fee, d("6"))
	place(t, v, market("rev-1p", exchange.Futures, "BTCUSDT", exchange.Buy, "0.1"))
	l := loanOf(t, v, "BTC")
	eq(t, "borrowed by the sell", l.Principal, d("0.1"))
	eq(t, "borrow-time interest", l.Interest, d("0.00000042"))
	eq(t, "BTC in margin after the sell", balance(t, v, exchange.Margin, "BTC").Free, decimal.Zero)

	// Funding is negative: the long receives −0.1 × 60000 × −0.0001 = 0.6.
	funding(v, "BTCUSDT", at(8, 0), "-0.0001", "60000")

	clk.Set(at(10, 30))
	spotQuoteAt(v, "59000", "59000.01", at(10, 30))
	quote(v, exchange.Futures, "BTCUSDT", "59005", "59005.1")
	mark(v, "BTCUSDT", "59005")
	l = loanOf(t, v, "BTC")
	eq(t, "interest at 10:30 (07:00, 08:00, 09:00, 10:00)", l.Interest, d("0.00000168"))
	debt := l.Principal.Add(l.Interest)
	// 0.10000168 / 0.999 = 0.100101781… → 0.10011 on the 0.00001 step (0.10011 × 0.999 = 0.10000989).
	qty := exchange.SpotBuyGrossUp(debt, d("0.001"), d("0.00001"))
	eq(t, "buy-back quantity", qty, d("0.10011"))
	buy := place(t, v, exchange.OrderRequest{ClientID: "rev-2s", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Buy,
		Type: exchange.Market, Qty: qty, SideEffect: exchange.AutoRepay})
	eq(t, "buy fee (base)", buy.Fills[0].Fee, d("0.00010011"))
	if buy.Fills[0].FeeAsset != "BTC" {
		t.Errorf("buy fee in %s", buy.Fills[0].FeeAsset)
	}
	place(t, v, exchange.OrderRequest{ClientID: "rev-2p", Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.1"), ReduceOnly: true})

	if ls, _ := v.Loans(ctx); len(ls) != 0 {
		t.Fatalf("loans after the round trip: %+v", ls)
	}
	mb := balance(t, v, exchange.Margin, "BTC")
	eq(t, "BTC borrowed after", mb.Borrowed, decimal.Zero)
	eq(t, "BTC interest after", mb.Interest, decimal.Zero)
	// BTC: 0.10011 − 0.00010011 fee − 0.10000168 repaid = 0.00000821 of dust.
	eq(t, "BTC dust", mb.Free, d("0.00000821"))
	// Margin USDT: 3100 + 0.1 × 60000 − 6 − 0.10011 × 59000.01 (= 5906.4910011) = 3187.5089989.
	eq(t, "margin USDT", balance(t, v, exchange.Margin, "USDT").Free, margin0.Add(d("87.5089989")))
	// Futures: − 0.1 × 60010.1 × 0.0005 (3.000505) + 0.6 funding + (59005 − 60010.1) × 0.1 (−100.51)
	// − 0.1 × 59005 × 0.0005 (2.95025) = −105.860755.
	eq(t, "futures USDT", balance(t, v, exchange.Futures, "USDT").Free, fut0.Add(d("-105.860755")))
	// The loan's history adds up: borrowed + interest = repaid.
	txs := history(t, v, "BTC", "")
	borrowed, repaid, interest := sumTx(filter(txs, exchange.LoanBorrow)), sumTx(filter(txs, exchange.LoanRepay)), sumTx(filter(txs, exchange.LoanInterest))
	eq(t, "borrowed", borrowed, d("0.1"))
	eq(t, "interest", interest, d("0.00000168"))
	eq(t, "repaid", repaid, borrowed.Add(interest))
	// The margin order is queryable on the margin venue, not on spot.
	if _, err := v.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "rev-2s"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "rev-2s"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("margin order found on spot: %v", err)
	}
	if lvl, err := v.MarginLevel(ctx); err != nil || !lvl.Equal(paper.NoDebtMarginLevel) {
		t.Errorf("margin level with no debt %s %v", lvl, err)
	}
}

func filter(txs []exchange.LoanTx, kind exchange.LoanKind) []exchange.LoanTx {
	var out []exchange.LoanTx
	for _, x := range txs {
		if x.Kind == kind {
			out = append(out, x)
		}
	}
	return out
}

// Max borrowable: net equity × (3 − 1) of debt in total, and the asset's borrow limit. An oversized borrow,
// or a margin order whose auto-borrow would be, is refused with RejectInsufficient and changes nothing.
func TestMaxBorrowable(t *testing.T) {
	ctx := context.Background()
	cfg := marginConfig()
	cfg.InitialBalances[exchange.Margin] = map[string]decimal.Decimal{"USDT": d("1000")}
	cfg.InterestRates["BTC"] = decimal.Zero
	cfg.DefaultInterestRate = d("0.000001")
	v, clk := newVenue(t, cfg, nil)
	clk.Set(at(9, 0))
	spotQuoteAt(v, "49999.99", "50000.01", at(9, 0)) // mid 50000

	// Equity 1000 at 3x: debt up to 2000 USDT = 0.04 BTC at 50000.
	m, err := v.MaxBorrowable(ctx, "BTC")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "max borrowable BTC", m, d("0.04"))
	_, err = v.Borrow(ctx, "BTC", d("0.04000001"))
	requireReject(t, err, exchange.RejectInsufficient, -3006)
	_, err = v.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "too-big", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.04001"), SideEffect: exchange.AutoBorrow})
	requireReject(t, err, exchange.RejectInsufficient, -3006)
	if _, err := v.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "too-big"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("a refused order exists: %v", err)
	}
	if ls, _ := v.Loans(ctx); len(ls) != 0 {
		t.Fatalf("a refused borrow left loans %+v", ls)
	}
	// Without a side effect a sell needs the base asset itself.
	_, err = v.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "no-btc", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.001")})
	requireReject(t, err, exchange.RejectInsufficient, -2010)

	// USDT can be borrowed too: 2000 of it.
	if m, _ := v.MaxBorrowable(ctx, "USDT"); !m.Equal(d("2000")) {
		t.Errorf("max borrowable USDT %s, want 2000", m)
	}
	if _, err := v.Borrow(ctx, "BTC", d("0.04")); err != nil {
		t.Fatal(err)
	}
	if m, _ := v.MaxBorrowable(ctx, "BTC"); !m.IsZero() {
		t.Errorf("max borrowable after borrowing it all: %s", m)
	}
	// Repaying more than owed is refused.
	_, err = v.Repay(ctx, "BTC", d("0.05"))
	requireReject(t, err, exchange.RejectOther, -3015)

	// A borrow limit caps the principal per asset.
	cfg.BorrowLimits = map[string]decimal.Decimal{"BTC": d("0.01")}
	v2, clk2 := newVenue(t, cfg, nil)
	clk2.Set(at(9, 0))
	spotQuoteAt(v2, "49999.99", "50000.01", at(9, 0))
	if m, _ := v2.MaxBorrowable(ctx, "BTC"); !m.Equal(d("0.01")) {
		t.Errorf("max borrowable under a 0.01 limit: %s", m)
	}
	if _, err := v2.Borrow(ctx, "BTC", d("0.006")); err != nil {
		t.Fatal(err)
	}
	_, err = v2.Borrow(ctx, "BTC", d("0.005"))
	requireReject(t, err, exchange.RejectInsufficient, -3006)
	if _, err := v2.MaxBorrowable(ctx, "DOGE"); err == nil {
		t.Error("max borrowable of an asset without a market")
	}
}

// Margin level = assets ÷ (liabilities + interest) at spot mids; at 1.1 the account is liquidated: the
// borrowed base is bought back at the ask (grossed up for the fee) and repaid.
func TestMarginLevelAndLiquidation(t *testing.T) {
	ctx := context.Background()
	cfg := marginConfig()
	cfg.InitialBalances[exchange.Margin] = map[string]decimal.Decimal{"USDT": d("1000")}
	cfg.InterestRates["BTC"] = decimal.Zero
	j := &paper.MemJournal{}
	v, clk := newVenue(t, cfg, j)
	clk.Set(at(9, 0))
	spotQuoteAt(v, "49999.99", "50000.01", at(9, 0))
	place(t, v, exchange.OrderRequest{ClientID: "short-1", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.04"), SideEffect: exchange.AutoBorrow})
	// USDT: 1000 + 0.04 × 49999.99 (1999.9996) − fee 1.9999996 = 2997.9996004; debt 0.04 BTC.
	eq(t, "margin USDT", balance(t, v, exchange.Margin, "USDT").Free, d("2997.9996004"))
	lvl, err := v.MarginLevel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 2997.9996004 ÷ (0.04 × 50000) = 1.4989998002 → 1.49899980.
	eq(t, "margin level at 50000", lvl, d("1.49899980"))

	spotQuoteAt(v, "67999.99", "68000.01", at(9, 10)) // 2997.9996004 ÷ 2720 = 1.1022…: no liquidation
	if lq := v.MarginLiquidations(); len(lq) != 0 {
		t.Fatalf("liquidated above 1.1: %+v", lq)
	}
	eq(t, "principal still owed", loanOf(t, v, "BTC").Principal, d("0.04"))

	spotQuoteAt(v, "68180", "68180.02", at(9, 20)) // 2997.9996004 ÷ 2727.2004 = 1.0993…
	lq := v.MarginLiquidations()
	if len(lq) != 1 {
		t.Fatalf("liquidations %+v", lq)
	}
	// Buy back 0.04 / 0.999 → 0.04005 at the ask 68180.02 (2730.609801), fee 0.00004005 BTC.
	x := lq[0]
	if x.Asset != "BTC" || !x.Qty.Equal(d("0.04005")) || !x.Price.Equal(d("68180.02")) || !x.Repaid.Equal(d("0.04")) || !x.Insurance.IsZero() {
		t.Errorf("liquidation %+v", x)
	}
	if x.MarginLevel.GreaterThan(d("1.1")) {
		t.Errorf("liquidated at level %s", x.MarginLevel)
	}
	if ls, _ := v.Loans(ctx); len(ls) != 0 {
		t.Fatalf("loans after liquidation %+v", ls)
	}
	eq(t, "USDT after liquidation", balance(t, v, exchange.Margin, "USDT").Free, d("267.3897994"))
	eq(t, "BTC after liquidation", balance(t, v, exchange.Margin, "BTC").Free, d("0.00000995"))
	o, err := v.QueryOrder(ctx, exchange.Margin, "BTCUSDT", x.ClientID)
	if err != nil || o.Status != exchange.StatusFilled || !o.ExecutedQty.Equal(d("0.04005")) {
		t.Errorf("liquidation order %+v %v", o, err)
	}
	// Restart: the liquidation is in the journal.
	v2, err := paper.New(ctx, cfg, clk, j)
	if err != nil {
		t.Fatal(err)
	}
	spotQuoteAt(v2, "68180", "68180.02", at(9, 30))
	if fmt.Sprintf("%+v", v2.MarginLiquidations()) != fmt.Sprintf("%+v", v.MarginLiquidations()) {
		t.Errorf("after restart %+v", v2.MarginLiquidations())
	}
	eq(t, "USDT after restart", balance(t, v2, exchange.Margin, "USDT").Free, d("267.3897994"))
}

// Fault hooks work on the margin venue; a partial auto-borrow sell borrows only what it sold beyond the
// free base.
func TestMarginFaultsAndPartialBorrow(t *testing.T) {
	ctx := context.Background()
	cfg := marginConfig()
	cfg.InitialBalances[exchange.Margin]["BTC"] = d("0.01")
	v, clk := newVenue(t, cfg, nil)
	clk.Set(at(9, 0))
	spotQuoteAt(v, "60000", "60000.01", at(9, 0))
	req := func(id string) exchange.OrderRequest {
		return exchange.OrderRequest{ClientID: id, Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
			Type: exchange.Market, Qty: d("0.05"), SideEffect: exchange.AutoBorrow}
	}
	v.Faults().RejectNext(exchange.Margin, -3045, "The system does not have enough asset now.")
	_, err := v.PlaceOrder(ctx, req("f-rej"))
	requireReject(t, err, exchange.RejectInsufficient, -3045)

	v.Faults().PartialNext(exchange.Margin, 0.5)
	o := place(t, v, req("f-part"))
	if o.Status != exchange.StatusExpired || !o.ExecutedQty.Equal(d("0.025")) {
		t.Fatalf("partial %+v", o)
	}
	// Sold 0.025 with 0.01 free: borrowed 0.015.
	eq(t, "borrowed by the partial sell", loanOf(t, v, "BTC").Principal, d("0.015"))
	eq(t, "BTC left", balance(t, v, exchange.Margin, "BTC").Free, decimal.Zero)

	v.Faults().TimeoutNext(exchange.Margin)
	_, err = v.PlaceOrder(ctx, req("f-to"))
	if !errors.Is(err, paper.ErrTimeout) || exchange.IsRejected(err) {
		t.Fatalf("timeout: %v", err)
	}
	q, err := v.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "f-to")
	if err != nil || q.Status != exchange.StatusFilled {
		t.Fatalf("query after timeout %+v %v", q, err)
	}
	eq(t, "borrowed after the timed-out order executed", loanOf(t, v, "BTC").Principal, d("0.065"))

	v.Faults().LoseNext(exchange.Margin)
	if _, err := v.PlaceOrder(ctx, req("f-lost")); !errors.Is(err, paper.ErrLost) {
		t.Fatalf("lost: %v", err)
	}
	if _, err := v.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "f-lost"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("lost order found: %v", err)
	}
	_, err = v.PlaceOrder(ctx, req("f-to")) // a client id is used once
	requireReject(t, err, exchange.RejectOther, -2010)
	// A buy with auto-repay repays from what it bought, up to the debt; the rest stays free.
	b := place(t, v, exchange.OrderRequest{ClientID: "f-buy", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Buy,
		Type: exchange.Market, Qty: d("0.01"), SideEffect: exchange.AutoRepay})
	eq(t, "bought net", b.Fills[0].Qty.Sub(b.Fills[0].Fee), d("0.00999"))
	l := loanOf(t, v, "BTC")
	// Debt before: 0.065 + interest (0.015 and 0.05 borrowed at 09:00: 0.00000007 + 0.00000021). The 0.00999
	// pays the interest first, then principal.
	eq(t, "principal after auto-repay", l.Principal, d("0.065").Sub(d("0.00999").Sub(d("0.00000028"))))
	eq(t, "interest after auto-repay", l.Interest, decimal.Zero)
	// Margin transfers out are capped while something is owed (margin level ≥ 2 after).
	_, err = v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.MarginToSpot, Asset: "USDT", Amount: d("9000")})
	requireReject(t, err, exchange.RejectInsufficient, -5013)
}

// A quote-asset loan (a long on margin) is liquidated by selling the other assets at the bid.
func TestMarginLiquidationOfAQuoteLoan(t *testing.T) {
	ctx := context.Background()
	cfg := marginConfig()
	cfg.InitialBalances[exchange.Margin] = map[string]decimal.Decimal{"USDT": d("1000")}
	cfg.InterestRates["USDT"] = decimal.Zero
	v, clk := newVenue(t, cfg, nil)
	clk.Set(at(9, 0))
	spotQuoteAt(v, "49999.99", "50000.01", at(9, 0))
	place(t, v, exchange.OrderRequest{ClientID: "long-1", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Buy,
		Type: exchange.Market, Qty: d("0.05"), SideEffect: exchange.AutoBorrow})
	// 0.05 × 50000.01 = 2500.0005, 1000 of it free: 1500.0005 borrowed; 0.04995 BTC net of the fee.
	eq(t, "USDT borrowed", loanOf(t, v, "USDT").Principal, d("1500.0005"))
	eq(t, "BTC held", balance(t, v, exchange.Margin, "BTC").Free, d("0.04995"))
	// 0.04995 × 33000.01 ÷ 1500.0005 = 1.0989…: sell ceil(1500.0005 ÷ (33000 × 0.999)) = 0.04551 at the bid.
	spotQuoteAt(v, "33000", "33000.02", at(9, 5))
	lq := v.MarginLiquidations()
	if len(lq) != 2 || lq[0].Asset != "BTC" || lq[0].Side != exchange.Sell || !lq[0].Qty.Equal(d("0.04551")) ||
		lq[1].Asset != "USDT" || !lq[1].Repaid.Equal(d("1500.0005")) || !lq[1].Insurance.IsZero() {
		t.Fatalf("liquidation %+v", lq)
	}
	if ls, _ := v.Loans(ctx); len(ls) != 0 {
		t.Fatalf("loans after liquidation %+v", ls)
	}
	// 0.04551 × 33000 = 1501.83 − 1.50183 fee − 1500.0005 repaid = 0.32767; 0.04995 − 0.04551 = 0.00444 BTC.
	eq(t, "USDT left", balance(t, v, exchange.Margin, "USDT").Free, d("0.32767"))
	eq(t, "BTC left", balance(t, v, exchange.Margin, "BTC").Free, d("0.00444"))
}

// Margin fills pay fees like spot, booked to 8 decimal places: a sell of 0.12345 BTC at 60,000.01 at 0.1%
// pays 7.4070012345 → 7.40700123 USDT, not the unrounded amount.
func TestMarginFeesAreBookedLikeSpot(t *testing.T) {
	cfg := marginConfig()
	cfg.InitialBalances[exchange.Margin]["BTC"] = d("0.2")
	cfg.InitialBalances[exchange.Spot]["BTC"] = d("0.2")
	v, clk := newVenue(t, cfg, nil)
	clk.Set(at(9, 0))
	spotQuoteAt(v, "60000.01", "60000.02", at(9, 0))
	sell := func(id string, venue exchange.Venue) exchange.Fill {
		o := place(t, v, market(id, venue, "BTCUSDT", exchange.Sell, "0.12345"))
		if len(o.Fills) != 1 || o.Fills[0].FeeAsset != "USDT" {
			t.Fatalf("%s sell %+v", venue, o)
		}
		return o.Fills[0]
	}
	spot, margin := sell("fee-spot", exchange.Spot), sell("fee-margin", exchange.Margin)
	eq(t, "spot sell fee", spot.Fee, d("7.40700123"))
	eq(t, "margin sell fee", margin.Fee, d("7.40700123"))
	eq(t, "margin USDT", balance(t, v, exchange.Margin, "USDT").Free, d("10000").Add(d("7407.0012345")).Sub(d("7.40700123")))
}
