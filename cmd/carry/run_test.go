package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
