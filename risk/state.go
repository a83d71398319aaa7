package risk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// State is the account's trading state.
type State string

// Trading states.
const (
	// Active: every order the checks allow.
	Active State = "active"
	// Reducing: only orders that shrink a leg (closing, deleveraging, shrinking hedge corrections).
	Reducing State = "reducing"
	// Halted: no new orders; only exposure-reducing orders that risk itself or an operator issues (a flatten
	// must still be able to save the account). Only an operator resumes.
	Halted State = "halted"
)

// Valid reports a known state.
func (s State) Valid() bool { return s == Active || s == Reducing || s == Halted }

// Actor is who changes the state.
type Actor string

// Actors.
const (
	ActorOperator Actor = "operator" // a person, through the CLI or a command
	ActorRisk     Actor = "risk"     // the risk ladder (halt)
	ActorSystem   Actor = "system"   // the bot itself (recovery finding something it cannot explain, shutdown)
)

// StateRule is one row of the transition table: from → to is legal for the listed actors.
type StateRule struct {
	From, To State
	By       []Actor
}

// StateTransitions is the one table of legal trading-state changes. Automatic actors (risk, system) may only
// tighten (active → reducing → halted); loosening needs an operator, so nothing the bot decides by itself
// can undo a restriction. A change to the current state is not a transition.
func StateTransitions() []StateRule {
	anyone := []Actor{ActorOperator, ActorRisk, ActorSystem}
	operator := []Actor{ActorOperator}
	return []StateRule{
		{Active, Reducing, anyone},
		{Active, Halted, anyone},
		{Reducing, Halted, anyone},
		{Reducing, Active, operator},
		{Halted, Reducing, operator},
		{Halted, Active, operator},
	}
}

// IllegalStateError is a trading-state change the table does not allow.
type IllegalStateError struct {
	From, To State
	By       Actor
	Why      string
}

func (e *IllegalStateError) Error() string {
	return fmt.Sprintf("illegal trading state change %s → %s by %s: %s", e.From, e.To, e.By, e.Why)
}

// ErrUnchanged: the account already is in the requested state.
var ErrUnchanged = errors.New("the trading state is already that")

// CheckStateChange returns nil when from → to is legal for by; ErrUnchanged (wrapped) when from == to.
func CheckStateChange(from, to State, by Actor) error {
	if !from.Valid() || !to.Valid() {
		return &IllegalStateError{From: from, To: to, By: by, Why: "unknown state"}
	}
	if from == to {
		return fmt.Errorf("trading state %s: %w", to, ErrUnchanged)
	}
	for _, r := range StateTransitions() {
		if r.From != from || r.To != to {
			continue
		}
		for _, a := range r.By {
			if a == by {
				return nil
			}
		}
		return &IllegalStateError{From: from, To: to, By: by, Why: "only an operator may loosen a restriction"}
	}
	return &IllegalStateError{From: from, To: to, By: by, Why: "not in the transition table"}
}

// Status is the account's current trading state, who set it, why and when.
type Status struct {
	State  State
	By     Actor
	Reason string
	Since  time.Time
}

// StateChange is one applied transition.
type StateChange struct {
	AccountID int64
	From, To  State
	By        Actor
	Reason    string
	At        time.Time
}

// StateWriter persists a trading-state change atomically: it applies it only if the account is still in
// from (compare-and-set) and logs it. *store.Store implements it (store.ChangeTradingState).
type StateWriter interface {
	ChangeTradingState(ctx context.Context, accountID int64, from, to, by, reason string, at time.Time) error
}

// Switch holds one account's trading state and changes it only through the transition table, persisting
// each change before it takes effect. It belongs to the account's event loop (one goroutine).
type Switch struct {
	accountID int64
	status    Status
}

// NewSwitch starts from the persisted status (store.TradingState at start-up).
func NewSwitch(accountID int64, st Status) (*Switch, error) {
	if !st.State.Valid() {
		return nil, fmt.Errorf("account %d: unknown trading state %q", accountID, st.State)
	}
	return &Switch{accountID: accountID, status: st}, nil
}

// Status is the current state.
func (s *Switch) Status() Status { return s.status }

// State is the current state.
func (s *Switch) State() State { return s.status.State }

// Set moves the account to `to`: the change is checked against the table, written through w (so it
// survives a restart and the operator sees it) and only then takes effect. A reason is required.
func (s *Switch) Set(ctx context.Context, w StateWriter, to State, by Actor, reason string, at time.Time) (StateChange, error) {
	from := s.status.State
	if err := CheckStateChange(from, to, by); err != nil {
		return StateChange{}, err
	}
	if reason == "" {
		return StateChange{}, fmt.Errorf("trading state %s → %s by %s: a reason is required", from, to, by)
	}
	if err := w.ChangeTradingState(ctx, s.accountID, string(from), string(to), string(by), reason, at); err != nil {
		return StateChange{}, fmt.Errorf("persisting trading state %s → %s: %w", from, to, err)
	}
	s.status = Status{State: to, By: by, Reason: reason, Since: at}
	return StateChange{AccountID: s.accountID, From: from, To: to, By: by, Reason: reason, At: at}, nil
}
