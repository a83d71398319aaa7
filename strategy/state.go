package strategy

import (
	"context"
	"time"
)

// Account trading states (the risk module owns the transition table; see risk.StateTransitions).
const (
	StateActive   = "active"   // open, close and repair
	StateReducing = "reducing" // only orders that reduce exposure: no new pairs
	StateHalted   = "halted"   // no new orders from the strategy until an operator resumes
)

// Trading is the account's trading state as the loop uses it. Changes are checked and persisted by the
// implementation (risk.Switch over Postgres).
type Trading interface {
	Current() string
	// Set changes the state on behalf of by ("risk", "operator", "system") and persists it first.
	Set(ctx context.Context, to, by, reason string, at time.Time) error
}

// MemoryTrading is a Trading kept in memory only (benchmarks and tests without an account row).
type MemoryTrading struct{ State string }

// Current returns the state.
func (m *MemoryTrading) Current() string { return m.State }

// Set changes it.
func (m *MemoryTrading) Set(_ context.Context, to, _, _ string, _ time.Time) error {
	m.State = to
	return nil
}
