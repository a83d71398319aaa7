package main

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange/binance/fakebinance"
	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/pkg/telemetry"
	"github.com/carry-trading/carry/pkg/telemetry/telemetrytest"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/executor"
)

// scrapeMetrics reads the bot's /metrics as numbers by series.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	return telemetrytest.Scrape(t, addr)
}

// waitMetric scrapes until series satisfies ok and returns its value; it fails with the bot's logs.
func waitMetric(t *testing.T, p *proc, addr, series string, timeout time.Duration, what string, ok func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, found := scrapeMetrics(t, addr)[series]
		if found && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became %s (last %v, exposed %v):\n%s", series, what, v, found, tail(p.logs.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errorsOf(kind string) string { return `carry_errors_total{kind="` + kind + `"}` }
func pnlOf(symbol string) string  { return `carry_pnl{symbol="` + symbol + `"}` }

// cliNetPnL is the net PnL `carry pnl --all --json` reports for the account, per symbol.
func cliNetPnL(t *testing.T, env []string) map[string]decimal.Decimal {
	t.Helper()
	r := runCarry(t, env, "pnl", "--all", "--json")
	var out struct {
		Pairs []accounting.PairPnL
		Note  string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("carry pnl --all --json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if out.Note != "" {
		t.Fatalf("carry pnl could not value the pairs: %s", out.Note)
	}
	net := map[string]decimal.Decimal{}
	for _, p := range out.Pairs {
		if !p.Valued {
			t.Fatalf("carry pnl did not value pair %d", p.PairID)
		}
		net[p.Symbol] = net[p.Symbol].Add(p.NetPnL)
	}
	return net
}

// samePnL: the gauge holds the CLI's decimal net PnL (as a float64).
func samePnL(want decimal.Decimal) func(float64) bool {
	w := want.InexactFloat64()
	return func(v float64) bool { return math.Abs(v-w) <= 1e-9*math.Max(1, math.Abs(w)) }
}

// execSQL runs statements on the bot's database as the tests' superuser.
func execSQL(t *testing.T, b *paperBot, sql string) {
	t.Helper()
	if _, err := b.conn(t).Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestMetricsOfAPaperBot scrapes a running paper bot over HTTP: carry_trading_state follows the state loaded
// at start and the operator's halt and resume; carry_pnl equals `carry pnl --all` for the open pair and,
// after it closes, its realised PnL; carry_feed_lag_seconds is the feed's silence as of the scrape; a dropped
// market stream and a failed database write are counted as errors; carry_margin_level is +Inf without
// margin debt; carry_pairs shows a pair recovered at start.
func TestMetricsOfAPaperBot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	listen := freePort(t)
	b := newPaperBot(t, "CARRY_TELEMETRY_LISTEN="+listen)
	if r := runCarry(t, b.env, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d %s", r.code, r.stderr)
	}
	// Every risk snapshot the bot writes fails: a database error the loop sees (and survives).
	execSQL(t, b, `CREATE FUNCTION carrytest_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected by the test'; END $$;
		CREATE TRIGGER carrytest_fail BEFORE INSERT ON risk_snapshots FOR EACH ROW EXECUTE FUNCTION carrytest_fail();`)
	p := b.start(t)
	b.waitPairs(t, p, "one open pair", hasOpen)

	m := scrapeMetrics(t, listen)
	for series, want := range map[string]float64{`carry_trading_state{state="active"}`: 1, `carry_trading_state{state="reducing"}`: 0,
		`carry_trading_state{state="halted"}`: 0, errorsOf(telemetry.ErrOrder): 0, errorsOf(telemetry.ErrFundingSync): 0,
		errorsOf(telemetry.ErrLoanSync): 0, errorsOf(telemetry.ErrRiskAction): 0} {
		if v, ok := m[series]; !ok || v != want {
			t.Errorf("%s = %v (exposed %v), want %v", series, v, ok, want)
		}
	}
	if v := m["carry_margin_level"]; !math.IsInf(v, 1) {
		t.Errorf("carry_margin_level = %v without margin debt, want +Inf", v)
	}
	for _, v := range []string{"spot", "futures"} {
		if lag := m[`carry_feed_lag_seconds{venue="`+v+`"}`]; lag > 2 {
			t.Errorf("%s feed lag %v s while the fake streams every 200 ms", v, lag)
		}
	}
	waitMetric(t, p, listen, errorsOf(telemetry.ErrDatabase), 20*time.Second, "≥ 1 (a risk snapshot failed)", func(v float64) bool { return v >= 1 })
	execSQL(t, b, "DROP TRIGGER carrytest_fail ON risk_snapshots")

	// Net PnL of the open pair: the fees paid and the legs valued at the mids, as `carry pnl` values them
	// (the fake's books do not move, so the feed's mids are the REST mids the CLI reads).
	open := cliNetPnL(t, b.env)["BTCUSDT"]
	if !open.IsNegative() {
		t.Fatalf("an open pair that paid fees and no funding: net PnL %s", open)
	}
	waitMetric(t, p, listen, pnlOf("BTCUSDT"), 15*time.Second, "carry pnl's "+open.String(), samePnL(open))

	// The feed falls silent: the lag is measured when scraped.
	b.fake.SilenceWS(true, fakebinance.WSSpot, fakebinance.WSFuturesPublic, fakebinance.WSFuturesMarket)
	time.Sleep(2500 * time.Millisecond)
	m = scrapeMetrics(t, listen)
	b.fake.SilenceWS(false, fakebinance.WSSpot, fakebinance.WSFuturesPublic, fakebinance.WSFuturesMarket)
	for _, v := range []string{"spot", "futures"} {
		if lag := m[`carry_feed_lag_seconds{venue="`+v+`"}`]; lag < 2 || lag > 10 {
			t.Errorf("%s feed silent for 2.5 s: lag %v s", v, lag)
		}
	}
	// A market stream drops: one feed error; the lag is small again once it is back.
	b.fake.DropWS(fakebinance.WSSpot)
	waitMetric(t, p, listen, errorsOf(telemetry.ErrFeed), 10*time.Second, "1 (the spot stream dropped)", func(v float64) bool { return v == 1 })
	waitMetric(t, p, listen, `carry_feed_lag_seconds{venue="spot"}`, 10*time.Second, "< 1 s after the reconnect", func(v float64) bool { return v < 1 })

	// Operator commands through the running bot.
	if r := runCarry(t, b.env, "halt", "--reason", "metrics test"); r.code != 0 {
		t.Fatalf("halt: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	m = scrapeMetrics(t, listen)
	if m[`carry_trading_state{state="halted"}`] != 1 || m[`carry_trading_state{state="active"}`] != 0 {
		t.Fatalf("after a halt: trading state %v / %v (halted / active)", m[`carry_trading_state{state="halted"}`], m[`carry_trading_state{state="active"}`])
	}
	if r := runCarry(t, b.env, "reduce-only", "--reason", "metrics test"); r.code != 0 {
		t.Fatalf("reduce-only: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	m = scrapeMetrics(t, listen)
	if m[`carry_trading_state{state="reducing"}`] != 1 || m[`carry_trading_state{state="halted"}`] != 0 {
		t.Fatalf("after reduce-only: trading state %v / %v (reducing / halted)", m[`carry_trading_state{state="reducing"}`], m[`carry_trading_state{state="halted"}`])
	}

	// A restart: the state loaded at start is published, and the recovered pair is counted.
	b.stop(t, p)
	p = b.start(t)
	p.waitFor(t, "carry running", 60*time.Second)
	m = scrapeMetrics(t, listen)
	if m[`carry_trading_state{state="reducing"}`] != 1 || m[`carry_trading_state{state="active"}`] != 0 {
		t.Fatalf("after a restart in reducing: trading state %v / %v (reducing / active)", m[`carry_trading_state{state="reducing"}`], m[`carry_trading_state{state="active"}`])
	}
	if m[`carry_pairs{state="open"}`] != 1 {
		t.Fatalf(`carry_pairs{state="open"} = %v after a restart with one open pair`, m[`carry_pairs{state="open"}`])
	}
	if r := runCarry(t, b.env, "resume", "--reason", "metrics test"); r.code != 0 {
		t.Fatalf("resume: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if v := scrapeMetrics(t, listen)[`carry_trading_state{state="active"}`]; v != 1 {
		t.Fatalf("after resume: active = %v", v)
	}

	// The pair closes: its realised PnL stays on the symbol.
	if r := runCarry(t, b.env, "unwind", "BTCUSDT", "--yes"); r.code != 0 || !strings.Contains(r.stdout, "closed") {
		t.Fatalf("unwind: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	b.waitPairs(t, p, "the pair closed", allClosed)
	realised := cliNetPnL(t, b.env)["BTCUSDT"]
	if realised.Equal(open) || realised.IsZero() {
		t.Fatalf("realised PnL %s: want the closed pair's, not the open one's %s", realised, open)
	}
	waitMetric(t, p, listen, pnlOf("BTCUSDT"), 10*time.Second, "the realised "+realised.String(), samePnL(realised))
	// No pair is left: the risk series of the symbol are gone, not frozen at their last values.
	m = scrapeMetrics(t, listen)
	for _, gone := range []string{`carry_liquidation_distance{symbol="BTCUSDT"}`, `carry_hedge_ratio{symbol="BTCUSDT"}`} {
		if v, ok := m[gone]; ok {
			t.Errorf("%s = %v after the last pair closed", gone, v)
		}
	}
	if m["carry_margin_ratio"] != 0 || !math.IsInf(m["carry_margin_level"], 1) {
		t.Errorf("after the last close: margin ratio %v (want 0), margin level %v (want +Inf)", m["carry_margin_ratio"], m["carry_margin_level"])
	}
	b.stop(t, p)
}

// TestErrorMetricsOfALiveBot: against the fake Binance, an order the venue rejects is an order error (the
// repair unwinds the other leg), and failures to read the funding income and the loan history are
// funding_sync and loan_sync errors (the engine syncs both every minute in live mode; the loan history only
// when carry may owe: reverse carry is on here).
func TestErrorMetricsOfALiveBot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	listen := freePort(t)
	b := liveBot(t, "CARRY_TELEMETRY_LISTEN="+listen, "CARRY_STRATEGY_REVERSE=true")
	if err := b.fake.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultReject, Method: "POST", Path: "/fapi/v1/order", Times: 1}); err != nil {
		t.Fatal(err)
	}
	p := b.start(t)
	// The spot leg fills, the perp is refused: the repair unwinds the spot leg and the pair closes flat.
	b.waitPairs(t, p, "the refused pair closed", allClosed)
	if !strings.Contains(p.logs.String(), `"to":"repairing"`) {
		t.Fatalf("the rejected perp order was not repaired:\n%s", tail(p.logs.String(), 40))
	}
	m := scrapeMetrics(t, listen)
	for series, want := range map[string]float64{errorsOf(telemetry.ErrOrder): 1, errorsOf(telemetry.ErrFundingSync): 0, errorsOf(telemetry.ErrLoanSync): 0} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}

	for _, f := range []fakebinance.Fault{{Kind: fakebinance.FaultStatus, Method: "GET", Path: "/fapi/v1/income"},
		{Kind: fakebinance.FaultStatus, Method: "GET", Path: "/sapi/v1/margin/borrow-repay"}} {
		if err := b.fake.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	waitMetric(t, p, listen, errorsOf(telemetry.ErrFundingSync), 90*time.Second, "≥ 1", func(v float64) bool { return v >= 1 })
	waitMetric(t, p, listen, errorsOf(telemetry.ErrLoanSync), 10*time.Second, "≥ 1", func(v float64) bool { return v >= 1 })
	b.fake.ClearFaults()
	if !strings.Contains(p.logs.String(), "funding sync failed; will retry") || !strings.Contains(p.logs.String(), "loan sync failed; will retry") {
		t.Fatalf("the engine did not warn of the failed syncs:\n%s", tail(p.logs.String(), 30))
	}
	b.stop(t, p)
}

// TestMarginLevelOfAReverseBot: a reverse pair borrows on cross margin; carry_margin_level is the venue's
// own margin level, and carry_pnl (which counts the borrow interest) equals `carry pnl --all`.
func TestMarginLevelOfAReverseBot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	listen := freePort(t)
	b := liveBot(t, "CARRY_STRATEGY_REVERSE=true", "CARRY_TELEMETRY_LISTEN="+listen)
	reverseFunding(t, b.fake)
	p := b.start(t)
	b.waitPairs(t, p, "one open pair", hasOpen)
	want := b.fake.MarginLevel()
	if !want.GreaterThan(decimal.NewFromFloat(1.3)) || want.GreaterThanOrEqual(decimal.NewFromInt(999)) {
		t.Fatalf("the fake's margin level %s: want a loan above the margin call", want)
	}
	waitMetric(t, p, listen, "carry_margin_level", 30*time.Second, "the venue's "+want.String(), func(v float64) bool {
		return math.Abs(v-want.InexactFloat64()) < 1e-6
	})
	// The loan's transactions are recorded just after the pair opens; the interest charged at the borrow is
	// the one the PnL must count.
	c := b.conn(t)
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n == 0; time.Sleep(100 * time.Millisecond) {
		_ = c.QueryRow(context.Background(), "SELECT count(*) FROM loan_txs WHERE kind = 'interest'").Scan(&n)
		if time.Now().After(deadline) {
			t.Fatalf("no interest charge recorded:\n%s", tail(p.logs.String(), 30))
		}
	}
	net := cliNetPnL(t, b.env)["BTCUSDT"]
	waitMetric(t, p, listen, pnlOf("BTCUSDT"), 15*time.Second, "carry pnl's "+net.String(), samePnL(net))
	b.stop(t, p)
}

// TestTradingStateIsPublishedOnEverySet: the loop's trading state publishes the state it starts in and
// every change, whoever makes it (risk's halt goes through the same Set as an operator's command).
func TestTradingStateIsPublishedOnEverySet(t *testing.T) {
	m := telemetry.NewMetrics()
	tr := &publishedTrading{Trading: &strategy.MemoryTrading{State: strategy.StateReducing}, m: m}
	tr.publish()
	check := func(when, want string) {
		t.Helper()
		for _, st := range tradingStates {
			v := 0.0
			if st == want {
				v = 1
			}
			if got := gaugeValue(t, m, "carry_trading_state", st); got != v {
				t.Errorf("%s: carry_trading_state{state=%q} = %v, want %v", when, st, got, v)
			}
		}
	}
	check("at start", strategy.StateReducing)
	if err := tr.Set(context.Background(), strategy.StateHalted, "risk", "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	check("halted by risk", strategy.StateHalted)
	if err := tr.Set(context.Background(), strategy.StateActive, "operator", "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	check("resumed", strategy.StateActive)
}

// gaugeValue reads one labelled gauge from the registry.
func gaugeValue(t *testing.T, m *telemetry.Metrics, family, label string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetValue() == label {
					return s.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("%s{…=%q} is not exposed", family, label)
	return 0
}

// TestCountingStoreCountsFailuresNotVerdicts: a Postgres call that fails is a database error; "not found"
// is an answer, not a failure.
func TestCountingStoreCountsFailuresNotVerdicts(t *testing.T) {
	st, _ := pg.NewStore(t)
	m := telemetry.NewMetrics()
	c := &countingStore{Store: st, m: m}
	ctx := context.Background()
	errs := func() float64 { return counterValue(t, m, telemetry.ErrDatabase) }
	if _, err := c.GetPair(ctx, 424242); err == nil {
		t.Fatal("a pair that does not exist was found")
	}
	if _, err := c.LivePairs(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := errs(); n != 0 {
		t.Fatalf("%v database errors for a missing pair and a good read", n)
	}
	st.Close()
	if _, err := c.LivePairs(ctx, 1); err == nil {
		t.Fatal("a closed pool answered")
	}
	if err := c.MarkOrder(ctx, "x", "unknown", "", time.Now()); err == nil {
		t.Fatal("a closed pool answered")
	}
	if n := errs(); n != 2 {
		t.Fatalf("%v database errors after two failed calls, want 2", n)
	}
}

// TestPNLRefreshIsTheAccountingAndItsCost: the refresh sums every pair's accounting per symbol — closed
// pairs keep their realised PnL, the open pair is valued at the given mids — equal to a hand computation;
// and it reports how long reading and accounting a year's worth of pairs takes.
func TestPNLRefreshIsTheAccountingAndItsCost(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "pnlcost", "paper")
	if err != nil {
		t.Fatal(err)
	}
	const closedPerSymbol = 250 // one pair a day per symbol, closed, with 9 funding payments each
	// Each closed pair: buy 0.01 spot at P, sell 0.01 perp at P+10, sell the spot at P+5, buy the perp back at
	// P+12, a 0.06 USDT fee per fill, nine funding payments of 0.5: net 0.01 × 3 − 4 × 0.06 + 4.5 = 4.29.
	// The open pair: spot bought at 100 and perp sold at 101 (0.5 USDT fees), valued at mids 110 / 112:
	// −100 + 101 − 1 + (110 − 112) = −2.
	_, err = st.Pool().Exec(ctx, `
		WITH p AS (
			INSERT INTO pairs (account_id, symbol, direction, state, intent, target_qty, created_at, updated_at, opened_at, closed_at)
			SELECT $1, s, 'carry', 'closed', 'close', 0.01, t, t, t, t + interval '20 hours'
			FROM unnest(ARRAY['BTCUSDT', 'ETHUSDT']) AS s, generate_series(1, $2::int) AS i,
				LATERAL (SELECT timestamptz '2025-01-01' + i * interval '1 day' AS t) AS tt
			RETURNING id, symbol, created_at
		), f AS (
			INSERT INTO fills (account_id, pair_id, venue, symbol, trade_id, side, qty, price, fee, fee_asset, at)
			SELECT $1, p.id, v.venue, p.symbol, p.id || '-' || v.n, v.side, 0.01, 1000 + v.dp, 0.06, 'USDT', p.created_at
			FROM p, (VALUES (1, 'spot', 'BUY', 0), (2, 'futures', 'SELL', 10), (3, 'spot', 'SELL', 5), (4, 'futures', 'BUY', 12)) AS v(n, venue, side, dp)
		)
		INSERT INTO funding_payments (account_id, pair_id, tran_id, symbol, amount, asset, at)
		SELECT $1, p.id, p.id || '-' || k, p.symbol, 0.5, 'USDT', p.created_at + k * interval '1 hour'
		FROM p, generate_series(1, 9) AS k`, acct.ID, closedPerSymbol)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Pool().Exec(ctx, `
		WITH p AS (
			INSERT INTO pairs (account_id, symbol, direction, state, intent, target_qty, spot_qty, perp_qty, created_at, updated_at, opened_at)
			VALUES ($1, 'BTCUSDT', 'carry', 'open', 'open', 1, 1, 1, now(), now(), now()) RETURNING id
		)
		INSERT INTO fills (account_id, pair_id, venue, symbol, trade_id, side, qty, price, fee, fee_asset, at)
		SELECT $1, p.id, v.venue, 'BTCUSDT', 'open-' || v.n, v.side, 1, v.price, 0.5, 'USDT', now()
		FROM p, (VALUES (1, 'spot', 'BUY', 100), (2, 'futures', 'SELL', 101)) AS v(n, venue, side, price)`, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	m := telemetry.NewMetrics()
	g := &pnlGauge{st: st, acct: acct.ID, quote: "USDT", symbols: []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}, gauge: m.PnL,
		log: zerolog.Nop(), due: make(chan struct{}, 1)}
	g.prices = func(symbol string) accounting.Prices { return accounting.Prices{} }
	if err := g.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cold := time.Duration(g.last.Load())
	realised := 4.29 * closedPerSymbol
	if v := gaugeValue(t, m, "carry_pnl", "ETHUSDT"); math.Abs(v-realised) > 1e-9 {
		t.Fatalf("ETHUSDT, all closed: %v, want %v", v, realised)
	}
	if v := gaugeValue(t, m, "carry_pnl", "SOLUSDT"); v != 0 {
		t.Fatalf("SOLUSDT, never traded: %v, want 0", v)
	}
	if _, err := m.PnL.GetMetricWithLabelValues("BTCUSDT"); err != nil {
		t.Fatal(err)
	}
	if v := gaugeValue(t, m, "carry_pnl", "BTCUSDT"); v != 0 {
		t.Fatalf("BTCUSDT with an open pair and no prices yet: %v, want it left alone", v)
	}
	g.prices = func(symbol string) accounting.Prices {
		return accounting.Prices{Spot: decimal.NewFromInt(110), Perp: decimal.NewFromInt(112)}
	}
	var took []time.Duration
	for i := 0; i < 7; i++ {
		if err := g.refresh(ctx); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Duration(g.last.Load()))
	}
	if v := gaugeValue(t, m, "carry_pnl", "BTCUSDT"); math.Abs(v-(realised-2)) > 1e-9 {
		t.Fatalf("BTCUSDT: %v, want %v", v, realised-2)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	n := 2*closedPerSymbol + 1
	t.Logf("carry_pnl refresh over %d pairs (%d fills, %d funding payments): first %s; then median %s, max %s",
		n, 8*closedPerSymbol+2, 18*closedPerSymbol, cold, took[len(took)/2], took[len(took)-1])

	// A payment recorded late for a long-closed pair shows at the next refresh.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO funding_payments (account_id, pair_id, tran_id, symbol, amount, asset, at)
		SELECT $1, id, 'late', symbol, 1, 'USDT', closed_at FROM pairs WHERE account_id = $1 AND symbol = 'ETHUSDT' ORDER BY id LIMIT 1`, acct.ID); err != nil {
		t.Fatal(err)
	}
	if err := g.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if v := gaugeValue(t, m, "carry_pnl", "ETHUSDT"); math.Abs(v-(realised+1)) > 1e-9 {
		t.Fatalf("ETHUSDT after a late payment of 1: %v, want %v", v, realised+1)
	}
}

// TestAPairHaltIsAnOrderError: the executor's halt of a pair counts as an order error; the account's halt
// (an alert without a pair) does not.
func TestAPairHaltIsAnOrderError(t *testing.T) {
	s := &system{metrics: telemetry.NewMetrics()}
	s.alert(executor.Alert{Severity: "critical", Kind: "halt", Message: "account halted by operator: test"})
	s.alert(executor.Alert{Severity: "warning", Kind: "repair", Symbol: "BTCUSDT", PairID: 7, Message: "repair round 1"})
	if v := counterValue(t, s.metrics, telemetry.ErrOrder); v != 0 {
		t.Fatalf("order errors %v after an account halt and a repair", v)
	}
	s.alert(executor.Alert{Severity: "critical", Kind: "halt", Symbol: "BTCUSDT", PairID: 7, Message: "pair 7 BTCUSDT halted"})
	if v := counterValue(t, s.metrics, telemetry.ErrOrder); v != 1 {
		t.Fatalf("order errors %v after a pair halted, want 1", v)
	}
}

func counterValue(t *testing.T, m *telemetry.Metrics, kind string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			if mf.GetName() == "carry_errors_total" && s.GetLabel()[0].GetValue() == kind {
				return s.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("carry_errors_total{kind=%q} is not exposed", kind)
	return 0
}
