package exchange

import "time"

// EventKind says which part of an Event is set.
type EventKind uint8

// Event kinds.
const (
	EventNone    EventKind = iota
	EventQuote             // Quote: best bid/ask of one market (Venue, Symbol)
	EventMark              // Mark: perpetual mark, index and funding estimate
	EventFunding           // Funding: a settlement happened at Funding.Time with Funding.Rate
	EventSuspend           // the market (Venue, Symbol) has no data from Time on: do not trade it
	EventResume            // the market has data again
	EventTick              // a clock tick with no market change (timers, evaluation)
)

var eventNames = [...]string{"none", "quote", "mark", "funding", "suspend", "resume", "tick"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one item of a market stream: a replay, or a live feed. It is a value type so streams need no
// allocation per event; only the part named by Kind is meaningful.
type Event struct {
	Kind    EventKind
	Time    time.Time
	Venue   Venue
	Symbol  string
	Quote   Quote
	Mark    Mark
	Funding FundingRate
}
