// Package telemetry serves /healthz and Prometheus /metrics, on 127.0.0.1 by default. /healthz answers 200
// only when the market feeds are fresh and the database answers; otherwise 503 with the reason.
package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carry-trading/carry/exchange"
)

// Error kinds of carry_errors_total: a small fixed set, each counted where the error happens.
const (
	// ErrOrder: an order the venue refused, that never reached it or whose outcome stayed unknown; a pair halted.
	ErrOrder = "order"
	// ErrFeed: a market or user-data stream was lost or could not connect, or its REST resync failed.
	ErrFeed = "feed"
	// ErrDatabase: a Postgres call of the trading loop (or the PnL refresh) failed.
	ErrDatabase = "database"
	// ErrFundingSync: reading the funding income from the venue failed.
	ErrFundingSync = "funding_sync"
	// ErrLoanSync: reading the loan history (borrows, repayments, interest) from the venue failed.
	ErrLoanSync = "loan_sync"
	// ErrRiskAction: a risk action (top-up, deleverage, flatten, halt, …) could not be carried out.
	ErrRiskAction = "risk_action"
)

// ErrorKinds lists every kind. Each is exposed from the start at 0, so increase() sees the first error.
var ErrorKinds = []string{ErrOrder, ErrFeed, ErrDatabase, ErrFundingSync, ErrLoanSync, ErrRiskAction}

// Metrics are carry's Prometheus series. Every method is safe for concurrent use and cheap.
type Metrics struct {
	reg *prometheus.Registry

	FundingEarned     *prometheus.GaugeVec     // quote asset, per symbol, since the account began
	PnL               *prometheus.GaugeVec     // net PnL per symbol (funding − fees − interest + basis), as `carry pnl --all`
	HedgeRatio        *prometheus.GaugeVec     // per symbol
	LiqDistance       *prometheus.GaugeVec     // per symbol, fraction of mark
	MarginRatio       prometheus.Gauge         // futures account
	MarginLevel       prometheus.Gauge         // cross margin (reverse carry): assets ÷ (debt + interest); +Inf without debt
	FeedLag           *prometheus.GaugeVec     // seconds since the last event, per venue; set when scraped
	OrderLatency      *prometheus.HistogramVec // per venue
	DispatchSkew      prometheus.Histogram
	Errors            *prometheus.CounterVec // per kind (ErrorKinds)
	Pairs             *prometheus.GaugeVec   // per state
	TradingState      *prometheus.GaugeVec   // 1 for the current state
	Events            prometheus.Counter
	FundingPaymentsIn prometheus.Counter
}

// NewMetrics registers carry's series (and the Go runtime's) on a private registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "carry", Name: name, Help: help}, labels)
		reg.MustRegister(g)
		return g
	}
	m := &Metrics{reg: reg,
		FundingEarned: f("funding_earned", "Funding received minus paid, in the quote asset.", "symbol"),
		PnL: f("pnl", "Net PnL in the quote asset of every pair of the symbol, open and closed: funding − fees − interest + basis "+
			"(what `carry pnl --all` reports; open pairs valued at the feed's mids).", "symbol"),
		HedgeRatio:   f("hedge_ratio", "Net spot quantity ÷ perp quantity.", "symbol"),
		LiqDistance:  f("liquidation_distance", "|liquidation price − mark| ÷ mark.", "symbol"),
		FeedLag:      f("feed_lag_seconds", "Seconds since the last market event, as of the scrape (since the server started when none came yet).", "venue"),
		Pairs:        f("pairs", "Pairs by state.", "state"),
		TradingState: f("trading_state", "1 for the account's current trading state, 0 for the others.", "state"),
		MarginRatio:  prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "carry", Name: "margin_ratio", Help: "Futures maintenance margin ÷ margin balance (liquidation at 1)."}),
		MarginLevel: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "carry", Name: "margin_level",
			Help: "Cross-margin level (reverse carry): total assets ÷ (debt + interest); margin call at 1.3, liquidation at 1.1; +Inf without debt."}),
		OrderLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "carry", Name: "order_latency_seconds", Help: "Time from sending an order to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"venue"}),
		DispatchSkew: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "carry", Name: "dispatch_skew_seconds", Help: "Time between the two legs of a round leaving.",
			Buckets: []float64{.00001, .00005, .0001, .0005, .001, .005, .01, .05}}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "carry", Name: "errors_total",
			Help: "Errors by kind: order, feed, database, funding_sync, loan_sync, risk_action."}, []string{"kind"}),
		Events:            prometheus.NewCounter(prometheus.CounterOpts{Namespace: "carry", Name: "events_total", Help: "Market events processed."}),
		FundingPaymentsIn: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "carry", Name: "funding_payments_total", Help: "Funding payments recorded."}),
	}
	reg.MustRegister(m.MarginRatio, m.MarginLevel, m.OrderLatency, m.DispatchSkew, m.Errors, m.Events, m.FundingPaymentsIn)
	m.MarginLevel.Set(math.Inf(1)) // no debt until a risk report shows one
	for _, k := range ErrorKinds {
		m.Errors.WithLabelValues(k)
	}
	return m
}

// Error counts one error of kind (one of ErrorKinds).
func (m *Metrics) Error(kind string) { m.Errors.WithLabelValues(kind).Inc() }

// SetTradingState sets carry_trading_state to 1 for current and to 0 for every other state of all.
func (m *Metrics) SetTradingState(current string, all []string) {
	known := false
	for _, s := range all {
		v := 0.0
		if s == current {
			v, known = 1, true
		}
		m.TradingState.WithLabelValues(s).Set(v)
	}
	if !known && current != "" {
		m.TradingState.WithLabelValues(current).Set(1) // a state missing from all still shows
	}
}

// SetFeedLag sets carry_feed_lag_seconds from fresh as of now: the time since each venue's last event, or
// since started when the venue has delivered nothing yet.
func (m *Metrics) SetFeedLag(fresh *Freshness, now, started time.Time) {
	for _, v := range []exchange.Venue{exchange.Spot, exchange.Futures} {
		last := fresh.Last(v)
		if last.IsZero() {
			last = started
		}
		m.FeedLag.WithLabelValues(string(v)).Set(max(now.Sub(last), 0).Seconds())
	}
}

// Registry exposes the registry (tests, extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Freshness tracks when each venue's feed last delivered an event. Safe for concurrent use.
type Freshness struct {
	spot, futures atomic.Int64 // unix nanos
}

// Saw records an event from venue at wall time t.
func (f *Freshness) Saw(venue exchange.Venue, t time.Time) {
	if venue == exchange.Futures {
		f.futures.Store(t.UnixNano())
	} else {
		f.spot.Store(t.UnixNano())
	}
}

// Last returns when venue's feed last delivered (zero when never).
func (f *Freshness) Last(venue exchange.Venue) time.Time {
	n := f.spot.Load()
	if venue == exchange.Futures {
		n = f.futures.Load()
	}
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Age returns how long ago each venue's feed delivered (a very large value when never).
func (f *Freshness) Age(now time.Time) (spot, futures time.Duration) {
	age := func(n int64) time.Duration {
		if n == 0 {
			return time.Duration(1<<62 - 1)
		}
		return now.Sub(time.Unix(0, n))
	}
	return age(f.spot.Load()), age(f.futures.Load())
}

// Pinger checks the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server serves /healthz and /metrics.
type Server struct {
	srv      *http.Server
	ln       net.Listener
	once     sync.Once
	metrics  *Metrics
	fresh    *Freshness
	db       Pinger
	staleAge time.Duration
	started  time.Time
}

// Start listens on addr (e.g. 127.0.0.1:9464).
func Start(addr string, m *Metrics, fresh *Freshness, db Pinger, staleAfter time.Duration) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry: listening on %s: %w (set telemetry.listen to another port, or empty to disable)", addr, err)
	}
	s := &Server{ln: ln, metrics: m, fresh: fresh, db: db, staleAge: staleAfter, started: time.Now()}
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		m.SetFeedLag(fresh, time.Now(), s.started) // exact as of this scrape
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("/healthz", s.healthz)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() { err = s.srv.Shutdown(ctx) })
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	spot, fut := s.fresh.Age(now)
	status := map[string]any{"spot_feed_age_seconds": spot.Seconds(), "futures_feed_age_seconds": fut.Seconds()}
	var problems []string
	if spot > s.staleAge {
		problems = append(problems, "spot feed stale")
	}
	if fut > s.staleAge {
		problems = append(problems, "futures feed stale")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		problems = append(problems, "database does not answer")
	}
	code := http.StatusOK
	status["ready"] = len(problems) == 0
	if len(problems) > 0 {
		code = http.StatusServiceUnavailable
		status["problems"] = problems
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(status)
}
