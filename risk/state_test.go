package risk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/risk"
)

func TestStateTransitionTable(t *testing.T) {
	rank := map[risk.State]int{risk.Active: 0, risk.Reducing: 1, risk.Halted: 2}
	states := []risk.State{risk.Active, risk.Reducing, risk.Halted}
	actors := []risk.Actor{risk.ActorOperator, risk.ActorRisk, risk.ActorSystem}
	for _, from := range states {
		for _, to := range states {
			for _, by := range actors {
				err := risk.CheckStateChange(from, to, by)
				// The rule, stated independently of the table: tightening is anyone's, loosening an operator's.
				var wantOK bool
				switch {
				case from == to:
					if !errors.Is(err, risk.ErrUnchanged) {
						t.Fatalf("%s → %s by %s: %v; want ErrUnchanged", from, to, by, err)
					}
					continue
				case rank[to] > rank[from]:
					wantOK = true
				default:
					wantOK = by == risk.ActorOperator
				}
				if (err == nil) != wantOK {
					t.Fatalf("%s → %s by %s: err %v; want legal=%v", from, to, by, err, wantOK)
				}
				var ill *risk.IllegalStateError
				if err != nil && !errors.As(err, &ill) {
					t.Fatalf("%s → %s by %s: %T is not an IllegalStateError", from, to, by, err)
				}
			}
		}
	}
	if err := risk.CheckStateChange("paused", risk.Active, risk.ActorOperator); err == nil {
		t.Fatal("an unknown state was accepted")
	}
}

// The switch persists every change through the store (real Postgres) before it takes effect; a restart
// reads it back; risk cannot undo a halt; a stale writer is refused; every change is a risk event.
func TestSwitchPersistsThroughStore(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	load := func() *risk.Switch {
		rec, err := st.TradingState(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		sw, err := risk.NewSwitch(acct.ID, risk.Status{State: risk.State(rec.State), By: risk.Actor(rec.By), Reason: rec.Reason, Since: rec.At})
		if err != nil {
			t.Fatal(err)
		}
		return sw
	}
	sw := load()
	if sw.State() != risk.Active {
		t.Fatalf("a new account starts %s", sw.State())
	}
	at := t0
	ch, err := sw.Set(ctx, st, risk.Halted, risk.ActorRisk, "BTCUSDT liquidation 4.50% away ≤ halt_distance 5.00%", at)
	if err != nil || ch.From != risk.Active || ch.To != risk.Halted {
		t.Fatalf("halt: %+v %v", ch, err)
	}
	// Restart: the state survives.
	sw = load()
	if s := sw.Status(); s.State != risk.Halted || s.By != risk.ActorRisk || !s.Since.Equal(at) || s.Reason == "" {
		t.Fatalf("after restart: %+v", s)
	}
	// Risk cannot resume; the database is untouched.
	var ill *risk.IllegalStateError
	if _, err := sw.Set(ctx, st, risk.Active, risk.ActorRisk, "looks fine now", at.Add(time.Minute)); !errors.As(err, &ill) {
		t.Fatalf("risk resumed a halt: %v", err)
	}
	if _, err := sw.Set(ctx, st, risk.Reducing, risk.ActorOperator, "", at.Add(time.Minute)); err == nil {
		t.Fatal("a change without a reason was accepted")
	}
	if rec, _ := st.TradingState(ctx, acct.ID); rec.State != "halted" {
		t.Fatalf("refused changes moved the stored state to %s", rec.State)
	}
	// The operator resumes to reducing, then active.
	if _, err := sw.Set(ctx, st, risk.Reducing, risk.ActorOperator, "checked the account; unwinding by hand", at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Set(ctx, st, risk.Active, risk.ActorOperator, "resume", at.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Someone else changed the stored state behind this switch's back: its next change is refused as stale
	// and its own view stays as it was.
	if err := st.ChangeTradingState(ctx, acct.ID, "active", "halted", "operator", "halt from the CLI", at.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Set(ctx, st, risk.Reducing, risk.ActorSystem, "shutting down", at.Add(5*time.Minute)); !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale switch: %v; want ErrStale", err)
	}
	if sw.State() != risk.Active {
		t.Fatalf("a failed change moved the switch to %s", sw.State())
	}
	evs, err := st.RiskEvents(ctx, acct.ID, store.RiskEventFilter{Kinds: []string{store.RiskEventStateChange}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"halted", "reducing", "active", "halted"}
	if len(evs) != len(want) {
		t.Fatalf("%d state-change events; want %d: %+v", len(evs), len(want), evs)
	}
	for i, e := range evs {
		if e.Severity == "" || e.Actor == "" || !strings.Contains(e.Detail, "→ "+want[i]+" by") {
			t.Fatalf("event %d: %+v; want a change to %s with who and why", i, e, want[i])
		}
	}
}
