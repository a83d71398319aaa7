package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/report"
	"github.com/carry-trading/carry/pkg/store"
)

// TestBacktestRuns: `carry backtest runs` lists what `carry backtest` recorded, newest first, with the figures
// of each run's result.json (and the baseline's net PnL only for a run that had one); an empty database
// says so; a bad --limit is a usage error.
func TestBacktestRuns(t *testing.T) {
	db := pg.NewDB(t)
	env := cleanEnv("DATABASE_URL="+db, "CARRY_BACKTEST_DATA_DIR=../../testdata/binance", "CARRY_UNIVERSE_SYMBOLS=BTCUSDT")
	r := runCarry(t, env, "backtest", "runs")
	if r.code != 0 || !strings.Contains(r.stdout, "no backtest runs recorded") {
		t.Fatalf("empty database: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	type run struct {
		out  string
		args []string
		res  btResult
	}
	runs := []*run{
		{out: filepath.Join(t.TempDir(), "a"), args: []string{"--from", "2021-01-01", "--to", "2021-03-01"}},
		{out: filepath.Join(t.TempDir(), "b"), args: []string{"--from", "2021-09-01", "--to", "2021-11-01", "--no-baseline"}},
	}
	for _, x := range runs {
		r := runCarry(t, env, append([]string{"backtest", "--out", x.out, "--quiet", "--no-chart"}, x.args...)...)
		if r.code != 0 {
			t.Fatalf("backtest %v: exit %d\n%s", x.args, r.code, r.stderr)
		}
		readResult(t, filepath.Join(x.out, "result.json"), &x.res)
	}

	r = runCarry(t, env, "backtest", "runs", "--json")
	var listed []struct {
		ID        int64
		AccountID int64
		From      string
		NetPnL    decimal.Decimal
		OutputDir string
		Summary   json.RawMessage
	}
	if err := json.Unmarshal([]byte(r.stdout), &listed); r.code != 0 || err != nil {
		t.Fatalf("runs --json: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if len(listed) != 2 || listed[0].ID <= listed[1].ID {
		t.Fatalf("want the two runs newest first, got %+v", listed)
	}
	for i, l := range listed {
		want := runs[len(runs)-1-i]
		if l.OutputDir != want.out || !l.NetPnL.Equal(want.res.Summary.Strategy.NetPnL) {
			t.Fatalf("run %d listed as %+v, want output %s, net %s", l.ID, l, want.out, want.res.Summary.Strategy.NetPnL)
		}
		// The stored summary is result.json's, field for field.
		var doc struct{ Summary any }
		readResult(t, filepath.Join(want.out, "result.json"), &doc)
		var stored any
		if err := json.Unmarshal(l.Summary, &stored); err != nil || !reflect.DeepEqual(stored, doc.Summary) {
			t.Fatalf("run %d: stored summary (%v)\n%s\ndiffers from result.json's\n%v", l.ID, err, l.Summary, doc.Summary)
		}
	}

	r = runCarry(t, env, "backtest", "runs", "--limit", "1")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.Contains(lines[1], runs[1].out) || !strings.Contains(lines[1], "2021-09-01 → ") {
		t.Fatalf("runs --limit 1: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	base := runs[0].res.Summary.Baseline
	if base == nil {
		t.Fatal("the first run has no baseline in its result.json")
	}
	if r = runCarry(t, env, "backtest", "runs"); !strings.Contains(r.stdout, money(base.NetPnL)) {
		t.Fatalf("the first run's baseline net %s is not listed:\n%s", money(base.NetPnL), r.stdout)
	}
	// A run recorded before the summary took result.json's form (the figures under their Go names) is
	// still listed with its figures.
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := report.Summary{Strategy: report.Metrics{Capital: decimal.New(5000, 0), MaxDrawdownPct: 0.0123, Sharpe: 4.56, DailyReturns: 30}}
	raw, _ := json.Marshal(old)
	if _, err := st.RecordBacktest(context.Background(), store.BacktestRun{AccountID: listed[0].AccountID, StartedAt: time.Now(),
		FinishedAt: time.Now(), Symbols: []string{"BTCUSDT"}, Capital: old.Strategy.Capital, Summary: raw}); err != nil {
		t.Fatal(err)
	}
	if r = runCarry(t, env, "backtest", "runs", "--limit", "1"); !strings.Contains(r.stdout, "1.23%") || !strings.Contains(r.stdout, "4.56") {
		t.Fatalf("an older record is listed without its figures:\n%s", r.stdout)
	}
	if r = runCarry(t, env, "backtest", "runs", "--limit", "0"); r.code != exitUsage || !strings.Contains(r.stderr, "--limit 0") {
		t.Fatalf("--limit 0: exit %d\n%s", r.code, r.stderr)
	}
}

// TestBacktestShortSpanNotes: a run of a day and a half says that its annualised figures extrapolate it,
// and that the pair it still holds at the end — like the baseline's, which is held, not closed — is valued
// at the mids without exit costs.
func TestBacktestShortSpanNotes(t *testing.T) {
	var res struct {
		Meta     struct{ Notes []string }
		Baseline struct {
			Markers []struct{ Kind string }
		}
	}
	r, _, _ := runBacktestInto(t, &res, "../../testdata/binance", "BTCUSDT", nil,
		"--from", "2021-02-19T12:00:00Z", "--to", "2021-02-21", "--no-chart")
	notes := strings.Join(res.Meta.Notes, "\n")
	for _, want := range []string{"the span is 1.5 days: the annualised figures", "strategy: 1 pair(s) still open at the end",
		"baseline: one pair of constant quantity held the whole span, its margin assumed always sufficient (never liquidated); valued at the end at the mids"} {
		if !strings.Contains(notes, want) || !strings.Contains(r.stdout, want) {
			t.Errorf("the notes (result.json and report) lack %q:\n%s", want, r.stdout)
		}
	}
	if len(res.Baseline.Markers) != 1 || res.Baseline.Markers[0].Kind != "open" {
		t.Errorf("baseline markers %+v: want its open only (held to the end)", res.Baseline.Markers)
	}
}
