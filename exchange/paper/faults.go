package paper

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// ErrTimeout is returned by an order hit by TimeoutNext: the order executed (and was journaled) but the answer
// was lost, as when a request times out. It wraps context.DeadlineExceeded. Query the order by client id.
var ErrTimeout = fmt.Errorf("paper: simulated timeout, the order's outcome is unknown: %w", context.DeadlineExceeded)

// ErrLost is returned by an order hit by LoseNext: the request never reached the venue. The caller cannot
// tell that from a timeout; QueryOrder answers exchange.ErrNotFound.
var ErrLost = errors.New("paper: simulated lost request, the order's outcome is unknown")

// Faults are one-shot fault hooks for tests. Each hook affects the next order placed on the venue; outcome
// hooks (reject, partial, timeout, lose) queue up, so two RejectNext calls reject the next two orders.
// Safe for concurrent use.
type Faults struct {
	mu      sync.Mutex
	pending map[exchange.Venue][]fault
	delays  map[exchange.Venue]time.Duration
}

type fault struct {
	reject  error
	partial decimal.Decimal
	timeout bool
	lose    bool
}

// taken is what the next order on a venue suffers.
type taken struct {
	fault
	delay time.Duration
}

// RejectNext makes the next order on venue fail with a *exchange.RejectError (code, reason); nothing happens.
// Codes -2010, -2019 and the margin codes -3006, -3041, -3045 are reported as exchange.RejectInsufficient,
// -1013 and -4164 as RejectFilter. Hooks on exchange.Margin affect margin orders.
func (f *Faults) RejectNext(venue exchange.Venue, code int, reason string) {
	kind := exchange.RejectOther
	switch code {
	case -2010, -2019, -3006, -3041, -3045:
		kind = exchange.RejectInsufficient
	case -1013, -4164:
		kind = exchange.RejectFilter
	}
	f.push(venue, fault{reject: &exchange.RejectError{Code: code, Reason: reason, Kind: kind}})
}

// PartialNext fills only fraction (0 < fraction < 1) of the next order on venue, rounded down to the lot
// step; the rest expires (status EXPIRED), as an IOC or MARKET order that ran out of liquidity.
func (f *Faults) PartialNext(venue exchange.Venue, fraction float64) {
	f.push(venue, fault{partial: decimal.NewFromFloat(fraction)})
}

// TimeoutNext makes the next order on venue execute and be journaled, but return ErrTimeout.
func (f *Faults) TimeoutNext(venue exchange.Venue) { f.push(venue, fault{timeout: true}) }

// LoseNext drops the next order on venue before it arrives: it returns ErrLost and never exists.
func (f *Faults) LoseNext(venue exchange.Venue) { f.push(venue, fault{lose: true}) }

// DelayNext delays the next order on venue by d before it executes (it executes against the quote current
// after the delay). A context that ends during the delay abandons the order.
func (f *Faults) DelayNext(venue exchange.Venue, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.delays == nil {
		f.delays = map[exchange.Venue]time.Duration{}
	}
	f.delays[venue] += d
}

func (f *Faults) push(venue exchange.Venue, x fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil {
		f.pending = map[exchange.Venue][]fault{}
	}
	f.pending[venue] = append(f.pending[venue], x)
}

// take pops what the next order on venue suffers.
func (f *Faults) take(venue exchange.Venue) taken {
	f.mu.Lock()
	defer f.mu.Unlock()
	var t taken
	if q := f.pending[venue]; len(q) > 0 {
		t.fault = q[0]
		f.pending[venue] = q[1:]
	}
	if d, ok := f.delays[venue]; ok {
		t.delay = d
		delete(f.delays, venue)
	}
	return t
}
