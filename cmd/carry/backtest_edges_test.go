package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An interrupted backtest (Ctrl-C, SIGTERM) stops its replay and writes nothing: the previous run's outputs
// stay as they were, and no temporary file is left (before, the files were emptied as the process died).
func TestInterruptedBacktestWritesNothing(t *testing.T) {
	db := pg.NewDB(t)
	out := t.TempDir()
	old := []byte(`{"previous":"run"}`)
	if err := os.WriteFile(filepath.Join(out, "result.json"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("DATABASE_URL="+db, "CARRY_BACKTEST_DATA_DIR=../../testdata/binance", "CARRY_UNIVERSE_SYMBOLS=BTCUSDT")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		p := startCarry(t, env, "backtest", "--out", out, "--log-level", "debug")
		p.waitFor(t, "system built", time.Minute) // the replay is starting (it takes seconds under -race)
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, time.Minute); code != exitFailure || !strings.Contains(p.logs.String(), "backtest interrupted at") {
			t.Fatalf("%s: exit %d, want %d and the interruption named:\n%s", sig, code, exitFailure, p.logs.String())
		}
		if got, _ := os.ReadFile(filepath.Join(out, "result.json")); string(got) != string(old) {
			t.Fatalf("%s: the previous result.json was replaced: %q", sig, got)
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != 1 {
			t.Fatalf("%s: the output directory holds %d files, want only the previous result.json", sig, len(entries))
		}
	}
}

// A range that falls in a gap of the data (here inside the shipped perp klines' three missing days) is
// refused with the gap named, not reported as a run that traded nothing, and the output directory it
// created is removed again; an output directory that cannot be created is refused before the replay.
func TestBacktestRangeInAGapAndAnUnusableOutputDirectory(t *testing.T) {
	db := pg.NewDB(t)
	env := cleanEnv("DATABASE_URL="+db, "CARRY_BACKTEST_DATA_DIR=../../testdata/binance", "CARRY_UNIVERSE_SYMBOLS=BTCUSDT")
	out := filepath.Join(t.TempDir(), "new")
	r := runCarry(t, env, "backtest", "--out", out, "--from", "2022-08-10T06:00:00Z", "--to", "2022-08-12T00:00:00Z", "--no-chart")
	if r.code != exitUsage || !strings.Contains(r.stderr, "no market data to trade") || !strings.Contains(r.stderr, "perp klines missing 2022-08-10 00:00 → 2022-08-13 00:00") {
		t.Fatalf("a range in a gap: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the output directory the failed run created is still there (%v)", err)
	}
	file := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r = runCarry(t, env, "backtest", "--log-level", "debug", "--out", filepath.Join(file, "out"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "output directory") || !strings.Contains(r.stderr, "--out") {
		t.Fatalf("an output directory under a file: exit %d\n%s", r.code, r.stderr)
	}
	// Refused before anything was built or replayed: the debug log has none of the run's phases.
	if strings.Contains(r.stderr, "events in") || strings.Contains(r.stderr, "database open") || time.Since(start) > 30*time.Second {
		t.Fatalf("the output directory was checked after the replay:\n%s\n%s", r.stdout, r.stderr)
	}
}

// writeAll is all or nothing: when one rendering fails, the files already in the directory stay as they
// were, none of the new ones appears, and no temporary file is left behind.
func TestWriteAllLeavesThePreviousOutputsOnFailure(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"result.json", "chart.html"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("previous "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	err := writeAll(dir, []output{{"result.json", write("new")}, {"chart.html", write("new")},
		{"chart.png", func(w io.Writer) error { io.WriteString(w, "half"); return errors.New("the renderer failed") }}})
	if err == nil || !strings.Contains(err.Error(), "chart.png") || !strings.Contains(err.Error(), "the renderer failed") {
		t.Fatalf("error %v, want the failed file named", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("%d files after a failed write, want the previous 2", len(entries))
	}
	for _, n := range []string{"result.json", "chart.html"} {
		if got, _ := os.ReadFile(filepath.Join(dir, n)); string(got) != "previous "+n {
			t.Fatalf("%s became %q", n, got)
		}
	}
	if err := writeAll(dir, []output{{"result.json", write("new")}, {"chart.png", write("new")}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"result.json", "chart.png"} {
		got, _ := os.ReadFile(filepath.Join(dir, n))
		if st, _ := os.Stat(filepath.Join(dir, n)); string(got) != "new" || st.Mode().Perm() != 0o644 {
			t.Fatalf("%s: %q, mode %v", n, got, st.Mode())
		}
	}
}
