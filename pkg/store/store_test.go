package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/pgtest"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var t0 = time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC)

func TestMigrationsTwiceAreANoOp(t *testing.T) {
	st, _ := pg.NewStore(t) // applies every migration once
	ctx := context.Background()
	v1, err := st.SchemaVersion(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("schema version after first migrate = %d, %v", v1, err)
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v; want nothing", applied)
	}
	if v2, _ := st.SchemaVersion(ctx); v2 != v1 {
		t.Fatalf("schema version moved from %d to %d", v1, v2)
	}
}

func TestMigrateFromScratchAppliesEveryFile(t *testing.T) {
	url := pg.NewDB(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || !strings.HasSuffix(applied[0], "00001_init.sql") {
		t.Fatalf("applied %v; want the migrations starting with 00001_init.sql", applied)
	}
}

func TestDuplicateFillStoredOnce(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	f := exchange.Fill{Venue: exchange.Spot, Symbol: "BTCUSDT", TradeID: "123456", ClientID: "x-1-1S", Side: exchange.Buy,
		Qty: d("0.10011"), Price: d("60000.01"), Fee: d("0.00010011"), FeeAsset: "BTC", Time: t0}
	for i, wantNew := range []bool{true, false, false} {
		isNew, err := st.InsertFill(ctx, acct.ID, 0, f)
		if err != nil {
			t.Fatal(err)
		}
		if isNew != wantNew {
			t.Fatalf("insert %d: new = %v, want %v", i, isNew, wantNew)
		}
	}
	// The same trade id on the other venue is a different trade.
	f.Venue = exchange.Futures
	if isNew, err := st.InsertFill(ctx, acct.ID, 0, f); err != nil || !isNew {
		t.Fatalf("same trade id on futures: new=%v err=%v", isNew, err)
	}
	fills, err := st.Fills(ctx, acct.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(fills) != 2 {
		t.Fatalf("stored %d fills, want 2", len(fills))
	}
	if !fills[0].Qty.Equal(d("0.10011")) || !fills[0].Fee.Equal(d("0.00010011")) || !fills[0].Time.Equal(t0) {
		t.Fatalf("fill round trip lost precision: %+v", fills[0].Fill)
	}
}

func TestDuplicateFundingStoredOnce(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	p := exchange.FundingPayment{TranID: "9689322392", Symbol: "BTCUSDT", Amount: d("0.00231"), Asset: "USDT", Rate: d("0.0001"), Time: t0}
	n := 0
	for range 3 {
		isNew, err := st.InsertFunding(ctx, acct.ID, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		if isNew {
			n++
		}
	}
	rows, _ := st.FundingPayments(ctx, acct.ID, 0)
	if n != 1 || len(rows) != 1 || !rows[0].Amount.Equal(d("0.00231")) {
		t.Fatalf("new inserts %d, rows %d (%v); want exactly one payment of 0.00231", n, len(rows), rows)
	}
	// Paper and live records are kept apart: the same tranId on another account is its own row.
	live, _ := st.EnsureAccount(ctx, "main", "live")
	if isNew, err := st.InsertFunding(ctx, live.ID, 0, p); err != nil || !isNew {
		t.Fatalf("same tranId on the live account: new=%v err=%v", isNew, err)
	}
}

func TestAccountsAreStableAndApart(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	a1, err := st.EnsureAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := st.EnsureAccount(ctx, "main", "paper")
	live, _ := st.EnsureAccount(ctx, "main", "live")
	if a1.ID != a2.ID || a1.ClientPrefix != a2.ClientPrefix {
		t.Fatalf("EnsureAccount is not stable: %+v vs %+v", a1, a2)
	}
	if live.ID == a1.ID || live.ClientPrefix == a1.ClientPrefix {
		t.Fatal("paper and live accounts must be distinct with distinct client prefixes")
	}
	if a1.TradingState != "active" {
		t.Fatalf("new account state %q, want active", a1.TradingState)
	}
	if err := st.ChangeTradingState(ctx, a1.ID, "active", "halted", "operator", "operator", t0); err != nil {
		t.Fatal(err)
	}
	a3, _ := st.FindAccount(ctx, "main", "paper")
	if a3.TradingState != "halted" || a3.StateReason != "operator" {
		t.Fatalf("state not persisted: %+v", a3)
	}
	if _, err := st.FindAccount(ctx, "nobody", "paper"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing account: %v", err)
	}
}

// openingRound is a pending pair's first round: pending → opening with a spot buy of 0.10011 and a perp sell
// of 0.1 (their client ids returned).
// newCarryPair is a new database with a paper account "main" holding a pending BTCUSDT carry pair of 0.1.
func newCarryPair(t *testing.T) (*store.Store, store.Account, pair.Pair) {
	t.Helper()
	st, _ := pg.NewStore(t)
	acct, err := st.EnsureAccount(context.Background(), "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.CreatePair(context.Background(), pair.Pair{AccountID: acct.ID, Symbol: "BTCUSDT", Direction: pair.Carry, TargetQty: d("0.1"), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return st, acct, p
}

func openingRound(acct store.Account, p pair.Pair) (tr pair.Transition, spotID, perpID string) {
	spotID = pair.ClientOrderID(acct.ClientPrefix, p.ID, 1, pair.LegSpot)
	perpID = pair.ClientOrderID(acct.ClientPrefix, p.ID, 1, pair.LegPerp)
	next := p
	next.State, next.Attempt = pair.Opening, 1
	return pair.Transition{PairID: p.ID, From: pair.Pending, To: pair.Opening, Reason: "entry", At: t0, Updated: next,
		Orders: []pair.OrderIntent{
			{Leg: pair.LegSpot, Purpose: pair.IntentOpen, OrderRequest: exchange.OrderRequest{ClientID: spotID, Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, Qty: d("0.10011")}},
			{Leg: pair.LegPerp, Purpose: pair.IntentOpen, OrderRequest: exchange.OrderRequest{ClientID: perpID, Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.Market, Qty: d("0.1")}},
		}}, spotID, perpID
}

func TestCommitWritesAheadAndNeverReusesAnID(t *testing.T) {
	st, acct, p := newCarryPair(t)
	ctx := context.Background()
	if _, err := st.CreatePair(ctx, pair.Pair{AccountID: acct.ID, Symbol: "BTCUSDT", Direction: pair.Carry, TargetQty: d("0.1")}); !errors.Is(err, store.ErrSymbolBusy) {
		t.Fatalf("second live pair on BTCUSDT: want ErrSymbolBusy, got %v", err)
	}

	tr, spotID, perpID := openingRound(acct, p)
	next := tr.Updated
	if err := st.Commit(ctx, tr); err != nil {
		t.Fatal(err)
	}
	orders, _ := st.PairOrders(ctx, p.ID)
	if len(orders) != 2 || orders[0].Status != pair.StatusIntent || orders[0].ClientID != spotID {
		t.Fatalf("orders after commit: %+v", orders)
	}

	// Replaying the same transition: the pair is no longer pending.
	if err := st.Commit(ctx, tr); !errors.Is(err, store.ErrStale) {
		t.Fatalf("replayed commit: want ErrStale, got %v", err)
	}
	// A new round that tries to reuse an id is refused and leaves nothing behind.
	retry := pair.Transition{PairID: p.ID, From: pair.Opening, To: pair.Opening, Updated: next, At: t0,
		Orders: []pair.OrderIntent{{Leg: pair.LegSpot, OrderRequest: exchange.OrderRequest{ClientID: spotID, Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, Qty: d("0.1")}}}}
	if err := st.Commit(ctx, retry); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reused client id: want refusal, got %v", err)
	}
	// Illegal transition straight from opening to closing.
	if err := st.Commit(ctx, pair.Transition{PairID: p.ID, From: pair.Opening, To: pair.Closing, Updated: next}); err == nil {
		t.Fatal("opening → closing must be illegal")
	}
	log, _ := st.Transitions(ctx, p.ID)
	if len(log) != 1 || log[0].To != pair.Opening || len(log[0].OrderIDs) != 2 {
		t.Fatalf("transition log: %+v", log)
	}

	// The venue's answers: a fill arrives, then a stale NEW answer must not undo it.
	if _, err := st.RecordOrders(ctx, acct.ID, p.ID, []exchange.Order{{ClientID: perpID, Status: exchange.StatusFilled, ExecutedQty: d("0.1"), CumQuote: d("6000"), VenueOrderID: "77"}}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordOrders(ctx, acct.ID, p.ID, []exchange.Order{{ClientID: perpID, Status: exchange.StatusNew}}, t0); err != nil {
		t.Fatal(err)
	}
	o, _ := st.GetOrder(ctx, perpID)
	if o.Status != "FILLED" || !o.ExecutedQty.Equal(d("0.1")) || o.VenueOrderID != "77" {
		t.Fatalf("order regressed: %+v", o)
	}
	if _, err := st.RecordOrders(ctx, acct.ID, p.ID, []exchange.Order{{ClientID: "never-committed", Status: exchange.StatusFilled}}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an order that was never committed must not be recorded: %v", err)
	}

	// Closing the pair frees the symbol.
	open := next
	open.State, open.SpotQty, open.PerpQty = pair.Open, d("0.1"), d("0.1")
	for _, step := range []struct{ from, to pair.State }{{pair.Opening, pair.Open}, {pair.Open, pair.Closing}, {pair.Closing, pair.Closed}} {
		open.State = step.to
		if err := st.Commit(ctx, pair.Transition{PairID: p.ID, From: step.from, To: step.to, Updated: open, At: t0}); err != nil {
			t.Fatalf("%s→%s: %v", step.from, step.to, err)
		}
	}
	got, _ := st.GetPair(ctx, p.ID)
	if got.State != pair.Closed || got.ClosedAt.IsZero() || got.OpenedAt.IsZero() {
		t.Fatalf("closed pair: %+v", got)
	}
	if _, err := st.CreatePair(ctx, pair.Pair{AccountID: acct.ID, Symbol: "BTCUSDT", Direction: pair.Carry, TargetQty: d("0.1")}); err != nil {
		t.Fatalf("a new pair after the old one closed: %v", err)
	}
}

func TestCommandsQueue(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	signals, err := st.ListenCommands(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.SubmitCommand(ctx, acct.ID, "unwind", map[string]string{"symbol": "BTCUSDT"}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-signals:
	case <-ctx.Done():
		t.Fatal("no NOTIFY for the submitted command")
	}
	c, ok, err := st.ClaimCommand(ctx, acct.ID, t0)
	if err != nil || !ok || c.ID != id || c.Kind != "unwind" || c.Status != store.CommandRunning {
		t.Fatalf("claim: %+v ok=%v err=%v", c, ok, err)
	}
	if _, ok, _ := st.ClaimCommand(ctx, acct.ID, t0); ok {
		t.Fatal("a running command must not be claimed twice")
	}
	if err := st.FinishCommand(ctx, id, store.CommandDone, "closed pair 1", t0); err != nil {
		t.Fatal(err)
	}
	c, _ = st.GetCommand(ctx, id)
	if c.Status != store.CommandDone || c.Result != "closed pair 1" {
		t.Fatalf("finished command: %+v", c)
	}
}

func TestTransfersWriteAhead(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	tr := store.TransferRecord{ClientID: "tr-1", Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d("500"), Reason: "topup", CreatedAt: t0}
	if err := st.CommitTransfer(ctx, acct.ID, tr); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitTransfer(ctx, acct.ID, tr); err == nil {
		t.Fatal("a transfer id must not be committed twice")
	}
	pending, _ := st.Transfers(ctx, acct.ID, true)
	if len(pending) != 1 {
		t.Fatalf("pending transfers: %+v", pending)
	}
	if err := st.FinishTransfer(ctx, "tr-1", store.TransferDone, "555", "", t0); err != nil {
		t.Fatal(err)
	}
	if pending, _ := st.Transfers(ctx, acct.ID, true); len(pending) != 0 {
		t.Fatalf("done transfer still pending: %+v", pending)
	}
}

func TestOpenReportsADatabaseThatIsDown(t *testing.T) {
	ctx := context.Background()
	_, err := store.Open(ctx, "postgres://carry:secretpw@127.0.0.1:1/carry?sslmode=disable", store.Options{ConnectTimeout: 500 * time.Millisecond})
	if err == nil {
		t.Fatal("connecting to a closed port must fail")
	}
	if strings.Contains(err.Error(), "secretpw") {
		t.Fatalf("the error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "does not answer") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("the error should say what is wrong and what to do: %v", err)
	}
}

func TestOneTraderPerAccount(t *testing.T) {
	st, url := pg.NewStore(t)
	ctx := context.Background()
	l1, err := st.TryLockAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	// A second process (its own pool) cannot take it.
	other, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.TryLockAccount(ctx, "main", "paper"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second lock: want ErrLocked, got %v", err)
	}
	// Another account, or the same name in live mode, is independent.
	l2, err := other.TryLockAccount(ctx, "main", "live")
	if err != nil {
		t.Fatalf("the live account is a different lock: %v", err)
	}
	l2.Unlock(ctx)
	l1.Unlock(ctx)
	l3, err := other.TryLockAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatalf("after unlock the lock is free: %v", err)
	}
	l3.Unlock(ctx)
}

// Concurrent commits of the same transition: exactly one moves the pair and records its orders; the others
// are stale and leave nothing behind. A pair that does not exist is ErrNotFound.
func TestCommitIsAtomicUnderConcurrency(t *testing.T) {
	st, _, p := newCarryPair(t)
	ctx := context.Background()
	next := p
	next.State, next.Attempt = pair.Opening, 1
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			id := fmt.Sprintf("race-%d", i)
			errs <- st.Commit(ctx, pair.Transition{PairID: p.ID, From: pair.Pending, To: pair.Opening, At: t0, Updated: next,
				Orders: []pair.OrderIntent{{Leg: pair.LegSpot, OrderRequest: exchange.OrderRequest{ClientID: id + "-s", Venue: exchange.Spot,
					Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, Qty: d("0.1")}},
					{Leg: pair.LegPerp, OrderRequest: exchange.OrderRequest{ClientID: id + "-p", Venue: exchange.Futures,
						Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.Market, Qty: d("0.1")}}}})
		}()
	}
	won := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrStale):
			t.Errorf("a losing commit: %v, want ErrStale", err)
		}
	}
	orders, _ := st.PairOrders(ctx, p.ID)
	log, _ := st.Transitions(ctx, p.ID)
	if won != 1 || len(orders) != 2 || len(log) != 1 || orders[0].Leg != pair.LegSpot || orders[1].Leg != pair.LegPerp {
		t.Fatalf("%d commits won, %d orders, %d log entries: want 1, 2 (spot then perp), 1", won, len(orders), len(log))
	}
	if err := st.Commit(ctx, pair.Transition{PairID: p.ID + 1000, From: pair.Pending, To: pair.Opening, Updated: next}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("commit of a missing pair: %v, want ErrNotFound", err)
	}
}

// A batch stores what the same payments inserted one by one store: NULL for a zero rate, mark or quantity,
// each tranId once (a payment already stored is not new), every other field exactly.
func TestFundingBatchStoresWhatSingleInsertsStore(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	batch, _ := st.EnsureAccount(ctx, "batch", "paper")
	single, _ := st.EnsureAccount(ctx, "single", "paper")
	pays := []exchange.FundingPayment{
		{TranID: "paper-BTCUSDT-1", Symbol: "BTCUSDT", Amount: d("-0.00231"), Asset: "USDT", Rate: d("0.0001"), MarkPrice: d("43210.5"),
			PositionQty: d("-0.015"), Time: t0},
		{TranID: "paper-ETHUSDT-1", Symbol: "ETHUSDT", Amount: d("1.123456789012"), Asset: "USDT", Time: t0.Add(time.Millisecond)},
		{TranID: "paper-BTCUSDT-2", Symbol: "BTCUSDT", Amount: d("0.5"), Asset: "BNB", Rate: d("-0.0003"), Time: t0.Add(8 * time.Hour)},
	}
	if isNew, err := st.InsertFunding(ctx, batch.ID, 0, pays[2]); err != nil || !isNew {
		t.Fatalf("first insert: new=%v err=%v", isNew, err)
	}
	rows := make([]store.FundingRow, len(pays))
	for i, p := range pays {
		rows[i] = store.FundingRow{Payment: p}
		if _, err := st.InsertFunding(ctx, single.ID, 0, p); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.InsertFundingBatch(ctx, batch.ID, rows)
	if err != nil || n != 2 {
		t.Fatalf("batch: %d new, err %v; want 2 new (one was stored before)", n, err)
	}
	got, err := st.FundingPayments(ctx, batch.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := st.FundingPayments(ctx, single.ID, 0)
	if len(got) != 3 || len(want) != 3 {
		t.Fatalf("batch stored %d rows, single inserts %d; want 3 each", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.TranID != w.TranID || g.Symbol != w.Symbol || g.Asset != w.Asset || !g.Time.Equal(w.Time) || g.PairID != w.PairID ||
			!g.Amount.Equal(w.Amount) || !g.Rate.Equal(w.Rate) || !g.MarkPrice.Equal(w.MarkPrice) || !g.PositionQty.Equal(w.PositionQty) {
			t.Fatalf("row %d: batch stored %+v, single insert %+v", i, g, w)
		}
	}
	if !got[1].Amount.Equal(d("1.123456789012")) || !got[0].PositionQty.Equal(d("-0.015")) {
		t.Fatalf("values changed on the way: %+v", got)
	}
	if _, err := st.InsertFundingBatch(ctx, batch.ID, nil); err != nil {
		t.Fatalf("an empty batch: %v", err)
	}
}

// RecordOrders stores a round's answers in one round trip: every fill once (reporting the new ones), each
// order's state; a failing statement writes nothing of the round; an order never committed is ErrNotFound.
func TestRecordOrdersStoresARoundAtOnce(t *testing.T) {
	st, acct, p := newCarryPair(t)
	ctx := context.Background()
	tr, spotID, perpID := openingRound(acct, p)
	if err := st.Commit(ctx, tr); err != nil {
		t.Fatal(err)
	}
	fill := func(venue exchange.Venue, client, trade, qty string, side exchange.Side) exchange.Fill {
		return exchange.Fill{ClientID: client, VenueOrderID: "v-" + trade, Venue: venue, Symbol: "BTCUSDT", TradeID: trade, Side: side,
			Qty: d(qty), Price: d("60000.1"), Fee: d("0.0001"), FeeAsset: "BTC", Time: t0}
	}
	spot := exchange.Order{ClientID: spotID, VenueOrderID: "v-s", Status: exchange.StatusFilled, ExecutedQty: d("0.1"), CumQuote: d("6000.01"),
		Fills: []exchange.Fill{fill(exchange.Spot, spotID, "s1", "0.04", exchange.Buy), fill(exchange.Spot, spotID, "s2", "0.06", exchange.Buy)}}
	perp := exchange.Order{ClientID: perpID, VenueOrderID: "v-p", Status: exchange.StatusFilled, ExecutedQty: d("0.1"), CumQuote: d("6000.01"),
		Fills: []exchange.Fill{fill(exchange.Futures, perpID, "p1", "0.1", exchange.Sell)}}

	// A bad fill (negative quantity, refused by the table) fails the round: nothing of it is written.
	bad := perp
	bad.Fills = []exchange.Fill{fill(exchange.Futures, perpID, "p1", "-0.1", exchange.Sell)}
	if _, err := st.RecordOrders(ctx, acct.ID, p.ID, []exchange.Order{spot, bad}, t0); err == nil {
		t.Fatal("a fill with a negative quantity was stored")
	}
	if fills, _ := st.Fills(ctx, acct.ID, p.ID); len(fills) != 0 {
		t.Fatalf("a failed round left %d fills behind", len(fills))
	}
	if o, _ := st.GetOrder(ctx, spotID); o.Status != pair.StatusIntent {
		t.Fatalf("a failed round moved the spot order to %s", o.Status)
	}

	fresh, err := st.RecordOrders(ctx, acct.ID, p.ID, []exchange.Order{spot, perp}, t0)
	if err != nil || len(fresh) != 3 {
		t.Fatalf("first record: %d new fills, err %v; want 3", len(fresh), err)
	}
	for _, id := range []string{spotID, perpID} {
		if o, _ := st.GetOrder(ctx, id); o.Status != "FILLED" || !o.ExecutedQty.Equal(d("0.1")) || !o.CumQuote.Equal(d("6000.01")) {
			t.Fatalf("order %s after the round: %+v", id, o)
		}
	}
	// The same answers again (a retried round): nothing new, nothing doubled.
	if fresh, err := st.RecordOrders(ctx, acct.ID, p.ID, []exchange.Order{spot, perp}, t0); err != nil || len(fresh) != 0 {
		t.Fatalf("second record: %d new fills, err %v; want none", len(fresh), err)
	}
	fills, _ := st.Fills(ctx, acct.ID, p.ID)
	if len(fills) != 3 || !fills[0].Price.Equal(d("60000.1")) || fills[2].ClientID != perpID && fills[0].ClientID != perpID && fills[1].ClientID != perpID {
		t.Fatalf("stored fills: %+v", fills)
	}
	// An order never committed is reported; the orders beside it are still written.
	ghost := exchange.Order{ClientID: "never-committed", Status: exchange.StatusFilled,
		Fills: []exchange.Fill{fill(exchange.Spot, "never-committed", "g1", "0.01", exchange.Buy)}}
	late := spot
	late.Fills = append(late.Fills, fill(exchange.Spot, spotID, "s3", "0.01", exchange.Buy))
	fresh, err = st.RecordOrders(ctx, acct.ID, p.ID, []exchange.Order{ghost, late}, t0)
	if !errors.Is(err, store.ErrNotFound) || len(fresh) != 2 {
		t.Fatalf("an order never committed: %d new fills, err %v; want 2 and ErrNotFound", len(fresh), err)
	}
}
