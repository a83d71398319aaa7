package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/store"
)

func TestRiskEventsRecordedAndListed(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := st.EnsureAccount(ctx, "main", "live")
	refused := store.RiskEvent{AccountID: acct.ID, Symbol: "BTCUSDT", Kind: store.RiskEventRefused, Severity: store.SeverityWarning,
		Actor: "strategy", Detail: "max_notional_total: 104,300.00 after this order > limit 100,000",
		Qty:     d("0.073"),
		Numbers: map[string]decimal.Decimal{"after": d("104300.00"), "limit": d("100000"), "tiny": d("0.000000000000000001")},
		At:      t0}
	topup := store.RiskEvent{AccountID: acct.ID, Symbol: "BTCUSDT", Kind: "topup", Severity: store.SeverityWarning, Actor: "risk",
		Detail: "transfer 12,385.00 USDT", Amount: d("12385.00"), Key: "topup-7", At: t0.Add(time.Minute)}
	halt := store.RiskEvent{AccountID: acct.ID, Kind: "halt", Severity: store.SeverityCritical, Actor: "risk", Detail: "halt", At: t0.Add(2 * time.Minute)}
	for _, e := range []store.RiskEvent{refused, topup, halt, {AccountID: other.ID, Kind: "halt", Detail: "other account", At: t0}} {
		if _, isNew, err := st.RecordRiskEvent(ctx, e); err != nil || !isNew {
			t.Fatalf("recording %s: new=%v err=%v", e.Kind, isNew, err)
		}
	}
	// The same key again is a no-op (a replay or a restart re-deciding the same top-up).
	if id, isNew, err := st.RecordRiskEvent(ctx, topup); err != nil || isNew || id != 0 {
		t.Fatalf("second top-up with the same key: id=%d new=%v err=%v; want ignored", id, isNew, err)
	}

	all, err := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].Kind != "refused" || all[1].Kind != "topup" || all[2].Kind != "halt" {
		t.Fatalf("events = %+v; want refused, topup, halt of this account only", all)
	}
	got := all[0]
	if got.Detail != refused.Detail || got.Severity != store.SeverityWarning || got.Actor != "strategy" || !got.At.Equal(t0) ||
		!got.Qty.Equal(d("0.073")) || !got.Amount.IsZero() || got.PairID != 0 {
		t.Fatalf("refused event round trip: %+v", got)
	}
	for k, v := range refused.Numbers {
		if !got.Numbers[k].Equal(v) {
			t.Fatalf("number %s = %s; want %s exactly (decimal strings, never floats)", k, got.Numbers[k], v)
		}
	}
	if !all[1].Amount.Equal(d("12385")) || all[1].Key != "topup-7" {
		t.Fatalf("top-up round trip: %+v", all[1])
	}

	kinds, _ := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{Kinds: []string{"halt", "topup"}})
	if len(kinds) != 2 {
		t.Fatalf("filter by kinds: %d events; want 2", len(kinds))
	}
	since, _ := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{Since: t0.Add(30 * time.Second)})
	if len(since) != 2 || since[0].Kind != "topup" {
		t.Fatalf("filter since: %+v", since)
	}
	newest, _ := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{Limit: 2})
	if len(newest) != 2 || newest[0].Kind != "topup" || newest[1].Kind != "halt" {
		t.Fatalf("limit 2 should keep the newest two, oldest first: %+v", newest)
	}
	sym, _ := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{Symbol: "BTCUSDT"})
	if len(sym) != 2 {
		t.Fatalf("filter by symbol: %d; want 2", len(sym))
	}

	// The database refuses nonsense rather than storing it.
	if _, _, err := st.RecordRiskEvent(ctx, store.RiskEvent{AccountID: acct.ID, Kind: "topup", Severity: "panic", Detail: "x", At: t0}); err == nil {
		t.Fatal("an unknown severity was stored")
	}
	if _, _, err := st.RecordRiskEvent(ctx, store.RiskEvent{AccountID: acct.ID, Kind: "Bad Kind", Detail: "x", At: t0}); err == nil {
		t.Fatal("a malformed kind was stored")
	}
}

func TestTradingStateChangeIsCompareAndSetAndLogged(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	rec, err := st.TradingState(ctx, acct.ID)
	if err != nil || rec.State != "active" || rec.By != "" {
		t.Fatalf("new account state = %+v, %v; want active, set by nobody", rec, err)
	}
	at := t0.Add(time.Hour)
	if err := st.ChangeTradingState(ctx, acct.ID, "active", "halted", "risk", "BTCUSDT liquidation 4.50% away", at); err != nil {
		t.Fatal(err)
	}
	rec, _ = st.TradingState(ctx, acct.ID)
	if rec.State != "halted" || rec.By != "risk" || rec.Reason != "BTCUSDT liquidation 4.50% away" || !rec.At.Equal(at) {
		t.Fatalf("state after change = %+v", rec)
	}
	// The account row agrees (other readers use store.Account).
	a, _ := st.GetAccount(ctx, acct.ID)
	if a.TradingState != "halted" {
		t.Fatalf("account trading state = %s", a.TradingState)
	}
	// A writer that read a stale state is refused and changes nothing.
	err = st.ChangeTradingState(ctx, acct.ID, "active", "reducing", "system", "stale", at)
	if !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale change: %v; want ErrStale", err)
	}
	if rec, _ := st.TradingState(ctx, acct.ID); rec.State != "halted" {
		t.Fatalf("a stale change moved the state to %s", rec.State)
	}
	if err := st.ChangeTradingState(ctx, 999999, "active", "halted", "risk", "x", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown account: %v; want ErrNotFound", err)
	}
	evs, _ := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{Kinds: []string{store.RiskEventStateChange}})
	if len(evs) != 1 || evs[0].Severity != store.SeverityCritical || evs[0].Actor != "risk" ||
		evs[0].Detail != "trading state active → halted by risk: BTCUSDT liquidation 4.50% away" {
		t.Fatalf("state change events = %+v; want exactly the one applied change", evs)
	}
}
