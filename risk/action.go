package risk

import (
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// ActionKind is what an action does.
type ActionKind string

// Action kinds. They are also the kinds of the risk events the engine records for them.
const (
	ActionTopup      ActionKind = "topup"      // transfer quote asset into futures (or margin) collateral
	ActionDeleverage ActionKind = "deleverage" // reduce both legs of a pair by the same quantity
	ActionFlatten    ActionKind = "flatten"    // close both legs of a pair
	ActionHalt       ActionKind = "halt"       // set the account's trading state to halted
	ActionHedge      ActionKind = "hedge"      // a corrective order on one leg of a drifted pair
)

// Action is something risk decided the executor should do now. Risk never places orders itself.
type Action struct {
	Kind   ActionKind
	Level  Level  // the ladder rung that asked for it (LevelNone for hedge corrections)
	Symbol string // "" for account-wide actions (a cross-margin top-up, a halt)
	PairID int64  // 0 when the action is not about one pair (or no pair explains the position)
	// Topup: the amount of Asset to move with Transfer; Isolated means it then goes into Symbol's isolated
	// margin (Binance "modify isolated position margin").
	Amount   decimal.Decimal
	Asset    string
	Transfer exchange.TransferKind
	Isolated bool
	// Orders are the leg orders of a deleverage, flatten or hedge correction, already on each leg's step.
	Orders []LegOrder
	// NewTarget is the pair's quantity once a deleverage is done.
	NewTarget decimal.Decimal
	// Reason says why, with the numbers, for the operator.
	Reason string
	// Numbers are the figures behind the decision, for the risk event log.
	Numbers map[string]decimal.Decimal
}

// LegOrder is one leg's order of an action. The executor adds the client order id, the order type and,
// for IOC orders, the price.
type LegOrder struct {
	Leg        pair.Leg
	Venue      exchange.Venue
	Side       exchange.Side
	Qty        decimal.Decimal
	ReduceOnly bool                // futures: may only reduce the position
	SideEffect exchange.SideEffect // margin: borrow or repay with the order
}

// Request turns the leg order into an order request.
func (o LegOrder) Request(clientID, symbol string, typ exchange.OrderType, price decimal.Decimal) exchange.OrderRequest {
	return exchange.OrderRequest{ClientID: clientID, Venue: o.Venue, Symbol: symbol, Side: o.Side, Type: typ, Qty: o.Qty,
		Price: price, ReduceOnly: o.ReduceOnly, SideEffect: o.SideEffect}
}

// NoteKind names something worth logging or alerting that is not an action.
type NoteKind string

// Note kinds.
const (
	NoteSkipped     NoteKind = "skipped"     // an action was due but is switched off, or cannot be done
	NoteDivergence  NoteKind = "divergence"  // our liquidation price and the venue's differ beyond the limit
	NoteHedgeDrift  NoteKind = "hedge_drift" // the hedge drifted beyond the band but no order can correct it
	NoteTopupCapped NoteKind = "topup_capped"
	NoteMarginLevel NoteKind = "margin_level" // cross margin level at or below the call level
)

// Note is an observation for the log and alerts.
type Note struct {
	Kind    NoteKind
	Level   Level
	Symbol  string
	PairID  int64
	Reason  string
	Numbers map[string]decimal.Decimal
}

// Severity of the action for the risk event log: info, warning or critical (store.Severity*).
func (a Action) Severity() string {
	switch a.Kind {
	case ActionFlatten, ActionHalt:
		return "critical"
	case ActionTopup, ActionDeleverage:
		return "warning"
	}
	return "info"
}

// Severity of the note for the risk event log.
func (n Note) Severity() string {
	if n.Level >= LevelFlatten {
		return "critical"
	}
	return "warning"
}
