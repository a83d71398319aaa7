package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
)

// A backtest's background writes: every funding payment once and every risk event, in Postgres when stop
// returns; a failed write reaches the next record and stop.
func TestBackgroundWritesLandOnceAndReportAFailure(t *testing.T) {
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
	event := func(i int) store.RiskEvent {
		return store.RiskEvent{AccountID: acct.ID, Symbol: "BTCUSDT", Kind: "topup", Actor: "risk", Detail: fmt.Sprintf("top-up %d", i),
			Amount: decimal.New(int64(i), 0), At: time.Unix(int64(i)*3600, 0).UTC()}
	}
	w := newBackgroundWriter(ctx)
	funding := &batchedFunding{Store: st, w: w, seen: map[string]bool{}}
	events := deferredRiskEvents{Events: st, w: w}
	n := 2*fundingBatch + 7
	for i := range n {
		if isNew, err := funding.InsertFunding(ctx, acct.ID, 0, pay(i)); err != nil || !isNew {
			t.Fatalf("payment %d: new=%v err=%v", i, isNew, err)
		}
		if i%100 == 0 {
			if _, _, err := events.RecordRiskEvent(ctx, event(i)); err != nil {
				t.Fatalf("risk event %d: %v", i, err)
			}
		}
	}
	if isNew, _ := funding.InsertFunding(ctx, acct.ID, 0, pay(3)); isNew {
		t.Fatal("a payment seen before is new again")
	}
	funding.Flush(acct.ID)
	if err := w.stop(); err != nil {
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
	evs, err := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 11 || evs[0].Detail != "top-up 0" || evs[10].Detail != "top-up 1000" || !evs[10].Amount.Equal(decimal.New(1000, 0)) {
		t.Fatalf("stored %d risk events (%+v); want 11, in order", len(evs), evs)
	}

	// The database goes away: the failure reaches the next record and stop.
	gone, _ := pg.NewStore(t)
	gone.Close()
	w = newBackgroundWriter(ctx)
	funding = &batchedFunding{Store: gone, w: w, seen: map[string]bool{}}
	events = deferredRiskEvents{Events: gone, w: w}
	for i := range fundingBatch + 1 {
		if _, err := funding.InsertFunding(ctx, acct.ID, 0, pay(i)); err != nil {
			break // the first batch failed already (it is written in the background)
		}
	}
	if err := w.stop(); err == nil {
		t.Fatal("writes to a closed database succeeded")
	}
	if _, err := funding.InsertFunding(ctx, acct.ID, 0, pay(n)); err == nil {
		t.Fatal("a payment after a failed write was accepted")
	}
	if _, _, err := events.RecordRiskEvent(ctx, event(1)); err == nil {
		t.Fatal("a risk event after a failed write was accepted")
	}
	if err := w.stop(); err == nil {
		t.Fatal("a second stop forgot the failure")
	}
}

// journalWaits counts the engine's statements while it is on — a query and a batch once each — and never
// the background writer's.
func TestJournalWaitsCountTheEnginesStatementsOnly(t *testing.T) {
	ctx := context.Background()
	waits := &journalWaits{}
	st, err := store.Open(ctx, pg.NewDB(t), store.Options{Tracer: waits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	acct, err := st.EnsureAccount(ctx, "bt", "backtest") // off: not counted
	if err != nil {
		t.Fatal(err)
	}
	waits.on.Store(true)
	if _, err := st.Fills(ctx, acct.ID, 0); err != nil { // a query
		t.Fatal(err)
	}
	fill := exchange.Fill{Venue: exchange.Spot, Symbol: "BTCUSDT", TradeID: "1", ClientID: "c1", Side: exchange.Buy,
		Qty: decimal.New(1, -3), Price: decimal.New(60000, 0), Fee: decimal.Zero, FeeAsset: "USDT", Time: time.Unix(0, 0).UTC()}
	if _, err := st.InsertFills(ctx, acct.ID, 0, []exchange.Fill{fill}); err != nil { // a batch
		t.Fatal(err)
	}
	w := newBackgroundWriter(ctx)
	w.do(func(ctx context.Context) error { _, err := st.Fills(ctx, acct.ID, 0); return err })
	if err := w.stop(); err != nil {
		t.Fatal(err)
	}
	waits.on.Store(false)
	if _, err := st.Fills(ctx, acct.ID, 0); err != nil {
		t.Fatal(err)
	}
	wait, calls := waits.total()
	if calls != 2 || wait <= 0 {
		t.Fatalf("%d statements in %s counted, want the query and the batch (2) and a positive wait", calls, wait)
	}
}
