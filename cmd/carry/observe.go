package main

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/telemetry"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/policy"
)

// observer turns the engine's and the executor's observations into metrics and feed freshness.
type observer struct {
	m       *telemetry.Metrics
	fresh   *telemetry.Freshness
	wall    bool // live data: freshness is wall time
	states  map[int64]pair.State
	funding map[string]decimal.Decimal
}

func newObserver(m *telemetry.Metrics, fresh *telemetry.Freshness, wall bool) *observer {
	return &observer{m: m, fresh: fresh, wall: wall, states: map[int64]pair.State{}, funding: map[string]decimal.Decimal{}}
}

func (o *observer) OnEvent(ev *exchange.Event) {
	o.m.Events.Inc()
	if !o.wall {
		return
	}
	switch ev.Kind {
	case exchange.EventQuote, exchange.EventMark:
		v := ev.Venue
		if ev.Kind == exchange.EventMark {
			v = exchange.Futures
		}
		o.fresh.Saw(v, time.Now())
	}
}

func (o *observer) OnPair(p pair.Pair) {
	if p.State == pair.Closed {
		delete(o.states, p.ID)
	} else {
		o.states[p.ID] = p.State
	}
	counts := map[pair.State]int{}
	for _, s := range o.states {
		counts[s]++
	}
	for _, s := range pair.AllStates() {
		if s != pair.Closed {
			o.m.Pairs.WithLabelValues(string(s)).Set(float64(counts[s]))
		}
	}
	if p.PerpQty.IsPositive() {
		ratio, _ := p.SpotQty.Div(p.PerpQty).Float64()
		o.m.HedgeRatio.WithLabelValues(p.Symbol).Set(ratio)
	}
}

func (o *observer) OnFunding(p exchange.FundingPayment, _ int64) {
	o.funding[p.Symbol] = o.funding[p.Symbol].Add(p.Amount)
	o.m.FundingEarned.WithLabelValues(p.Symbol).Set(o.funding[p.Symbol].InexactFloat64())
	o.m.FundingPaymentsIn.Inc()
}

func (o *observer) OnLoan(exchange.LoanTx, int64) {}

func (o *observer) OnDecision(policy.Decision) {}

func (o *observer) OnRisk(a strategy.RiskAction, err error) {
	if err != nil {
		o.m.Errors.WithLabelValues("risk_action").Inc()
	}
}

func (o *observer) OrderLatency(v exchange.Venue, d time.Duration) {
	o.m.OrderLatency.WithLabelValues(string(v)).Observe(d.Seconds())
}

func (o *observer) DispatchSkew(d time.Duration) { o.m.DispatchSkew.Observe(d.Seconds()) }

// envCrashpoint names a step at which the process kills itself with SIGKILL, as `kill -9` would: e.g.
// CARRYTEST_CRASHPOINT=open.after_first_leg, or open.after_first_leg@2 for the second time it is reached.
// The crash tests use it to stop the bot at every step of opening and closing.
const envCrashpoint = "CARRYTEST_CRASHPOINT"

func crashpoint() func(string) {
	spec := os.Getenv(envCrashpoint)
	if spec == "" {
		return nil
	}
	name, nthStr, _ := strings.Cut(spec, "@")
	nth := int64(1)
	if n, err := strconv.ParseInt(nthStr, 10, 64); err == nil && n > 0 {
		nth = n
	}
	var seen atomic.Int64
	return func(point string) {
		if point == name && seen.Add(1) == nth {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never continue past the crash point
		}
	}
}
