package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// outcome is what became of one order.
type outcome int

const (
	outFilled   outcome = iota // executed in full
	outPartial                 // executed in part (the rest expired/cancelled)
	outNone                    // accepted but nothing executed (IOC found no liquidity)
	outRejected                // definitely refused: nothing happened
	outNotFound                // never reached the venue (definitive)
	outUnknown                 // still unknown after every query
)

func (o outcome) String() string {
	return [...]string{"filled", "partial", "none", "rejected", "not_found", "unknown"}[o]
}

// legResult is one order of a round and what became of it.
type legResult struct {
	intent  pair.OrderIntent
	order   exchange.Order
	outcome outcome
	err     error // the rejection or the last error
	sentAt  time.Time
}

func (r legResult) rejectKind() exchange.RejectKind {
	var rej *exchange.RejectError
	if errors.As(r.err, &rej) {
		return rej.Kind
	}
	return ""
}

// dispatch sends a round's orders concurrently: every goroutine waits on one barrier so the legs leave
// together. first is called once, when the first answer (of any kind) comes back.
func (e *Executor) dispatch(ctx context.Context, orders []pair.OrderIntent, first func()) []legResult {
	results := make([]legResult, len(orders))
	starts := make([]time.Time, len(orders))
	barrier := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	for i := range orders {
		results[i].intent = orders[i]
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-barrier
			starts[i] = time.Now()
			results[i].sentAt = e.clock.Now()
			octx, cancel := context.WithTimeout(ctx, e.cfg.OrderTimeout)
			o, err := e.venue.PlaceOrder(octx, orders[i].OrderRequest)
			cancel()
			if e.observer != nil {
				e.observer.OrderLatency(orders[i].Venue, time.Since(starts[i]))
			}
			results[i].order, results[i].err = o, err
			once.Do(first)
		}(i)
	}
	close(barrier)
	wg.Wait()
	if len(orders) == 2 {
		skew := starts[0].Sub(starts[1]).Abs()
		e.mu.Lock()
		e.lastSkew = skew
		e.mu.Unlock()
		if e.observer != nil {
			e.observer.DispatchSkew(skew)
		}
	}
	fo, _ := e.observer.(FailureObserver)
	for i := range results {
		e.classify(ctx, &results[i])
		if fo != nil && results[i].failed() {
			fo.OrderFailed(results[i].intent.Venue, results[i].outcome.String())
		}
	}
	return results
}

// failed: the order was refused, never reached the venue, or its outcome is still unknown.
func (r legResult) failed() bool {
	return r.outcome == outRejected || r.outcome == outNotFound || r.outcome == outUnknown
}

// classify turns a venue answer into an outcome, querying by client id when the answer was lost.
func (e *Executor) classify(ctx context.Context, r *legResult) {
	switch {
	case r.err == nil:
		r.outcome = outcomeOf(r.order, r.intent.Qty)
		if !r.order.Status.Final() || !fillsCover(r.order) {
			// Accepted but not final, or fills missing from the answer: ask for the order as it stands.
			e.resolve(ctx, r)
		}
	case exchange.IsRejected(r.err):
		r.outcome = outRejected
	default:
		e.log.Warn().Str("client_id", r.intent.ClientID).Err(r.err).Msg("order outcome unknown; querying it by client id")
		e.resolve(ctx, r)
	}
}

// resolve queries an order by client id until it is final or definitely absent, within the unhedged limit.
// A "not found" counts only once the receive window has passed since the order was sent.
func (e *Executor) resolve(ctx context.Context, r *legResult) {
	deadline := time.Now().Add(e.cfg.MaxUnhedged)
	wait := 50 * time.Millisecond
	for {
		qctx, cancel := context.WithTimeout(ctx, e.cfg.OrderTimeout)
		o, err := e.venue.QueryOrder(qctx, r.intent.Venue, r.intent.Symbol, r.intent.ClientID)
		cancel()
		switch {
		case err == nil && o.Status.Final():
			r.order, r.err = o, nil
			r.outcome = outcomeOf(o, r.intent.Qty)
			return
		case err == nil:
			r.order = o // still working: wait for it to finish
		case errors.Is(err, exchange.ErrNotFound):
			if !e.clock.Now().Before(r.sentAt.Add(e.cfg.RecvWindow)) {
				r.outcome, r.err = outNotFound, err
				return
			}
		default:
			r.err = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.outcome = outUnknown
			if r.err == nil {
				r.err = fmt.Errorf("order %s is still %s after %s", r.intent.ClientID, r.order.Status, e.cfg.MaxUnhedged)
			}
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func outcomeOf(o exchange.Order, asked decimal.Decimal) outcome {
	switch {
	case o.Status == exchange.StatusRejected:
		return outRejected
	case o.ExecutedQty.IsZero():
		return outNone
	case o.ExecutedQty.GreaterThanOrEqual(asked):
		return outFilled
	default:
		return outPartial
	}
}

// fillsCover reports whether the answer's fills account for its executed quantity.
func fillsCover(o exchange.Order) bool {
	sum := decimal.Zero
	for _, f := range o.Fills {
		sum = sum.Add(f.Qty)
	}
	return sum.Equal(o.ExecutedQty)
}
