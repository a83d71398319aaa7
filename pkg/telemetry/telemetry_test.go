package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
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
