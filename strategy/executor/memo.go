package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

// The executor remembers what it wrote last for each live pair, so that a round does not read its own writes
// back from the journal: the pair as committed, and the holdings its recorded fills add up to.
//
// Postgres stays the record: every transition is still committed before its orders are sent, and every fill
// is stored before the next round is planned. Only the reads are saved. This is sound because one trader holds
// an account (the advisory lock): nothing but this executor writes the account's pairs and fills while it
// runs, and a restart begins with nothing remembered. An entry is dropped whenever a write's outcome is not
// known (the write returned an error), and on the rare paths that write fills of their own (Reconcile); the
// next read goes to the journal.

// known is what the executor last wrote for one pair.
type known struct {
	pair     pair.Pair // as committed (the row GetPair would return)
	havePair bool
	legs     legs // the holdings of the pair's recorded fills
	haveLegs bool
}

// knownPair returns pair id as last committed, reading the journal only when the executor does not know it.
func (e *Executor) knownPair(ctx context.Context, id int64) (pair.Pair, error) {
	if k := e.known[id]; k != nil && k.havePair {
		return k.pair, nil
	}
	p, err := e.j.GetPair(ctx, id)
	if err != nil {
		return p, err
	}
	e.rememberPair(p)
	return p, nil
}

// rememberPair records p as committed. A closed pair is forgotten: it never trades again.
func (e *Executor) rememberPair(p pair.Pair) {
	if p.State == pair.Closed {
		delete(e.known, p.ID)
		return
	}
	k := e.entry(p.ID)
	k.pair, k.havePair = storedTimes(p), true
}

// knownLegs returns the holdings of pair p's recorded fills, reading its fills only when not known.
func (e *Executor) knownLegs(ctx context.Context, p *pair.Pair, m Market) (legs, error) {
	if k := e.known[p.ID]; k != nil && k.haveLegs {
		return k.legs, nil
	}
	fills, err := e.j.Fills(ctx, e.account.ID, p.ID)
	if err != nil {
		return legs{}, fmt.Errorf("pair %d: reading fills: %w", p.ID, err)
	}
	l := holdings(fills, p.Direction, m.Spot.Base)
	if p.State != pair.Closed {
		k := e.entry(p.ID)
		k.legs, k.haveLegs = l, true
	}
	return l, nil
}

// addFills adds fills just stored for pair p (the new ones only) to its known holdings.
func (e *Executor) addFills(p *pair.Pair, fresh []exchange.Fill) {
	k := e.known[p.ID]
	if k == nil || !k.haveLegs {
		return // not known: the next refresh reads them all
	}
	m, err := e.market(p.Symbol)
	if err != nil {
		e.forget(p.ID)
		return
	}
	for i := range fresh {
		k.legs.add(&fresh[i], p.Direction, m.Spot.Base)
	}
}

// forget drops what the executor knows of pair id: its next read goes to the journal.
func (e *Executor) forget(id int64) { delete(e.known, id) }

func (e *Executor) entry(id int64) *known {
	k := e.known[id]
	if k == nil {
		k = &known{}
		e.known[id] = k
	}
	return k
}

// storedTimes returns p with its times as Postgres keeps them (microseconds), so a remembered pair equals the
// row read back.
func storedTimes(p pair.Pair) pair.Pair {
	for _, t := range []*time.Time{&p.CreatedAt, &p.UpdatedAt, &p.OpenedAt, &p.ClosedAt} {
		*t = t.Truncate(time.Microsecond)
	}
	return p
}

// holdings recomputes a pair's leg quantities from its fills. Carry: spot = bought − base fees − sold,
// perp = sold − bought. Reverse: spot = sold − (bought − base fees), perp = bought − sold.
func holdings(fills []store.FillRecord, dir pair.Direction, base string) legs {
	var l legs
	for i := range fills {
		l.add(&fills[i].Fill, dir, base)
	}
	return l
}
