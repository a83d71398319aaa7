package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
	"github.com/carry-trading/carry/pkg/pgtest"
)

// carryBin is the binary built once for the end-to-end tests in this package.
var carryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "carrybin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	carryBin = filepath.Join(dir, "carry")
	build := exec.Command("go", "build", "-race", "-o", carryBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building carry:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m, &pg)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// pg is the Postgres server the end-to-end tests give the binary (DATABASE_URL per test database).
var pg *pgtest.Server

// cleanEnv is the environment without carry's variables, so tests start from the defaults.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CARRY_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

func runCarry(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, carryBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running carry %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sharedTempDir is a temporary directory the postgres user can enter (t.TempDir's parent is 0700).
func sharedTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "carrytest")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// proc is a carry process started in the background.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

func startCarry(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(carryBin, args...), logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		p.done <- nil
	})
	return p
}

// waitFor waits until the logs contain want; it fails if the process exits first.
func (p *proc) waitFor(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(p.logs.String(), want) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("carry exited (%v) before logging %q:\n%s", err, want, p.logs.String())
		case <-deadline:
			t.Fatalf("carry did not log %q within %s:\n%s", want, timeout, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("carry did not exit within %s:\n%s", timeout, p.logs.String())
	}
	return -1
}

// startFake serves a fake Binance on loopback with BTCUSDT books around 60,000 and a funding estimate that
// makes carry want to open a pair.
func startFake(t *testing.T) *fakebinance.Server {
	t.Helper()
	srv, err := fakebinance.Start(fakebinance.Options{TickInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	setMarket(t, srv, "60000", "60090", "0.0003")
	return srv
}

// setMarket sets BTCUSDT's spot and perp books (one tick wide) and the mark with a funding estimate.
func setMarket(t *testing.T, srv *fakebinance.Server, spot, perp, rate string) {
	t.Helper()
	d := decimal.RequireFromString
	s, p := d(spot), d(perp)
	if err := srv.SetBook(exchange.Spot, "BTCUSDT", s, d("50"), s.Add(d("0.01")), d("50")); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBook(exchange.Futures, "BTCUSDT", p, d("50"), p.Add(d("0.1")), d("50")); err != nil {
		t.Fatal(err)
	}
	next := time.Now().UTC().Truncate(8 * time.Hour).Add(8 * time.Hour)
	if err := srv.SetMark("BTCUSDT", p, s, d(rate), next); err != nil {
		t.Fatal(err)
	}
}

// fakeEnv points carry at the fake server for BTCUSDT.
func fakeEnv(srv *fakebinance.Server, extra ...string) []string {
	u := srv.URLs()
	return cleanEnv(append([]string{"CARRY_BINANCE_SPOT_REST_URL=" + u.SpotREST, "CARRY_BINANCE_FUTURES_REST_URL=" + u.FuturesREST,
		"CARRY_BINANCE_SPOT_WS_URL=" + u.SpotWS, "CARRY_BINANCE_SPOT_WS_API_URL=" + u.SpotWSAPI, "CARRY_BINANCE_FUTURES_WS_URL=" + u.FuturesWS,
		"CARRY_UNIVERSE_SYMBOLS=BTCUSDT", "CARRY_TELEMETRY_LISTEN="}, extra...)...)
}
