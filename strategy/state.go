package strategy

import (
	"context"
	"fmt"
	"time"
)

// Account trading states. The risk module decides them, the operator flips them; they are persisted.
const (
	StateActive   = "active"   // open, close and repair
	StateReducing = "reducing" // only orders that reduce exposure: no new pairs
	StateHalted   = "halted"   // no new orders at all until an operator resumes
)

// TradingState is the account's trading state as the loop sees it; Persist stores a change (Postgres).
type TradingState struct {
	State   string
	Reason  string
	Persist func(ctx context.Context, state, reason string, at time.Time) error
}

// Set changes the state and persists it.
func (t *TradingState) Set(ctx context.Context, state, reason string, at time.Time) error {
	if t.Persist != nil {
		if err := t.Persist(ctx, state, reason, at); err != nil {
			return fmt.Errorf("setting trading state %s: %w", state, err)
		}
	}
	t.State, t.Reason = state, reason
	return nil
}
