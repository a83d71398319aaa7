// Package pair defines the unit of everything carry does: a pair (one symbol, one direction, a spot leg
// and an opposite perpetual leg of equal size), its states, and the one transition table that says which
// state changes are legal. Client order ids are derived here from the pair id, the leg and the attempt.
package pair

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// State of a pair.
type State string

// States (DESIGN.md).
const (
	Pending   State = "pending"   // decided, nothing sent
	Opening   State = "opening"   // open orders committed and being sent
	Open      State = "open"      // hedged at its quantity
	Closing   State = "closing"   // close (or reduce) orders committed and being sent
	Closed    State = "closed"    // flat; terminal
	Repairing State = "repairing" // legs differ by more than one lot step; being fixed
	Halted    State = "halted"    // needs an operator
)

// Terminal reports whether nothing more happens to a pair in this state.
func (s State) Terminal() bool { return s == Closed }

// Direction of a pair.
type Direction string

// Directions.
const (
	// Carry: long spot + short perpetual; earns positive funding.
	Carry Direction = "carry"
	// Reverse: borrowed spot sold + long perpetual; earns negative funding.
	Reverse Direction = "reverse"
)

// Intent is what the pair's current round of orders aims at.
type Intent string

// Intents.
const (
	IntentOpen   Intent = "open"   // reach TargetQty on both legs
	IntentClose  Intent = "close"  // reach zero on both legs
	IntentReduce Intent = "reduce" // reach a lower TargetQty on both legs, then stay open
	IntentHedge  Intent = "hedge"  // bring the legs back level at TargetQty
)

// Leg names a side of a pair.
type Leg string

// Legs.
const (
	LegSpot Leg = "S" // spot (carry) or margin (reverse) leg
	LegPerp Leg = "P" // perpetual leg
)

// Pair is one position of carry.
type Pair struct {
	ID        int64
	AccountID int64
	Symbol    string
	Direction Direction
	State     State
	Intent    Intent
	// TargetQty is the base quantity both legs aim at for the current intent.
	TargetQty decimal.Decimal
	// SpotQty is the net base quantity the spot leg holds (carry) or owes (reverse, sold), never negative.
	SpotQty decimal.Decimal
	// PerpQty is the absolute size of the perpetual leg, never negative.
	PerpQty decimal.Decimal
	// Attempt counts rounds of orders; each round's client ids embed it, so none is ever reused.
	Attempt int
	// Prices at entry (volume-weighted over the open fills).
	EntrySpotPrice decimal.Decimal
	EntryPerpPrice decimal.Decimal
	EntryBasis     decimal.Decimal
	Reason         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	OpenedAt       time.Time // zero until first open
	ClosedAt       time.Time // zero until closed
}

// SpotSide is the side that grows the spot leg for this direction (buy for carry, sell for reverse).
func (d Direction) SpotSide() exchange.Side {
	if d == Reverse {
		return exchange.Sell
	}
	return exchange.Buy
}

// PerpSide is the side that grows the perp leg (sell for carry, buy for reverse).
func (d Direction) PerpSide() exchange.Side { return d.SpotSide().Opposite() }

// transitions is the one table of legal state changes. A self-transition starts a new round of orders in
// the same state (a retry, a slice), which gets its own write-ahead record and client ids.
var transitions = map[State]map[State]bool{
	Pending:   {Opening: true, Closed: true, Halted: true},
	Opening:   {Opening: true, Open: true, Repairing: true, Closed: true, Halted: true},
	Open:      {Closing: true, Repairing: true, Halted: true},
	Closing:   {Closing: true, Closed: true, Open: true, Repairing: true, Halted: true},
	Repairing: {Repairing: true, Open: true, Closing: true, Closed: true, Halted: true},
	Halted:    {Closing: true, Open: true, Repairing: true, Closed: true},
	Closed:    {},
}

// ErrIllegal is returned for a transition the table does not allow.
type ErrIllegal struct {
	From, To State
}

func (e *ErrIllegal) Error() string {
	return fmt.Sprintf("illegal pair transition %s → %s", e.From, e.To)
}

// CheckTransition returns nil when from → to is legal.
func CheckTransition(from, to State) error {
	if next, ok := transitions[from]; ok && next[to] {
		return nil
	}
	return &ErrIllegal{From: from, To: to}
}

// Transitions lists the legal targets of a state (for documentation and tests).
func Transitions(from State) []State {
	var out []State
	for _, s := range AllStates() {
		if transitions[from][s] {
			out = append(out, s)
		}
	}
	return out
}

// AllStates in lifecycle order.
func AllStates() []State {
	return []State{Pending, Opening, Open, Closing, Closed, Repairing, Halted}
}

var clientIDRE = regexp.MustCompile(`^[.A-Z:/a-z0-9_-]{1,36}$`)

// ClientOrderID derives the id of one leg's order in one round: <prefix>-<pair id>-<attempt><leg>, the
// numbers in base 36 (pair 42, attempt 3, spot leg: "cq7f2k-16-3S"). The account prefix is random per
// account, so ids never collide with orders from an earlier database. Binance accepts at most 36 characters
// of [.A-Z:/a-z0-9_-]; a 10-character prefix with the largest ids takes 33.
func ClientOrderID(prefix string, pairID int64, attempt int, leg Leg) string {
	id := prefix + "-" + strconv.FormatInt(pairID, 36) + "-" + strconv.FormatInt(int64(attempt), 36) + string(leg)
	if !clientIDRE.MatchString(id) {
		panic(fmt.Sprintf("client order id %q is not valid for Binance", id))
	}
	return id
}

// Transition is a state change with the orders it is about to send, committed before they are sent.
type Transition struct {
	PairID  int64
	From    State
	To      State
	Reason  string
	At      time.Time
	Orders  []OrderIntent
	Updated Pair // the pair as it will be after the transition (state, intent, target, quantities, attempt)
}

// OrderIntent is an order recorded before it is sent.
type OrderIntent struct {
	exchange.OrderRequest
	Leg     Leg
	Purpose Intent
}

// OrderRecord is an order as carry recorded it: the intent plus what the venue said.
type OrderRecord struct {
	OrderIntent
	AccountID    int64
	PairID       int64
	Status       string // StatusIntent, StatusUnknown, StatusNotFound, or the venue's status
	VenueOrderID string
	ExecutedQty  decimal.Decimal
	CumQuote     decimal.Decimal
	Error        string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Order statuses carry records besides the venue's own.
const (
	StatusIntent   = "intent"    // committed; not yet sent, or sent and not yet answered
	StatusUnknown  = "unknown"   // sent, the answer was lost: query by client id
	StatusNotFound = "NOT_FOUND" // the venue never received it (definitive once recvWindow has passed)
)

// Resolved reports whether the record needs no more queries: a final venue status or definitely not found.
func (o OrderRecord) Resolved() bool {
	switch o.Status {
	case StatusIntent, StatusUnknown, "NEW", "PARTIALLY_FILLED":
		return false
	}
	return true
}
