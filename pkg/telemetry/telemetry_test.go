package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/telemetry/telemetrytest"
)

type fakeDB struct{ err error }

func (f fakeDB) Ping(context.Context) error { return f.err }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsAreScraped(t *testing.T) {
	m := NewMetrics()
	fresh := &Freshness{}
	s, err := Start("127.0.0.1:0", m, fresh, fakeDB{}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	m.FundingEarned.WithLabelValues("BTCUSDT").Set(3.5)
	m.HedgeRatio.WithLabelValues("BTCUSDT").Set(1.0001)
	m.LiqDistance.WithLabelValues("BTCUSDT").Set(0.42)
	m.MarginRatio.Set(0.12)
	m.OrderLatency.WithLabelValues("spot").Observe(0.003)
	m.Errors.WithLabelValues("venue").Inc()
	code, body := get(t, "http://"+s.Addr()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{`carry_funding_earned{symbol="BTCUSDT"} 3.5`, `carry_hedge_ratio{symbol="BTCUSDT"} 1.0001`,
		`carry_liquidation_distance{symbol="BTCUSDT"} 0.42`, "carry_margin_ratio 0.12", `carry_order_latency_seconds_count{venue="spot"} 1`,
		`carry_errors_total{kind="venue"} 1`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("listening on %s", s.Addr())
	}
}

func TestHealthzNeedsFreshFeedsAndADatabase(t *testing.T) {
	fresh := &Freshness{}
	db := &fakeDB{}
	s, err := Start("127.0.0.1:0", NewMetrics(), fresh, db, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	url := "http://" + s.Addr() + "/healthz"
	if code, body := get(t, url); code != 503 || !strings.Contains(body, "spot feed stale") {
		t.Fatalf("no feed yet: %d %s", code, body)
	}
	fresh.Saw(exchange.Spot, time.Now())
	fresh.Saw(exchange.Futures, time.Now())
	code, body := get(t, url)
	var st map[string]any
	_ = json.Unmarshal([]byte(body), &st)
	if code != 200 || st["ready"] != true {
		t.Fatalf("fresh feeds and a database: %d %s", code, body)
	}
	db.err = errors.New("down")
	if code, body := get(t, url); code != 503 || !strings.Contains(body, "database") {
		t.Fatalf("database down: %d %s", code, body)
	}
	fresh.Saw(exchange.Spot, time.Now().Add(-time.Minute))
	db.err = nil
	if code, body := get(t, url); code != 503 || !strings.Contains(body, "spot feed stale") {
		t.Fatalf("stale spot feed: %d %s", code, body)
	}
}

// scrape reads /metrics as numbers by series.
func scrape(t *testing.T, addr string) map[string]float64 { return telemetrytest.Scrape(t, addr) }

func sample(t *testing.T, m map[string]float64, series string) float64 {
	t.Helper()
	v, ok := m[series]
	if !ok {
		t.Fatalf("/metrics has no %s", series)
	}
	return v
}

// TestFeedLagIsExactWhenScraped: carry_feed_lag_seconds is the wall time since each venue's last event as
// of the scrape itself (since the server started for a venue that delivered nothing yet).
func TestFeedLagIsExactWhenScraped(t *testing.T) {
	m := NewMetrics()
	fresh := &Freshness{}
	before := time.Now()
	s, err := Start("127.0.0.1:0", m, fresh, fakeDB{}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	fresh.Saw(exchange.Spot, time.Now().Add(-3*time.Second))
	first := time.Now()
	got := scrape(t, s.Addr())
	spot, fut := sample(t, got, `carry_feed_lag_seconds{venue="spot"}`), sample(t, got, `carry_feed_lag_seconds{venue="futures"}`)
	if upper := 3 + time.Since(first).Seconds(); spot < 3 || spot > upper {
		t.Fatalf("spot lag %v, want 3 s (≤ %v)", spot, upper)
	}
	if upper := time.Since(before).Seconds(); fut < 0 || fut > upper {
		t.Fatalf("futures never delivered: lag %v, want the server's age (≤ %v)", fut, upper)
	}
	time.Sleep(300 * time.Millisecond)
	again := sample(t, scrape(t, s.Addr()), `carry_feed_lag_seconds{venue="spot"}`)
	if again-spot < 0.3 {
		t.Fatalf("the lag did not grow between scrapes: %v then %v", spot, again)
	}
	fresh.Saw(exchange.Futures, time.Now())
	if fut := sample(t, scrape(t, s.Addr()), `carry_feed_lag_seconds{venue="futures"}`); fut > 0.5 {
		t.Fatalf("futures just delivered: lag %v", fut)
	}
}

// TestStateErrorsAndMarginLevelAreExposed: every error kind is exposed at 0 from the start and counts;
// carry_trading_state is 1 only for the current state; carry_margin_level is +Inf until a level is set.
func TestStateErrorsAndMarginLevelAreExposed(t *testing.T) {
	m := NewMetrics()
	s, err := Start("127.0.0.1:0", m, &Freshness{}, fakeDB{}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	states := []string{"active", "reducing", "halted"}
	m.SetTradingState("active", states)
	got := scrape(t, s.Addr())
	for _, k := range ErrorKinds {
		if v := sample(t, got, `carry_errors_total{kind="`+k+`"}`); v != 0 {
			t.Errorf("errors %s = %v at start", k, v)
		}
	}
	if v := sample(t, got, "carry_margin_level"); !math.IsInf(v, 1) {
		t.Errorf("margin level without debt: %v, want +Inf", v)
	}
	want := map[string]float64{"active": 1, "reducing": 0, "halted": 0}
	for st, w := range want {
		if v := sample(t, got, `carry_trading_state{state="`+st+`"}`); v != w {
			t.Errorf("trading state %s = %v, want %v", st, v, w)
		}
	}

	m.Error(ErrFeed)
	m.Error(ErrFeed)
	m.Error(ErrDatabase)
	m.SetTradingState("halted", states)
	m.MarginLevel.Set(1.2875)
	got = scrape(t, s.Addr())
	for k, w := range map[string]float64{ErrFeed: 2, ErrDatabase: 1, ErrOrder: 0} {
		if v := sample(t, got, `carry_errors_total{kind="`+k+`"}`); v != w {
			t.Errorf("errors %s = %v, want %v", k, v, w)
		}
	}
	want = map[string]float64{"active": 0, "reducing": 0, "halted": 1}
	for st, w := range want {
		if v := sample(t, got, `carry_trading_state{state="`+st+`"}`); v != w {
			t.Errorf("after a halt: trading state %s = %v, want %v", st, v, w)
		}
	}
	if v := sample(t, got, "carry_margin_level"); v != 1.2875 {
		t.Errorf("margin level %v, want 1.2875", v)
	}
}
