package main

import (
	"bufio"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// result.json, the parts the tests read.
type btResult struct {
	Summary struct {
		Strategy btMetrics  `json:"strategy"`
		Baseline *btMetrics `json:"baseline"`
	} `json:"summary"`
	Meta struct {
		Notes []string
		Gaps  []struct {
			Market   string
			From, To time.Time
		}
	}
	Strategy btBook  `json:"strategy"`
	Baseline *btBook `json:"baseline"`
}

type btBook struct {
	Capital decimal.Decimal `json:"capital"`
	Markers []struct {
		Kind   string
		Amount decimal.Decimal
	}
	Samples []struct {
		Time                                      time.Time
		Equity, Funding, Fees, Interest, Notional decimal.Decimal
		BasisPnL                                  decimal.Decimal `json:"basis_pnl"`
		Basis                                     *float64
	} `json:"samples"`
}

type btMetrics struct {
	NetPnL   decimal.Decimal `json:"net_pnl"`
	Funding  decimal.Decimal `json:"funding"`
	Fees     decimal.Decimal `json:"fees"`
	BasisPnL decimal.Decimal `json:"basis_pnl"`
	Interest decimal.Decimal `json:"interest"`
	APR      float64         `json:"apr"`
	Pairs    int             `json:"pairs"`
	Markers  map[string]int  `json:"markers"`
}

// backtest runs the built binary's backtest on the shipped data into a fresh database and directory.
func backtest(t *testing.T, extraEnv []string, args ...string) (btResult, string, string) {
	t.Helper()
	var res btResult
	_, out, db := runBacktestInto(t, &res, "../../testdata/binance", "BTCUSDT", extraEnv, args...)
	return res, out, db
}

// runBacktestInto runs `carry backtest` over a data directory and symbols into a fresh database and output
// directory, fails the test unless it exits 0, and decodes result.json into res.
func runBacktestInto(t *testing.T, res any, dataDir, symbols string, extraEnv []string, args ...string) (result, string, string) {
	t.Helper()
	db := pg.NewDB(t)
	out := t.TempDir()
	env := cleanEnv(append([]string{"DATABASE_URL=" + db, "CARRY_BACKTEST_DATA_DIR=" + dataDir, "CARRY_UNIVERSE_SYMBOLS=" + symbols}, extraEnv...)...)
	r := runCarry(t, env, append([]string{"backtest", "--out", out}, args...)...)
	if r.code != 0 {
		t.Fatalf("backtest exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	readResult(t, filepath.Join(out, "result.json"), res)
	return r, out, db
}

// readResult decodes a result.json into res.
func readResult(t *testing.T, path string, res any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, res); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestBacktestOnTheShippedData: the whole period with default settings opens and closes pairs by the
// policy, is never liquidated, writes a report and a chart, its numbers add up, and the funding payments it
// stored are exactly the settlements its perp position was held through (checked from the CSV files).
func TestBacktestOnTheShippedData(t *testing.T) {
	res, out, db := backtest(t, nil)
	s := res.Summary.Strategy
	if s.Pairs < 1 || s.Markers["close"] < 1 {
		t.Fatalf("the policy should open and close pairs: %+v", s)
	}
	if s.Markers["liquidation"] != 0 {
		t.Fatalf("default settings were liquidated: %+v", s.Markers)
	}
	if !s.NetPnL.Equal(s.Funding.Sub(s.Fees).Sub(s.Interest).Add(s.BasisPnL)) {
		t.Fatalf("net %s ≠ funding %s − fees %s + basis %s", s.NetPnL, s.Funding, s.Fees, s.BasisPnL)
	}
	if res.Summary.Baseline == nil || !res.Summary.Baseline.Funding.IsPositive() {
		t.Fatalf("no baseline: %+v", res.Summary.Baseline)
	}
	// Every hourly sample adds up too: basis PnL = equity − (capital + funding − fees − interest).
	// While a pair is held its equity moves with the prices nearly every hour; flat, it stays put.
	samples, held, moved := res.Strategy.Samples, 0, 0
	if len(samples) < 10000 {
		t.Fatalf("%d samples for over two years of hours", len(samples))
	}
	for i, x := range samples {
		if want := x.Equity.Sub(res.Strategy.Capital.Add(x.Funding).Sub(x.Fees).Sub(x.Interest)); !x.BasisPnL.Equal(want) {
			t.Fatalf("sample %s: basis PnL %s, want %s (equity %s)", x.Time, x.BasisPnL, want, x.Equity)
		}
		if x.Notional.IsPositive() {
			held++
			if i > 0 && !x.Equity.Equal(samples[i-1].Equity) {
				moved++
			}
		}
	}
	if held == 0 || held == len(samples) || moved < held*9/10 {
		t.Errorf("%d of %d samples hold a notional, and the equity of %d of them moved from the hour before", held, len(samples), moved)
	}
	checkGapValuation(t, res)
	for _, n := range res.Meta.Notes {
		if strings.Contains(n, "still open at the end") {
			t.Errorf("every pair closed, yet the notes say %q", n)
		}
	}
	f, err := os.Open(filepath.Join(out, "chart.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 800 {
		t.Fatalf("chart.png: %v %v", err, img)
	}
	html, err := os.ReadFile(filepath.Join(out, "chart.html"))
	if err != nil || !strings.Contains(string(html), "<svg") {
		t.Fatalf("chart.html: %v", err)
	}
	checkFundingHeld(t, db, s.Funding)
}

// checkGapValuation: a sample values every price of one moment. Through a data gap (a market without prices)
// both books are valued at the prices of when both markets last traded, so their basis PnL stays where it
// was from the gap's start to its end (a stale leg against a live one would move it, and the gap's end
// take it back: the drawdowns and volatility would measure the data's holes). And the two books sample the
// same moment: their basis series agree.
func checkGapValuation(t *testing.T, res btResult) {
	t.Helper()
	if res.Baseline == nil || len(res.Meta.Gaps) == 0 {
		t.Fatalf("want a baseline and the shipped data's gaps in result.json (%d gaps)", len(res.Meta.Gaps))
	}
	checked := 0
	for _, b := range []btBook{res.Strategy, *res.Baseline} {
		at := map[time.Time]decimal.Decimal{}
		for _, x := range b.Samples {
			at[x.Time] = x.BasisPnL
		}
		for _, g := range res.Meta.Gaps {
			start, ok := at[g.From]
			if !ok {
				t.Fatalf("no sample at the start of the %s gap %s → %s", g.Market, g.From, g.To)
			}
			for h := g.From.Add(time.Hour); !h.After(g.To); h = h.Add(time.Hour) {
				// To the 8th place, where funding paid during the gap rounds the equity and the totals apart.
				v, ok := at[h]
				if !ok {
					continue
				}
				if v.Sub(start).Abs().GreaterThan(decimal.New(1, -8)) {
					t.Fatalf("%s gap %s → %s: basis PnL %s at %s, %s at its start", g.Market, g.From, g.To, v, h, start)
				}
				checked++
			}
		}
	}
	base, agree := map[time.Time]float64{}, 0
	for _, x := range res.Baseline.Samples {
		if x.Basis != nil {
			base[x.Time] = *x.Basis
		}
	}
	for _, x := range res.Strategy.Samples {
		if b, ok := base[x.Time]; ok && x.Basis != nil {
			if math.Abs(b-*x.Basis) > 1e-12 {
				t.Fatalf("at %s the strategy's basis is %g and the baseline's %g: not the same moment", x.Time, *x.Basis, b)
			}
			agree++
		}
	}
	if checked < 100 || agree < len(res.Strategy.Samples)*9/10 {
		t.Fatalf("checked %d samples in gaps and %d basis pairs of %d samples", checked, agree, len(res.Strategy.Samples))
	}
}

// checkFundingHeld rebuilds the perp position from the stored fills and, for every settlement in the CSV,
// expects a stored payment of −position × mark × rate to 8 places (mark rule: the open of the settlement hour's perp bar,
// else the previous close) exactly when the position was not zero.
func checkFundingHeld(t *testing.T, db string, total decimal.Decimal) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pgxdecimal.Register(conn.TypeMap())
	type fill struct {
		at  time.Time
		qty decimal.Decimal
	}
	var fills []fill
	rows, err := conn.Query(ctx, "SELECT at, CASE WHEN side = 'BUY' THEN qty ELSE -qty END FROM fills WHERE venue = 'futures' ORDER BY at, id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f fill
		if err := rows.Scan(&f.at, &f.qty); err != nil {
			t.Fatal(err)
		}
		fills = append(fills, f)
	}
	rows.Close()
	stored := map[string]decimal.Decimal{}
	rows, err = conn.Query(ctx, "SELECT tran_id, amount FROM funding_payments")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var amt decimal.Decimal
		if err := rows.Scan(&id, &amt); err != nil {
			t.Fatal(err)
		}
		stored[id] = amt
	}
	rows.Close()

	opens, closes, times := csvPerp(t)
	settlements := csvFunding(t)
	sum, held := decimal.Zero, 0
	for _, st := range settlements {
		// Decisions of an instant are carried out after all its events, a settlement included: a fill stamped
		// with the settlement's own time came after it. Held through a settlement = filled strictly before.
		pos := decimal.Zero
		for _, f := range fills {
			if !f.at.Before(st.at) {
				break
			}
			pos = pos.Add(f.qty)
		}
		id := "paper-BTCUSDT-" + strconv.FormatInt(st.at.UnixMilli(), 10)
		amt, ok := stored[id]
		if pos.IsZero() {
			if ok {
				t.Fatalf("a payment %s at %s while no position was held", amt, st.at)
			}
			continue
		}
		hour := st.at.UnixMilli() - st.at.UnixMilli()%3_600_000
		mark, found := opens[hour]
		if !found {
			i := sort.Search(len(times), func(i int) bool { return times[i] >= hour })
			if i == 0 {
				continue // before the perp data: no mark, the venue cannot settle
			}
			mark = closes[times[i-1]]
		}
		want := pos.Neg().Mul(mark).Mul(st.rate).Round(8) // booked to 8 places, as Binance does
		if !ok {
			t.Fatalf("no payment stored for the settlement at %s with a position of %s", st.at, pos)
		}
		if !amt.Equal(want) {
			t.Fatalf("settlement %s: stored %s, computed from the CSV %s (position %s, mark %s, rate %s)", st.at, amt, want, pos, mark, st.rate)
		}
		sum = sum.Add(want)
		held++
	}
	if held != len(stored) {
		t.Fatalf("%d settlements held, %d payments stored", held, len(stored))
	}
	if !sum.Round(8).Equal(total.Round(8)) {
		t.Fatalf("report funding %s, settlements held %s", total, sum)
	}
	t.Logf("%d settlements held, funding %s", held, sum.Round(2))
}

type settlement struct {
	at   time.Time
	rate decimal.Decimal
}

func csvFunding(t *testing.T) []settlement {
	t.Helper()
	var out []settlement
	eachCSV(t, "../../testdata/binance/BTCUSDT-fundingRate-2020-01-2023-12.csv", func(c []string) {
		ms, _ := strconv.ParseInt(c[0], 10, 64)
		out = append(out, settlement{time.UnixMilli(ms).UTC(), decimal.RequireFromString(c[2])})
	})
	return out
}

func csvPerp(t *testing.T) (opens, closes map[int64]decimal.Decimal, times []int64) {
	t.Helper()
	opens, closes = map[int64]decimal.Decimal{}, map[int64]decimal.Decimal{}
	eachCSV(t, "../../testdata/binance/BTCUSDT-perp-1h-2020-10-2022-12.csv", func(c []string) {
		ms, _ := strconv.ParseInt(c[0], 10, 64)
		opens[ms], closes[ms] = decimal.RequireFromString(c[1]), decimal.RequireFromString(c[4])
		times = append(times, ms)
	})
	return opens, closes, times
}

func eachCSV(t *testing.T, path string, fn func([]string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		fn(strings.Split(sc.Text(), ","))
	}
}

// TestBacktestRiskLadderAt5x: 5x leverage through the early-2021 rally. With the risk actions the top-ups
// and deleverages fire and nothing is liquidated; with them all disabled the paper venue liquidates.
func TestBacktestRiskLadderAt5x(t *testing.T) {
	args := []string{"--from", "2020-12-01", "--to", "2021-05-01", "--no-chart", "--no-baseline"}
	var on btResult
	r, _, _ := runBacktestInto(t, &on, "../../testdata/binance", "BTCUSDT", []string{"CARRY_CAPITAL_LEVERAGE=5"},
		append([]string{"--log-level", "info"}, args...)...)
	m := on.Summary.Strategy.Markers
	if m["topup"] == 0 || m["deleverage"] == 0 || m["liquidation"] != 0 {
		t.Fatalf("risk on at 5x: want top-ups and deleverages and no liquidation, got %v", m)
	}
	for _, mk := range on.Strategy.Markers { // what each moved, in the quote asset
		if (mk.Kind == "topup" || mk.Kind == "deleverage") && !mk.Amount.IsPositive() {
			t.Errorf("a %s marker without the amount it moved: %+v", mk.Kind, mk)
		}
	}
	checkSimTimes(t, r.stderr, "risk action", m["topup"]+m["deleverage"]+m["hedge"]+m["flatten"]+m["halt"],
		time.Date(2020, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC))
	off, _, _ := backtest(t, []string{"CARRY_CAPITAL_LEVERAGE=5", "CARRY_RISK_ACTIONS_TOPUP=false", "CARRY_RISK_ACTIONS_DELEVERAGE=false",
		"CARRY_RISK_ACTIONS_FLATTEN=false", "CARRY_RISK_ACTIONS_HALT=false"}, args...)
	if off.Summary.Strategy.Markers["liquidation"] == 0 {
		t.Fatalf("risk off at 5x through the rally must be liquidated, got %v", off.Summary.Strategy.Markers)
	}
	if on.Summary.Strategy.NetPnL.LessThan(off.Summary.Strategy.NetPnL) {
		t.Fatalf("risk management lost money against no risk management: %s vs %s", on.Summary.Strategy.NetPnL, off.Summary.Strategy.NetPnL)
	}
}

// checkSimTimes expects want log lines with the message msg in a backtest's JSON log, each stamped with the
// simulated time it happened at (sim_time, inside the range), not only the wall clock's.
func checkSimTimes(t *testing.T, log, msg string, want int, from, to time.Time) {
	t.Helper()
	n := 0
	for _, l := range strings.Split(log, "\n") {
		var line struct {
			Message string
			SimTime time.Time `json:"sim_time"`
		}
		if json.Unmarshal([]byte(l), &line) != nil || line.Message != msg {
			continue
		}
		n++
		if line.SimTime.Before(from) || !line.SimTime.Before(to) {
			t.Fatalf("%q logged at simulated time %s, outside the backtest's %s → %s: %s", msg, line.SimTime, from, to, l)
		}
	}
	if n != want {
		t.Fatalf("%d %q lines in the log, want %d:\n%s", n, msg, want, log)
	}
}

// TestBacktestBadData: a missing file, a corrupt row and an empty range fail with an error naming what is
// wrong, without a crash; a gap is handled.
func TestBacktestBadData(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"BTCUSDT-spot-1h-2020-10-2022-12.csv", "BTCUSDT-perp-1h-2020-10-2022-12.csv", "BTCUSDT-fundingRate-2020-01-2023-12.csv"} {
		raw, err := os.ReadFile("../../testdata/binance/" + name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		if strings.Contains(name, "perp") {
			lines[5000] = "1620000000000,oops,1,1,1,1,1,1,1" // a corrupt row at line 5001
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := pg.NewDB(t)
	env := cleanEnv("DATABASE_URL="+db, "CARRY_BACKTEST_DATA_DIR="+dir, "CARRY_UNIVERSE_SYMBOLS=BTCUSDT")
	r := runCarry(t, env, "backtest", "--out", t.TempDir(), "--no-chart")
	if r.code == 0 || !strings.Contains(r.stderr, "BTCUSDT-perp-1h-2020-10-2022-12.csv") || !strings.Contains(r.stderr, "line 5001") {
		t.Fatalf("a corrupt row must fail naming the file and line (exit %d):\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "panic") {
		t.Fatalf("crashed:\n%s", r.stderr)
	}
	if err := os.Remove(filepath.Join(dir, "BTCUSDT-fundingRate-2020-01-2023-12.csv")); err != nil {
		t.Fatal(err)
	}
	r = runCarry(t, env, "backtest", "--out", t.TempDir(), "--no-chart")
	if r.code == 0 || !strings.Contains(r.stderr, "no complete data") {
		t.Fatalf("a missing funding file must be named (exit %d):\n%s", r.code, r.stderr)
	}
	r = runCarry(t, cleanEnv("DATABASE_URL="+db, "CARRY_UNIVERSE_SYMBOLS=BTCUSDT", "CARRY_BACKTEST_DATA_DIR=../../testdata/binance"),
		"backtest", "--from", "2030-01-01", "--to", "2030-02-01")
	if r.code != exitUsage || !strings.Contains(r.stderr, "outside the data") {
		t.Fatalf("a range outside the data: exit %d\n%s", r.code, r.stderr)
	}
}
