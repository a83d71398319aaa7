package binance_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

func inject(t *testing.T, srv *fakebinance.Server, f fakebinance.Fault) {
	t.Helper()
	must(t, srv.InjectFault(f))
}

func requireUnknown(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if exchange.IsRejected(err) {
		t.Fatalf("%v: a lost answer must not be reported as a rejection", err)
	}
	if !errors.Is(err, binance.ErrOutcomeUnknown) {
		t.Fatalf("%v: want ErrOutcomeUnknown", err)
	}
}

func posts(srv *fakebinance.Server, path string) int {
	n := 0
	for _, r := range srv.Requests(path) {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

func TestLatency(t *testing.T) {
	srv := startFake(t, fakebinance.Options{})
	cfg := fakeConfig(srv)
	cfg.HTTPTimeout = 400 * time.Millisecond
	c := newClient(t, cfg)
	ctx := ctxT(t, 10*time.Second)
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultLatency, Path: "/fapi/v1/premiumIndex", Delay: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	m, err := c.Mark(ctx, "BTCUSDT")
	must(t, err)
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("answered in %s despite 150ms of latency", el)
	}
	eq(t, "mark after latency", m.Mark, d("60005"))
	// Latency beyond the HTTP timeout: the call fails, it does not hang.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultLatency, Path: "/fapi/v1/premiumIndex", Delay: 2 * time.Second, Times: 1})
	start = time.Now()
	if _, err := c.Mark(ctx, "BTCUSDT"); err == nil {
		t.Fatal("a call slower than the HTTP timeout succeeded")
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("the timeout took %s, configured 400ms", el)
	}
	// A signed call that times out: the error names the endpoint, not the signed query.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultLatency, Path: "/fapi/v3/account", Delay: 2 * time.Second, Times: 1})
	_, err = c.FuturesAccount(ctx)
	if err == nil || !strings.Contains(err.Error(), "/fapi/v3/account") || strings.Contains(err.Error(), "signature") {
		t.Errorf("timeout error %q", err)
	}
}

func TestOrderTimeoutThatExecuted(t *testing.T) {
	for _, v := range []exchange.Venue{exchange.Spot, exchange.Futures} {
		t.Run(string(v), func(t *testing.T) {
			srv := fundedFake(t, fakebinance.Options{})
			cfg := fakeConfig(srv)
			cfg.HTTPTimeout = 300 * time.Millisecond
			c := newClient(t, cfg)
			ctx := ctxT(t, 10*time.Second)
			path := "/api/v3/order"
			side := exchange.Buy
			if v == exchange.Futures {
				path, side = "/fapi/v1/order", exchange.Sell
			}
			inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultTimeout, Method: "POST", Path: path, Execute: true, Times: 1})
			_, err := c.PlaceOrder(ctx, order("to-exec-1", v, side, exchange.Market, "0.01", ""))
			requireUnknown(t, err)
			if posts(srv, path) != 1 {
				t.Errorf("%d order requests; an unknown outcome must not be retried blindly", posts(srv, path))
			}
			// The executor's next step: query by client id. It did execute.
			o, err := c.QueryOrder(ctx, v, "BTCUSDT", "to-exec-1")
			must(t, err)
			qty, _ := sumFills(o)
			if o.Status != exchange.StatusFilled || len(o.Fills) == 0 || !qty.Equal(d("0.01")) {
				t.Errorf("queried %+v", o)
			}
		})
	}
}

func TestOrderTimeoutThatDidNotExecute(t *testing.T) {
	for _, v := range []exchange.Venue{exchange.Spot, exchange.Futures} {
		t.Run(string(v), func(t *testing.T) {
			srv := fundedFake(t, fakebinance.Options{})
			cfg := fakeConfig(srv)
			cfg.HTTPTimeout = 300 * time.Millisecond
			c := newClient(t, cfg)
			ctx := ctxT(t, 10*time.Second)
			path := map[exchange.Venue]string{exchange.Spot: "/api/v3/order", exchange.Futures: "/fapi/v1/order"}[v]
			inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultTimeout, Method: "POST", Path: path, Times: 1})
			_, err := c.PlaceOrder(ctx, order("to-lost-1", v, exchange.Sell, exchange.Market, "0.01", ""))
			requireUnknown(t, err)
			if _, err := c.QueryOrder(ctx, v, "BTCUSDT", "to-lost-1"); !errors.Is(err, exchange.ErrNotFound) {
				t.Errorf("query after a lost order: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestServerErrorsLeaveTheOutcomeUnknown(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 10*time.Second)

	// 503 with a Binance -1001 body, not executed.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultStatus, Method: "POST", Path: "/fapi/v1/order", Status: 503, Times: 1})
	_, err := c.PlaceOrder(ctx, order("5xx-1", exchange.Futures, exchange.Sell, exchange.Market, "0.01", ""))
	requireUnknown(t, err)
	if _, err := c.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "5xx-1"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("query: %v", err)
	}

	// 502 with an HTML page (no Binance code), executed.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultStatus, Method: "POST", Path: "/api/v3/order", Status: 502, Msg: "<html>Bad Gateway</html>", Execute: true, Times: 1})
	_, err = c.PlaceOrder(ctx, order("5xx-2", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
	requireUnknown(t, err)
	o, err := c.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "5xx-2")
	must(t, err)
	if o.Status != exchange.StatusFilled {
		t.Errorf("queried %+v", o)
	}

	// The connection drops after the order was processed: unknown, and it is there.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultDrop, Method: "POST", Path: "/fapi/v1/order", Execute: true, Times: 1})
	_, err = c.PlaceOrder(ctx, order("drop-1", exchange.Futures, exchange.Sell, exchange.Market, "0.01", ""))
	requireUnknown(t, err)
	if o, err := c.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "drop-1"); err != nil || o.Status != exchange.StatusFilled {
		t.Errorf("query after the drop: %+v %v", o, err)
	}
	if n := posts(srv, "/fapi/v1/order"); n != 2 {
		t.Errorf("%d order posts; a dropped order must not be resent by the HTTP client", n)
	}

	// "Execution status unknown" codes stay unknown even with a 4xx status.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultReject, Method: "POST", Path: "/api/v3/order", Status: 400, Code: -1007,
		Msg: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.", Times: 1})
	_, err = c.PlaceOrder(ctx, order("5xx-3", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
	requireUnknown(t, err)

	// A read that fails with 500 says so.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultStatus, Path: "/api/v3/ticker/bookTicker", Status: 500, Msg: "<html>oops</html>", Times: 1})
	_, err = c.Quote(ctx, exchange.Spot, "BTCUSDT")
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("quote during a 500: %v", err)
	}
	if _, err := c.Quote(ctx, exchange.Spot, "BTCUSDT"); err != nil {
		t.Errorf("after a one-shot 500: %v", err)
	}
}

func TestRateLimitHoldsRequestsUntilRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		kind   fakebinance.FaultKind
		status int
		text   string
	}{{fakebinance.FaultRateLimit, 429, "rate limited"}, {fakebinance.FaultBan, 418, "banned"}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			srv := fundedFake(t, fakebinance.Options{})
			c := newClient(t, fakeConfig(srv))
			ctx := ctxT(t, 10*time.Second)
			inject(t, srv, fakebinance.Fault{Kind: tc.kind, Path: "/api/v3/ticker/bookTicker", RetryAfter: time.Second, Times: 1})
			hit := time.Now()
			_, err := c.Quote(ctx, exchange.Spot, "BTCUSDT")
			var rl *binance.RateLimitError
			if !errors.As(err, &rl) || rl.Status != tc.status || rl.API != "spot" || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want a %d RateLimitError", err, tc.status)
			}
			if wait := rl.Until.Sub(hit); wait < 900*time.Millisecond || wait > 2*time.Second {
				t.Errorf("held for %s, Retry-After said 1s", wait)
			}
			w := c.UsedWeight()
			if !w.SpotBlocked.Equal(rl.Until) || !w.FutureBlocked.IsZero() {
				t.Errorf("weight %+v", w)
			}
			sent := len(srv.Requests(""))
			// Nothing is sent to the spot API (api or sapi) until Retry-After has passed.
			if _, err := c.Quote(ctx, exchange.Spot, "BTCUSDT"); !errors.As(err, &rl) || rl.Status != 0 {
				t.Errorf("quote while held: %v", err)
			}
			if _, err := c.Balances(ctx, exchange.Spot); !errors.As(err, &rl) {
				t.Errorf("balances while held: %v", err)
			}
			if _, err := c.Transfers(ctx, exchange.SpotToFutures, time.Now().Add(-time.Hour)); !errors.As(err, &rl) {
				t.Errorf("sapi while held: %v", err)
			}
			// An order refused locally was not sent: a definite rejection that keeps the cause.
			_, err = c.PlaceOrder(ctx, order("rl-1", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
			if !exchange.IsRejected(err) || !errors.As(err, &rl) {
				t.Errorf("order while held: %v", err)
			}
			if n := len(srv.Requests("")); n != sent {
				t.Fatalf("%d requests reached Binance while rate limited", n-sent)
			}
			// The futures API has its own limits and is not held.
			if _, err := c.Quote(ctx, exchange.Futures, "BTCUSDT"); err != nil {
				t.Errorf("futures while spot is held: %v", err)
			}
			eventually(t, 3*time.Second, "Retry-After to pass", func() bool { return time.Now().After(rl.Until) })
			q, err := c.Quote(ctx, exchange.Spot, "BTCUSDT")
			must(t, err)
			eq(t, "bid after the hold", q.Bid, d("60000"))
			var firstAfter time.Time
			for _, r := range srv.Requests("") {
				if !strings.HasPrefix(r.Path, "/fapi") && r.Time.After(hit.Add(10*time.Millisecond)) {
					firstAfter = r.Time
					break
				}
			}
			if firstAfter.Before(rl.Until) {
				t.Errorf("a spot request was sent at %s, before Retry-After (%s)", firstAfter, rl.Until)
			}
		})
	}
}

func TestTimestampRejectionResyncsAndRetriesOnce(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 10*time.Second)

	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultTimestamp, Method: "POST", Path: "/fapi/v1/order", Times: 1})
	times := len(srv.Requests("/fapi/v1/time"))
	o, err := c.PlaceOrder(ctx, order("ts-1", exchange.Futures, exchange.Sell, exchange.Market, "0.01", ""))
	must(t, err)
	if o.Status != exchange.StatusFilled || posts(srv, "/fapi/v1/order") != 2 || len(srv.Requests("/fapi/v1/time")) != times+1 {
		t.Errorf("order %+v after %d posts and %d time requests", o, posts(srv, "/fapi/v1/order"), len(srv.Requests("/fapi/v1/time"))-times)
	}

	// Twice in a row: retried once only, then a definite rejection (Binance processed nothing).
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultTimestamp, Method: "POST", Path: "/api/v3/order", Times: 2})
	_, err = c.PlaceOrder(ctx, order("ts-2", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
	var rej *exchange.RejectError
	if !errors.As(err, &rej) || rej.Code != -1021 {
		t.Errorf("persistent -1021: %v", err)
	}
	if posts(srv, "/api/v3/order") != 2 {
		t.Errorf("%d spot order posts, want 2 (one retry)", posts(srv, "/api/v3/order"))
	}
}

func TestClockOffsetIsMeasuredAndUsed(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	cfg := fakeConfig(srv)
	cfg.RecvWindow = time.Second
	c := newClient(t, cfg)
	ctx := ctxT(t, 10*time.Second)
	// Binance's clock is 4s ahead of ours: every signed request is outside a 1s recvWindow …
	srv.SetTimeOffset(4 * time.Second)
	bals, err := c.Balances(ctx, exchange.Spot)
	must(t, err) // … until the adapter resynced on the first -1021.
	if len(bals) == 0 {
		t.Error("no balances")
	}
	spot, fut := c.Offsets()
	for _, off := range []time.Duration{spot, fut} {
		if (off + 4*time.Second).Abs() > 250*time.Millisecond {
			t.Errorf("offset %s, want about -4s", off)
		}
	}
	if _, err := c.Positions(ctx); err != nil {
		t.Errorf("futures after the resync: %v", err)
	}
}

func TestRejectFaultAndPartialFill(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 10*time.Second)

	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultReject, Method: "POST", Path: "/fapi/v1/order", Code: -2019, Msg: "Margin is insufficient.", Times: 1})
	_, err := c.PlaceOrder(ctx, order("rj-1", exchange.Futures, exchange.Sell, exchange.Market, "0.01", ""))
	var rej *exchange.RejectError
	if !errors.As(err, &rej) || rej.Kind != exchange.RejectInsufficient || rej.Code != -2019 || rej.Reason != "Margin is insufficient." {
		t.Fatalf("got %v", err)
	}
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultReject, Method: "POST", Path: "/api/v3/order", Code: -1013, Msg: "Filter failure: NOTIONAL", Times: 1})
	_, err = c.PlaceOrder(ctx, order("rj-2", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
	if !errors.As(err, &rej) || rej.Kind != exchange.RejectFilter {
		t.Fatalf("got %v", err)
	}

	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultPartial, Path: "/api/v3/order", Ratio: d("0.5"), Times: 1})
	o, err := c.PlaceOrder(ctx, order("pf-1", exchange.Spot, exchange.Buy, exchange.Market, "0.1", ""))
	must(t, err)
	qty, _ := sumFills(o)
	if o.Status != exchange.StatusExpired || !o.ExecutedQty.Equal(d("0.05")) || !qty.Equal(d("0.05")) {
		t.Errorf("partial spot %+v", o)
	}
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultPartial, Path: "/fapi/v1/order", Ratio: d("0.25"), Times: 1})
	o, err = c.PlaceOrder(ctx, order("pf-2", exchange.Futures, exchange.Sell, exchange.Market, "0.4", ""))
	must(t, err)
	qty, _ = sumFills(o)
	if o.Status != exchange.StatusExpired || !o.ExecutedQty.Equal(d("0.1")) || !qty.Equal(d("0.1")) {
		t.Errorf("partial futures %+v", o)
	}
	ps, err := c.Positions(ctx)
	must(t, err)
	if len(ps) != 1 || !ps[0].Qty.Equal(d("-0.1")) {
		t.Errorf("position after a partial fill %+v", ps)
	}
}

func TestRejectedKeyOrSignature(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	ctx := ctxT(t, 10*time.Second)
	for _, tc := range []struct {
		name        string
		key, secret string
		code        int64
	}{{"wrong secret", srv.APIKey(), "not-the-secret", -1022}, {"unknown key", "someone-elses-key", srv.APISecret(), -2015}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fakeConfig(srv)
			cfg.APIKey, cfg.APISecret = tc.key, tc.secret
			c := newClient(t, cfg)
			_, err := c.Balances(ctx, exchange.Spot)
			var ae *binance.AuthError
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("balances: %v, want AuthError %d", err, tc.code)
			}
			for _, hint := range []string{"CARRY_ACCOUNT_API_KEY", "CARRY_ACCOUNT_API_SECRET", "whitelist", "futures"} {
				if !strings.Contains(err.Error(), hint) {
					t.Errorf("%q does not mention %s", err, hint)
				}
			}
			if strings.Contains(err.Error(), tc.secret) || strings.Contains(err.Error(), tc.key) {
				t.Error("the credentials appear in the error")
			}
			_, err = c.PlaceOrder(ctx, order("auth-1", exchange.Spot, exchange.Buy, exchange.Market, "0.01", ""))
			if !exchange.IsRejected(err) || !errors.As(err, &ae) {
				t.Errorf("order with a bad key: %v, want a rejection carrying the AuthError", err)
			}
			err = c.CheckAccount(ctx)
			if !errors.Is(err, binance.ErrRefused) || !errors.As(err, &ae) {
				t.Errorf("start-up check: %v", err)
			}
			if _, err := c.UserData(ctx); !errors.As(err, &ae) {
				t.Errorf("user data: %v", err)
			}
		})
	}
}
