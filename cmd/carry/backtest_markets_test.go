package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/replay"
)

// writeSynthetic lays out sym's data like the shipped files (archive column names, epoch ms, 8h funding
// settlements with the archive's millisecond jitter) over days days of bars of the interval from 2024-01-01:
// spot about 97, the perp 0.1% above it, every settlement at 0.05% — a carry the policy enters.
func writeSynthetic(t *testing.T, dir, sym, interval string, days int) {
	t.Helper()
	iv := map[string]time.Duration{"1h": time.Hour, "4h": 4 * time.Hour}[interval]
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, days)
	spot := []string{"open_time,open,high,low,close,volume,close_time"}
	perp := []string{"open_time,open,high,low,close,volume,close_time,quote_volume,count"}
	for i, at := 0, start; at.Before(end); i, at = i+1, at.Add(iv) {
		px := func(k float64) float64 { return 97.3 + 0.4*math.Sin((float64(i)+k)/9) }
		o, c := px(0), px(1)
		hi, lo := math.Max(o, c)+0.05, math.Min(o, c)-0.05
		ms, closeMs := at.UnixMilli(), at.Add(iv).UnixMilli()-1
		spot = append(spot, fmt.Sprintf("%d,%.2f,%.2f,%.2f,%.2f,1000,%d", ms, o, hi, lo, c, closeMs))
		const prem = 1.001
		perp = append(perp, fmt.Sprintf("%d,%.2f,%.2f,%.2f,%.2f,1000,%d,97000,100", ms, o*prem, hi*prem, lo*prem, c*prem, closeMs))
	}
	funding := []string{"calc_time,funding_interval_hours,last_funding_rate"}
	for at := start; at.Before(end); at = at.Add(8 * time.Hour) {
		funding = append(funding, fmt.Sprintf("%d,8,0.0005", at.UnixMilli()+1))
	}
	span := start.Format("2006-01") + "-" + end.Add(-time.Hour).Format("2006-01")
	for name, lines := range map[string][]string{
		sym + "-spot-" + interval + "-" + span + ".csv": spot,
		sym + "-perp-" + interval + "-" + span + ".csv": perp,
		sym + "-fundingRate-" + span + ".csv":           funding,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeSpotInfo saves a spot exchangeInfo answer for SOLUSDT in Binance's format: the real BTCUSDT entry of the
// shipped sample, renamed, with a whole-coin LOT_SIZE step (coarser than the perpetual's 0.01).
func writeSpotInfo(t *testing.T, dir string) {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/binance/api-samples/api-v3-exchangeInfo-BTC-ETH-XVG.json")
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	var sol map[string]any
	for _, s := range info["symbols"].([]any) {
		if m := s.(map[string]any); m["symbol"] == "BTCUSDT" {
			sol = m
		}
	}
	sol["symbol"], sol["baseAsset"] = "SOLUSDT", "SOL"
	for _, f := range sol["filters"].([]any) {
		if m := f.(map[string]any); m["filterType"] == "LOT_SIZE" {
			m["stepSize"], m["minQty"] = "1.00000000", "1.00000000"
		}
	}
	info["symbols"] = []any{sol}
	out, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, spotInfoFile), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// btRun is one backtest of a data directory: its result.json meta and summary, its text report and database.
type btRun struct {
	Meta struct {
		Interval string   `json:"interval"`
		Symbols  []string `json:"symbols"`
		Notes    []string `json:"notes"`
	} `json:"meta"`
	Summary struct {
		Strategy btMetrics `json:"strategy"`
	} `json:"summary"`
	stdout, stderr, db string
}

func backtestDir(t *testing.T, dir, symbols string) btRun {
	t.Helper()
	var res btRun
	r, _, db := runBacktestInto(t, &res, dir, symbols, nil, "--no-chart", "--no-baseline")
	res.stdout, res.stderr, res.db = r.stdout, r.stderr, db
	return res
}

// spotFillQtys are the quantities of every spot fill a run stored.
func spotFillQtys(t *testing.T, db string) []decimal.Decimal {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pgxdecimal.Register(conn.TypeMap())
	rows, err := conn.Query(ctx, "SELECT qty FROM fills WHERE venue = 'spot' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []decimal.Decimal
	for rows.Next() {
		var q decimal.Decimal
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

func noteWith(notes []string, sub string) string {
	for _, n := range notes {
		if strings.Contains(n, sub) {
			return n
		}
	}
	return ""
}

// TestBacktestApproximateAndProvidedSpotFilters: SOLUSDT has a perpetual in the embedded snapshot but no spot
// entry. Its backtest runs on approximate spot filters, opens a pair, warns and says so in the report (not
// "none of the universe's symbols can be traded"); with the data directory's exchangeInfo-spot.json the real
// filters are traded on: its whole-coin step makes every spot fill a whole number of SOL, which the
// approximate 0.01 step did not.
func TestBacktestApproximateAndProvidedSpotFilters(t *testing.T) {
	dir := t.TempDir()
	writeSynthetic(t, dir, "SOLUSDT", "1h", 30)

	approx := backtestDir(t, dir, "SOLUSDT")
	if s := approx.Summary.Strategy; s.Pairs < 1 {
		t.Fatalf("no pair opened on SOLUSDT: %+v\n%s", s, approx.stderr)
	}
	note := noteWith(approx.Meta.Notes, "approximate spot filters")
	if !strings.Contains(note, "SOLUSDT") || !strings.Contains(approx.stdout, note) {
		t.Fatalf("the report must name SOLUSDT's approximate spot filters: notes %q", approx.Meta.Notes)
	}
	if !strings.Contains(approx.stderr, "approximate spot filters") || !strings.Contains(approx.stderr, "SOLUSDT") {
		t.Fatalf("no warning naming SOLUSDT:\n%s", approx.stderr)
	}
	if n := noteWith(approx.Meta.Notes, "funding estimate bounds"); !strings.Contains(n, "SOLUSDT ±0.375%") {
		t.Fatalf("SOLUSDT's cap from the fundingInfo snapshot is not in the notes: %q", approx.Meta.Notes)
	}
	fractional := false
	for _, q := range spotFillQtys(t, approx.db) {
		fractional = fractional || !q.Equal(q.Truncate(0))
	}
	if !fractional {
		t.Fatal("the approximate run bought whole coins only: the test cannot tell the filters apart")
	}

	writeSpotInfo(t, dir)
	provided := backtestDir(t, dir, "SOLUSDT")
	if s := provided.Summary.Strategy; s.Pairs < 1 {
		t.Fatalf("no pair opened with the provided filters: %+v\n%s", s, provided.stderr)
	}
	if n := noteWith(provided.Meta.Notes, "approximate"); n != "" {
		t.Fatalf("the provided spot filters are still called approximate: %q", n)
	}
	if n := noteWith(provided.Meta.Notes, spotInfoFile); !strings.Contains(n, "SOLUSDT") {
		t.Fatalf("the report does not say the filters came from %s: %q", spotInfoFile, provided.Meta.Notes)
	}
	qtys := spotFillQtys(t, provided.db)
	if len(qtys) == 0 {
		t.Fatal("no spot fills")
	}
	for _, q := range qtys {
		if !q.Equal(q.Truncate(0)) {
			t.Fatalf("spot fill of %s SOL: the provided stepSize 1 was not used", q)
		}
	}
}

// TestBacktestReportsTheDataInterval: a 4h data set is reported as 4h, not 1h.
func TestBacktestReportsTheDataInterval(t *testing.T) {
	dir := t.TempDir()
	writeSynthetic(t, dir, "BTCUSDT", "4h", 30)
	r := backtestDir(t, dir, "BTCUSDT")
	if r.Meta.Interval != "4h" {
		t.Fatalf("result.json interval %q, want 4h", r.Meta.Interval)
	}
	if !strings.Contains(r.stdout, "data      4h "+dir) {
		t.Fatalf("the text report does not show the 4h interval:\n%s", r.stdout)
	}
	if n := noteWith(r.Meta.Notes, "approximate"); n != "" {
		t.Fatalf("BTCUSDT has real spot filters in the snapshot: %q", n)
	}
}

// TestBacktestMarketsFromTheSnapshotAndFiles: the exchange information of a backtest without and with the
// data directory's Binance answers.
func TestBacktestMarketsFromTheSnapshotAndFiles(t *testing.T) {
	dir := t.TempDir()
	m, err := loadBacktestMarkets(dir, []string{"BTCUSDT", "SOLUSDT", "NOSUCHUSDT"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.symbols, ",") != "BTCUSDT,SOLUSDT" || strings.Join(m.excluded, ",") != "NOSUCHUSDT" ||
		strings.Join(m.approximate, ",") != "SOLUSDT" {
		t.Fatalf("symbols %v, excluded %v, approximate %v", m.symbols, m.excluded, m.approximate)
	}
	if w := strings.Join(m.warnings(), "\n"); !strings.Contains(w, "NOSUCHUSDT left out") || !strings.Contains(w, "SOLUSDT: no spot") {
		t.Fatalf("warnings: %s", w)
	}
	find := func(m *backtestMarkets, v exchange.Venue, sym string) exchange.Instrument {
		for _, in := range m.instruments {
			if in.Venue == v && in.Symbol == sym {
				return in
			}
		}
		t.Fatalf("no %s %s instrument", v, sym)
		return exchange.Instrument{}
	}
	d := decimal.RequireFromString
	sp, pp := find(m, exchange.Spot, "SOLUSDT"), find(m, exchange.Futures, "SOLUSDT")
	if !sp.TickSize.Equal(pp.TickSize) || sp.StepSize.GreaterThan(pp.StepSize) || !sp.MinNotional.Equal(d("5")) ||
		!sp.MinNotionalMarket || sp.Base != "SOL" || !sp.Trading {
		t.Fatalf("approximate spot %+v from perp %+v", sp, pp)
	}
	if b := find(m, exchange.Spot, "BTCUSDT"); !b.StepSize.Equal(d("0.00001")) || !b.TickSize.Equal(d("0.01")) {
		t.Fatalf("BTCUSDT spot from the snapshot: %+v", b)
	}
	if c := m.funding["SOLUSDT"].Cap; !c.Equal(d("0.00375")) {
		t.Fatalf("SOLUSDT cap %s, want the snapshot's 0.00375", c)
	}
	if c := m.funding["BTCUSDT"].Cap; !c.Equal(d("0.003")) {
		t.Fatalf("BTCUSDT cap %s", c)
	}
	o := m.replayOptions(replay.Options{})
	if o.RateCaps["SOLUSDT"] != 0.00375 || o.RateFloors["SOLUSDT"] != -0.00375 || o.RateCaps["BTCUSDT"] != 0.003 {
		t.Fatalf("replay caps %v floors %v", o.RateCaps, o.RateFloors)
	}

	// The data directory's answers: spot filters for SOLUSDT, a fundingInfo without SOLUSDT (so it is on
	// the ±2% default).
	writeSpotInfo(t, dir)
	fi := `[{"symbol":"BTCUSDT","adjustedFundingRateCap":"0.00400","adjustedFundingRateFloor":"-0.00200","fundingIntervalHours":8,"disclaimer":false}]`
	if err := os.WriteFile(filepath.Join(dir, fundingInfoFile), []byte(fi), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = loadBacktestMarkets(dir, []string{"BTCUSDT", "SOLUSDT"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.approximate) != 0 {
		t.Fatalf("approximate %v with a provided spot answer", m.approximate)
	}
	if sp := find(m, exchange.Spot, "SOLUSDT"); !sp.StepSize.Equal(d("1")) || !sp.MinQty.Equal(d("1")) || !sp.MinNotional.Equal(d("5")) {
		t.Fatalf("SOLUSDT spot from %s: %+v", spotInfoFile, sp)
	}
	if b := find(m, exchange.Spot, "BTCUSDT"); !b.StepSize.Equal(d("0.00001")) {
		t.Fatalf("BTCUSDT, absent from the file, must come from the snapshot: %+v", b)
	}
	if c := m.funding["SOLUSDT"]; !c.Cap.Equal(d("0.02")) || !c.Floor.Equal(d("-0.02")) {
		t.Fatalf("SOLUSDT, omitted by the provided fundingInfo, must be on ±2%%: %+v", c)
	}
	o = m.replayOptions(replay.Options{})
	if o.RateCaps["BTCUSDT"] != 0.004 || o.RateFloors["BTCUSDT"] != -0.002 {
		t.Fatalf("BTCUSDT bounds from %s: cap %v floor %v", fundingInfoFile, o.RateCaps["BTCUSDT"], o.RateFloors["BTCUSDT"])
	}
	notes := strings.Join(m.notes(), "\n")
	for _, want := range []string{"exchangeInfo-spot.json (SOLUSDT)", "BTCUSDT -0.2%/+0.4%", "SOLUSDT ±2%", fundingInfoFile} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	// A broken answer is an error naming the file, not a silent fallback.
	if err := os.WriteFile(filepath.Join(dir, futuresInfoFile), []byte(`{"serverTime":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadBacktestMarkets(dir, []string{"SOLUSDT"}); err == nil || !strings.Contains(err.Error(), futuresInfoFile) {
		t.Fatalf("a futures answer without symbols: %v", err)
	}
	if _, err := loadBacktestMarkets(t.TempDir(), []string{"NOSUCHUSDT"}); err == nil ||
		!strings.Contains(err.Error(), "NOSUCHUSDT") || !strings.Contains(err.Error(), futuresInfoFile) {
		t.Fatalf("no symbol with a perpetual: %v", err)
	}
}

// The backtest's paper venue and signals trade on the data directory's funding bounds: its interval, cap
// and floor (before, the venue reported 8h and ±cap whatever the file said, and the signals took that).
func TestBacktestSignalsUseTheDataDirectorysFundingInfo(t *testing.T) {
	dir := t.TempDir()
	writeSynthetic(t, dir, "BTCUSDT", "1h", 3)
	fi := `[{"symbol":"BTCUSDT","adjustedFundingRateCap":"0.00400","adjustedFundingRateFloor":"-0.00200","fundingIntervalHours":4,"disclaimer":false}]`
	if err := os.WriteFile(filepath.Join(dir, fundingInfoFile), []byte(fi), 0o644); err != nil {
		t.Fatal(err)
	}
	url := pg.NewDB(t)
	a := &app{out: io.Discard, errOut: io.Discard, logLevel: "error", mode: config.ModeBacktest}
	t.Setenv("DATABASE_URL", url)
	t.Setenv("CARRY_BACKTEST_DATA_DIR", dir)
	t.Setenv("CARRY_UNIVERSE_SYMBOLS", "BTCUSDT")
	if err := a.load(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := a.openDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, feed, _, err := a.openBacktest(ctx, db, "bt-funding-info")
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	defer s.close()
	if err := s.build(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.venue.FundingInfo(ctx, "BTCUSDT")
	if err != nil || got.IntervalHours != 4 || !got.Cap.Equal(decimal.RequireFromString("0.004")) || !got.Floor.Equal(decimal.RequireFromString("-0.002")) {
		t.Fatalf("the venue's funding info %+v (%v); want 4h, cap 0.4%%, floor -0.2%%", got, err)
	}
	if sg := s.book.Get("BTCUSDT"); sg == nil || sg.IntervalHours != 4 {
		t.Fatalf("the signals' interval: %+v, want 4h", sg)
	}
}
