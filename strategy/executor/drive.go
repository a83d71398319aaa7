package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// goal is what a run of the executor drives a pair to.
type goal struct {
	intent pair.Intent
	target decimal.Decimal // both legs' quantity when done (zero to close)
	reason string
}

// ErrHalted is returned when an operation ended with the pair halted.
var ErrHalted = errors.New("pair halted")

func isHalted(err error) bool { return errors.Is(err, ErrHalted) }

// drive runs rounds of orders until the pair reaches the goal, is levelled somewhere short of it, or is
// halted. Every round is committed before it is sent. It returns ErrHalted (wrapped) when the pair halted.
func (e *Executor) drive(ctx context.Context, p *pair.Pair, g goal) error {
	m, err := e.market(p.Symbol)
	if err != nil {
		return err
	}
	var unhedgedSince time.Time
	normal, repairs := 0, 0
	last := map[pair.Leg]legResult{}
	for {
		if err := e.refresh(ctx, p, m); err != nil {
			return err
		}
		now := e.clock.Now()
		level := isLevel(p, m)
		switch {
		case level:
			unhedgedSince = time.Time{}
		case unhedgedSince.IsZero():
			unhedgedSince = now
		}
		var orders []pair.OrderIntent
		var to pair.State
		var step string
		if level {
			if e.reached(ctx, p, m, g) {
				return e.finish(ctx, p, m, g)
			}
			// Short of the goal but level. Keep going while rounds help, and only before any repair — except
			// toward flat: a close that had to level its legs first (a leg the venue traded on its own) goes
			// on closing, since shrinking both legs only takes risk away.
			if p.State == pair.Repairing && g.intent != pair.IntentClose || normal >= e.cfg.MaxRepairAttempts || stuck(last) {
				return e.finish(ctx, p, m, g)
			}
			normal++
			var refusal error
			orders, refusal = e.planToward(ctx, p, m, g, normal)
			if len(orders) == 0 {
				if refusal != nil {
					g.reason += "; not sent: " + refusal.Error()
				}
				return e.finish(ctx, p, m, g)
			}
			to, step = e.roundState(p, g)
		} else {
			if now.Sub(unhedgedSince) >= e.cfg.MaxUnhedged || repairs >= 2*e.cfg.MaxRepairAttempts {
				return e.flattenAndHalt(ctx, p, m, fmt.Sprintf("legs still differ (spot %s, perp %s) after %d repairs and %s",
					p.SpotQty, p.PerpQty, repairs, now.Sub(unhedgedSince).Round(time.Millisecond)))
			}
			repairs++
			orders = e.planRepair(ctx, p, m, g, last, repairs)
			if len(orders) == 0 {
				return e.flattenAndHalt(ctx, p, m, fmt.Sprintf("legs differ (spot %s, perp %s) and no valid repair order exists", p.SpotQty, p.PerpQty))
			}
			to, step = pair.Repairing, "repair"
			e.alert(Alert{Severity: "warning", Kind: "repair", Symbol: p.Symbol, PairID: p.ID,
				Message: fmt.Sprintf("pair %d %s: legs differ (spot %s, perp %s); repair round %d", p.ID, p.Symbol, p.SpotQty, p.PerpQty, repairs)})
		}
		results, err := e.round(ctx, p, to, g, orders, step)
		if err != nil {
			return err
		}
		for _, r := range results {
			last[r.intent.Leg] = r
			if r.outcome == outUnknown {
				return e.halt(ctx, p, fmt.Sprintf("order %s on %s: outcome still unknown (%v); an operator must check the venue", r.intent.ClientID, r.intent.Venue, r.err))
			}
		}
	}
}

// roundState is the state a normal round is committed in.
func (e *Executor) roundState(p *pair.Pair, g goal) (pair.State, string) {
	switch g.intent {
	case pair.IntentOpen:
		return pair.Opening, "open"
	case pair.IntentHedge:
		return pair.Repairing, "hedge"
	case pair.IntentReduce:
		return pair.Closing, "reduce"
	default:
		return pair.Closing, "close"
	}
}

// reached: level at the target (or flat for a close).
func (e *Executor) reached(ctx context.Context, p *pair.Pair, m Market, g goal) bool {
	if g.target.IsZero() {
		return isFlat(p, m, e.refPrice(ctx, p, m))
	}
	return p.PerpQty.Sub(g.target).Abs().LessThan(m.Perp.StepSize) && isLevel(p, m)
}

// stuck: the last round moved nothing and a leg was definitely refused.
func stuck(last map[pair.Leg]legResult) bool {
	if len(last) == 0 {
		return false
	}
	moved, refused := false, false
	for _, r := range last {
		if r.outcome == outFilled || r.outcome == outPartial {
			moved = true
		}
		if r.outcome == outRejected {
			refused = true
		}
	}
	return refused && !moved
}

// finish commits the end state of a run: closed when flat, open when holding a level position.
func (e *Executor) finish(ctx context.Context, p *pair.Pair, m Market, g goal) error {
	next := *p
	if isFlat(p, m, e.refPrice(ctx, p, m)) {
		next.State, next.Intent, next.TargetQty = pair.Closed, pair.IntentClose, decimal.Zero
		if err := e.commit(ctx, p, next, nil, g.reason+"; flat"); err != nil {
			return err
		}
		if p.Direction == pair.Reverse {
			e.releaseCollateral(ctx, p.ID)
		}
		return nil
	}
	if g.intent == pair.IntentClose {
		// A close that cannot complete must not be left looking open.
		return e.halt(ctx, p, fmt.Sprintf("close did not complete: spot %s, perp %s remain (%s)", p.SpotQty, p.PerpQty, g.reason))
	}
	next.State, next.Intent, next.TargetQty = pair.Open, pair.IntentOpen, p.PerpQty
	if p.State == pair.Open && next.TargetQty.Equal(p.TargetQty) {
		return nil // nothing changed
	}
	why := g.reason
	if !p.PerpQty.Sub(g.target).Abs().LessThan(m.Perp.StepSize) {
		why += fmt.Sprintf("; holding %s of target %s", p.PerpQty, g.target)
	}
	return e.commit(ctx, p, next, nil, why)
}

// round commits one round of orders, sends them, and records what came back.
func (e *Executor) round(ctx context.Context, p *pair.Pair, to pair.State, g goal, orders []pair.OrderIntent, step string) ([]legResult, error) {
	next := *p
	next.State, next.Intent, next.TargetQty = to, g.intent, g.target
	next.Attempt = p.Attempt + 1
	for i := range orders {
		orders[i].ClientID = pair.ClientOrderID(e.account.ClientPrefix, p.ID, next.Attempt, orders[i].Leg)
	}
	if err := e.commit(ctx, p, next, orders, g.reason); err != nil {
		return nil, err
	}
	e.crash(step + ".after_intent")
	results := e.dispatch(ctx, orders, func() { e.crash(step + ".after_first_leg") })
	e.crash(step + ".after_legs")
	e.changed()
	if err := e.record(ctx, p, results); err != nil {
		return nil, err
	}
	e.crash(step + ".after_record")
	return results, nil
}

// commit writes a transition (and the orders it is about to send) ahead of acting on it.
func (e *Executor) commit(ctx context.Context, p *pair.Pair, next pair.Pair, orders []pair.OrderIntent, reason string) error {
	at := e.clock.Now()
	if err := e.j.Commit(ctx, pair.Transition{PairID: p.ID, From: p.State, To: next.State, Reason: reason, At: at, Orders: orders, Updated: next}); err != nil {
		return fmt.Errorf("committing pair %d %s→%s: %w", p.ID, p.State, next.State, err)
	}
	e.log.Info().Int64("pair", p.ID).Str("symbol", p.Symbol).Str("from", string(p.State)).Str("to", string(next.State)).
		Int("attempt", next.Attempt).Int("orders", len(orders)).Str("spot", p.SpotQty.String()).Str("perp", p.PerpQty.String()).
		Str("reason", reason).Msg("pair transition")
	next.UpdatedAt, next.Reason = at, reason
	if next.State == pair.Closed {
		next.ClosedAt = at
	}
	if next.State == pair.Open && next.OpenedAt.IsZero() {
		next.OpenedAt = at
	}
	*p = next
	return nil
}

// record stores each order's state and fills, idempotently. Legs without an answer (rejected, never
// received, unknown) are marked first, one statement each; then the answered legs' fills and states go in one
// batch (one round trip, one implicit transaction). A failure of either returns before the rest is written:
// recovery asks the venue again by client id.
func (e *Executor) record(ctx context.Context, p *pair.Pair, results []legResult) error {
	at := e.clock.Now()
	answered := make([]exchange.Order, 0, len(results))
	for _, r := range results {
		id := r.intent.ClientID
		switch r.outcome {
		case outRejected:
			if err := e.j.MarkOrder(ctx, id, string(exchange.StatusRejected), r.err.Error(), at); err != nil {
				return err
			}
			e.log.Warn().Int64("pair", p.ID).Str("client_id", id).Err(r.err).Msg("order rejected")
			continue
		case outNotFound:
			if err := e.j.MarkOrder(ctx, id, pair.StatusNotFound, "the venue never received it", at); err != nil {
				return err
			}
			continue
		case outUnknown:
			if err := e.j.MarkOrder(ctx, id, pair.StatusUnknown, errString(r.err), at); err != nil {
				return err
			}
			if r.order.ClientID == "" {
				continue
			}
		}
		answered = append(answered, withDefaults(r.order, id, at))
	}
	if len(answered) == 0 {
		return nil
	}
	_, err := e.j.RecordOrders(ctx, e.account.ID, p.ID, answered, at)
	return err
}

// withDefaults fills in what a venue's answer may leave out: the order's client id, and each fill's client
// id, venue, symbol and time. The fills are copied (the answer is not changed).
func withDefaults(o exchange.Order, clientID string, at time.Time) exchange.Order {
	if o.ClientID == "" {
		o.ClientID = clientID
	}
	fills := make([]exchange.Fill, len(o.Fills))
	for i, f := range o.Fills {
		if f.ClientID == "" {
			f.ClientID = clientID
		}
		if f.Venue == "" {
			f.Venue = o.Venue
		}
		if f.Symbol == "" {
			f.Symbol = o.Symbol
		}
		if f.Time.IsZero() {
			f.Time = at
		}
		fills[i] = f
	}
	o.Fills = fills
	return o
}

// halt commits the pair to halted and raises a critical alert.
func (e *Executor) halt(ctx context.Context, p *pair.Pair, why string) error {
	if p.State == pair.Halted {
		return fmt.Errorf("pair %d: %s: %w", p.ID, why, ErrHalted)
	}
	next := *p
	next.State = pair.Halted
	if err := e.commit(ctx, p, next, nil, why); err != nil {
		return err
	}
	e.alert(Alert{Severity: "critical", Kind: "halt", Symbol: p.Symbol, PairID: p.ID,
		Message: fmt.Sprintf("pair %d %s halted: %s (spot %s, perp %s); it needs an operator", p.ID, p.Symbol, why, p.SpotQty, p.PerpQty)})
	return fmt.Errorf("pair %d: %s: %w", p.ID, why, ErrHalted)
}

// flattenAndHalt closes both legs with market orders (up to two rounds), then halts the pair.
func (e *Executor) flattenAndHalt(ctx context.Context, p *pair.Pair, m Market, why string) error {
	e.log.Error().Int64("pair", p.ID).Str("symbol", p.Symbol).Str("why", why).Msg("flattening the pair's exposure")
	for i := 1; i <= 2; i++ {
		if err := e.refresh(ctx, p, m); err != nil {
			return err
		}
		if isFlat(p, m, e.refPrice(ctx, p, m)) {
			break
		}
		orders := e.planFlatten(ctx, p, m)
		if len(orders) == 0 {
			break
		}
		if _, err := e.round(ctx, p, pair.Repairing, goal{intent: pair.IntentClose, reason: "flatten: " + why}, orders, "flatten"); err != nil {
			return err
		}
	}
	if err := e.refresh(ctx, p, m); err != nil {
		return err
	}
	outcome := "exposure flattened"
	if !isFlat(p, m, e.refPrice(ctx, p, m)) {
		outcome = "FLATTEN FAILED, exposure remains"
	}
	return e.halt(ctx, p, why+"; "+outcome)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimSpace(err.Error())
}
