package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/strategy/pair"
)

// TestRunWithoutDatabaseURL is `make run` on a fresh machine: no DATABASE_URL, so carry starts its own
// Postgres, migrates, runs (paper mode on the fake Binance's public data) until SIGTERM and exits 0, leaving
// the cluster's data for the next run.
func TestRunWithoutDatabaseURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Postgres cluster")
	}
	dir := filepath.Join(sharedTempDir(t), "pg")
	env := fakeEnv(startFake(t), "CARRY_DATABASE_LOCAL_DIR="+dir, "CARRY_STRATEGY_ENTRY_APR=5")
	for round := 1; round <= 2; round++ {
		p := startCarry(t, env, "run", "--log-level", "debug")
		p.waitFor(t, "carry running", 90*time.Second)
		logs := p.logs.String()
		if round == 1 && !strings.Contains(logs, "00001_init.sql") {
			t.Fatalf("first run should apply the migrations:\n%s", logs)
		}
		if round == 2 && strings.Contains(logs, "applied migration") {
			t.Fatalf("second run must find the schema in place (data kept between runs):\n%s", logs)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("round %d: exit %d after SIGTERM, want 0:\n%s", round, code, p.logs.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("cluster data not kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
		t.Fatal("the cluster carry started is still running after carry exited")
	}
}

// TestRestartedBotRanksOnSettledHistory: a bot starts from the last 30 days of settlements, not from the
// running estimate alone. The estimate (+0.03% per 8h, 33% a year) would open a carry pair at once — a bot
// with no history does — but nine settlements at −0.05% bring the expected rate to −0.01%: it stays out.
func TestRestartedBotRanksOnSettledHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	charged := newPaperBot(t)
	var times []int64
	var rates []decimal.Decimal
	last := time.Now().UTC().Truncate(8 * time.Hour)
	for i := 8; i >= 0; i-- {
		times = append(times, last.Add(-time.Duration(i)*8*time.Hour).UnixMilli())
		rates = append(rates, decimal.RequireFromString("-0.0005"))
	}
	charged.fake.AddFundingRates("BTCUSDT", times, rates, decimal.RequireFromString("60000"))
	// `carry scan` ranks from the same history: 0.5 × 0.0003 + 0.5 × −0.0005 = −0.0001 per settlement, a
	// reverse carry earning 0.0001 (listed only when reverse carry is enabled).
	if r := runCarry(t, charged.env, "scan", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "null" {
		t.Fatalf("carry scan with reverse carry off: exit %d, want no opportunity:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	checkScan(t, append(append([]string{}, charged.env...), "CARRY_STRATEGY_REVERSE=true"), pair.Reverse, 0.0001)
	p := charged.start(t)
	p.waitFor(t, "funding signals seeded from the last 30 days", 60*time.Second)
	p.waitFor(t, "carry running", 30*time.Second)
	logs := p.logs.String()
	if !strings.Contains(logs, `"settlements":9`) || !strings.Contains(logs, `"smoothed_rate":-0.0005`) {
		t.Fatalf("the bot did not seed BTCUSDT with the nine settlements:\n%s", tail(logs, 40))
	}
	time.Sleep(4 * time.Second) // four policy evaluations (eval interval 1s)
	var n int
	if err := charged.conn(t).QueryRow(context.Background(), "SELECT count(*) FROM pairs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d pairs opened against a settled history charging carry:\n%s", n, tail(p.logs.String(), 40))
	}
	charged.stop(t, p)

	// The same market without the history: the estimate alone opens a pair.
	fresh := newPaperBot(t)
	checkScan(t, fresh.env, pair.Carry, 0.0003)
	q := fresh.start(t)
	fresh.waitPairs(t, q, "a pair opened on the estimate alone", hasOpen)
	if !strings.Contains(q.logs.String(), "no settled funding history") {
		t.Errorf("a symbol without history was not reported:\n%s", tail(q.logs.String(), 40))
	}
	fresh.stop(t, q)
}

// checkScan runs `carry scan --json` and checks BTCUSDT's direction and the rate it expects the pair to earn
// per settlement.
func checkScan(t *testing.T, env []string, dir pair.Direction, rate float64) {
	t.Helper()
	r := runCarry(t, env, "scan", "--json")
	var rows []scanRow
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rows) != nil || len(rows) != 1 {
		t.Fatalf("carry scan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := rows[0]; got.Symbol != "BTCUSDT" || got.Direction != dir || math.Abs(got.ExpectedRate-rate) > 1e-12 {
		t.Fatalf("scan row %+v, want BTCUSDT %s at %v per settlement", got, dir, rate)
	}
}
