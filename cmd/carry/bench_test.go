package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/carry-trading/carry/pkg/config"
)

// BenchmarkBacktestPipeline runs `carry backtest` in-process on the shipped BTC data — replay, strategy,
// paper venues, risk, the executor's journal in Postgres, the recorder — and reports events per second and
// the process's peak resident memory (VmHWM). Target: ≥ 1 M events/s on one core (-cpu 1). Beside the
// aggregate it reports the median and the best run's events/s: on a shared host one run in several is slowed
// by its neighbours, and the spread says how far to trust a difference.
func BenchmarkBacktestPipeline(b *testing.B) {
	url := pg.NewDB(b)
	var events int64
	var elapsed, cpu, wait float64
	var statements int64
	rates := make([]float64, 0, b.N)    // each run's events/s: the host's noise shows as their spread
	cpuRates := make([]float64, 0, b.N) // each run's events per CPU-second
	steal0, total0 := hostCPU()
	for i := 0; i < b.N; i++ {
		a := &app{out: io.Discard, errOut: io.Discard, logLevel: "error", mode: config.ModeBacktest}
		b.Setenv("DATABASE_URL", url)
		b.Setenv("CARRY_BACKTEST_DATA_DIR", "../../testdata/binance")
		b.Setenv("CARRY_UNIVERSE_SYMBOLS", "BTCUSDT")
		if err := a.load(); err != nil {
			b.Fatal(err)
		}
		a.cfg.Backtest.OutputDir = b.TempDir()
		res, err := a.runBacktest(context.Background(), backtestOpts{quiet: true, noBaseline: true, noChart: true}, &bytes.Buffer{})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
		elapsed += res.Replay.Seconds()
		if res.Replay > 0 {
			rates = append(rates, float64(res.Events)/res.Replay.Seconds())
		}
		cpu += res.ReplayCPU.Seconds()
		if res.ReplayCPU > 0 {
			cpuRates = append(cpuRates, float64(res.Events)/res.ReplayCPU.Seconds())
		}
		wait += res.JournalWait.Seconds()
		statements += res.JournalCalls
	}
	b.ReportMetric(float64(events)/elapsed, "events/s")
	if len(rates) > 0 {
		slices.Sort(rates)
		b.ReportMetric(rates[len(rates)/2], "median-events/s")
		b.ReportMetric(rates[len(rates)-1], "best-events/s")
	}
	// The same events over the CPU the process used: the replay's wall time also holds the waits on Postgres
	// (journal writes), which run on the database's core, not this one.
	if cpu > 0 {
		b.ReportMetric(float64(events)/cpu, "events/CPU-s")
	}
	if len(cpuRates) > 0 {
		slices.Sort(cpuRates)
		b.ReportMetric(cpuRates[len(cpuRates)/2], "median-events/CPU-s")
	}
	// The part of the replay's wall time the engine's loop spent waiting on Postgres for the write-ahead
	// journal (pairs, orders, fills, transfers are committed before each order, as in live mode), and how many
	// statements that took per run: a fixed cost per trade, not per event.
	if elapsed > 0 {
		b.ReportMetric(100*wait/elapsed, "journal-wait-%")
		b.ReportMetric(float64(statements)/float64(b.N), "journal-statements/run")
	}
	b.ReportMetric(float64(peakRSS())/1024, "peak-RSS-MB")
	// The share of the host's CPU time its hypervisor gave to other machines meanwhile (steal): when it is
	// more than a few per cent, the wall figures measure the neighbours as much as the code.
	if steal1, total1 := hostCPU(); total1 > total0 {
		b.ReportMetric(100*float64(steal1-steal0)/float64(total1-total0), "host-steal-%")
	}
}

// hostCPU reads the steal and total CPU time of the machine (all CPUs, in clock ticks) from /proc/stat
// (zeros when it is missing).
func hostCPU() (steal, total int64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i < 8 { // user nice system idle iowait irq softirq steal (guest time is inside user)
			total += n
		}
		if i == 7 {
			steal = n
		}
	}
	return steal, total
}

// peakRSS is the process's peak resident set in KiB (0 when /proc is missing).
func peakRSS() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}
