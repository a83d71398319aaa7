package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// The backtest's funding writer stores every payment once, in the background, and a failed write stops the
// run: the next payment and Flush return it.
func TestBatchedFundingWritesEveryPaymentOnceAndReportsAFailure(t *testing.T) {
	ctx := context.Background()
	st, _ := pg.NewStore(t)
	acct, err := st.EnsureAccount(ctx, "bt", "backtest")
	if err != nil {
		t.Fatal(err)
	}
	pay := func(i int) exchange.FundingPayment {
		return exchange.FundingPayment{TranID: fmt.Sprintf("paper-BTCUSDT-%d", i), Symbol: "BTCUSDT", Asset: "USDT",
			Amount: decimal.New(int64(i), -4), Time: time.Unix(int64(i)*28800, 0).UTC()}
	}
	b := &batchedFunding{Store: st, seen: map[string]bool{}}
	n := 2*fundingBatch + 7
	for i := range n {
		if isNew, err := b.InsertFunding(ctx, acct.ID, 0, pay(i)); err != nil || !isNew {
			t.Fatalf("payment %d: new=%v err=%v", i, isNew, err)
		}
	}
	if isNew, _ := b.InsertFunding(ctx, acct.ID, 0, pay(3)); isNew {
		t.Fatal("a payment seen before is new again")
	}
	if err := b.Flush(ctx, acct.ID); err != nil {
		t.Fatal(err)
	}
	rows, err := st.FundingPayments(ctx, acct.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, r := range rows {
		sum = sum.Add(r.Amount)
	}
	if want := decimal.New(int64(n*(n-1)/2), -4); len(rows) != n || !sum.Equal(want) {
		t.Fatalf("stored %d payments summing %s; want %d summing %s", len(rows), sum, n, want)
	}

	// The database goes away: the writer's failure reaches the engine and Flush.
	gone, _ := pg.NewStore(t)
	gone.Close()
	b = &batchedFunding{Store: gone, seen: map[string]bool{}}
	for i := range fundingBatch + 1 {
		if _, err := b.InsertFunding(ctx, acct.ID, 0, pay(i)); err != nil {
			break // the first batch failed already (it is written in the background)
		}
	}
	if err := b.Flush(ctx, acct.ID); err == nil {
		t.Fatal("Flush to a closed database succeeded")
	}
	if _, err := b.InsertFunding(ctx, acct.ID, 0, pay(n)); err == nil {
		t.Fatal("a payment after a failed write was accepted")
	}
	if err := b.stop(); err == nil {
		t.Fatal("stop after Flush forgot the failure")
	}
}
