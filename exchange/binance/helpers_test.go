package binance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// d parses a decimal literal.
func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// testLogger logs to stderr with CARRY_TEST_LOG=1, and nowhere otherwise (streams may log after a test
// has returned while they shut down, which t.Log forbids).
func testLogger() zerolog.Logger {
	if os.Getenv("CARRY_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

// startFake starts a fake with quick market streams and BTCUSDT/ETHUSDT books.
func startFake(t *testing.T, opts fakebinance.Options) *fakebinance.Server {
	t.Helper()
	if opts.TickInterval == 0 {
		opts.TickInterval = 50 * time.Millisecond
	}
	srv, err := fakebinance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	must(t, srv.SetBook(exchange.Spot, "BTCUSDT", d("60000"), d("2"), d("60000.01"), d("2")))
	must(t, srv.SetBook(exchange.Futures, "BTCUSDT", d("60010"), d("5"), d("60010.1"), d("5")))
	must(t, srv.SetBook(exchange.Spot, "ETHUSDT", d("3000"), d("20"), d("3000.01"), d("20")))
	must(t, srv.SetBook(exchange.Futures, "ETHUSDT", d("3001"), d("50"), d("3001.01"), d("50")))
	must(t, srv.SetMark("BTCUSDT", d("60005"), d("60000"), d("0.0001"), time.Time{}))
	return srv
}

// fakeConfig points a client at the fake with short, test-sized timings.
func fakeConfig(srv *fakebinance.Server) binance.Config {
	u := srv.URLs()
	return binance.Config{
		SpotRESTURL: u.SpotREST, FuturesRESTURL: u.FuturesREST, SpotWSURL: u.SpotWS, SpotWSAPIURL: u.SpotWSAPI, FuturesWSURL: u.FuturesWS,
		APIKey: srv.APIKey(), APISecret: srv.APISecret(),
		HTTPTimeout: 2 * time.Second, WSSilence: time.Second, UserDataSilence: 5 * time.Second, MaxClockSkew: time.Second,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		FundingLookupAttempts: 3, FundingLookupDelay: 50 * time.Millisecond,
	}
}

func newClient(t *testing.T, cfg binance.Config) *binance.Client {
	t.Helper()
	c, err := binance.New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func eq(t *testing.T, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// fmtAll renders v every way it could end up in a log line.
func fmtAll(v any) string {
	j, _ := json.Marshal(v)
	return fmt.Sprintf("%v|%+v|%#v|%s|%s", v, v, v, v, j)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
