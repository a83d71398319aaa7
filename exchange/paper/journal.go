package paper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Journal is where a paper venue writes every change of the simulated exchange, in order, before the call
// that made it returns; a new venue on the same journal replays it to the same state. pkg/store implements it
// on Postgres (Store.PaperJournal); nil keeps the venue in memory only (backtests).
type Journal interface {
	// Append stores e durably. Appending an entry whose Seq is already stored with the same content is a
	// success (a retry); a different entry with that Seq is an error.
	Append(ctx context.Context, e Entry) error
	// Load returns every entry, by Seq.
	Load(ctx context.Context) ([]Entry, error)
}

// Entry is one journaled change. Payload is JSON owned by this package (decimals as strings).
type Entry struct {
	Seq     int64
	Kind    EntryKind
	Time    time.Time
	Payload json.RawMessage
}

// EntryKind names a journaled change.
type EntryKind string

// Entry kinds.
const (
	KindDeposit     EntryKind = "deposit"     // initial balances
	KindOrder       EntryKind = "order"       // a new order with its immediate fills
	KindMakerFill   EntryKind = "maker_fill"  // a resting order filled by a later quote
	KindCancel      EntryKind = "cancel"      // a resting order cancelled
	KindFunding     EntryKind = "funding"     // a settlement paid to or by a position
	KindTransfer    EntryKind = "transfer"    // a wallet move
	KindSetup       EntryKind = "setup"       // leverage and margin type of a symbol
	KindLiquidation EntryKind = "liquidation" // a forced close at the mark
)

// ErrJournal: the journal could not store a change. The change did not happen in this venue; the venue
// refuses further changes until Recover (or a new venue) reloads the journal. Not a rejection: an order whose
// append failed may be in the journal, so query it after recovering.
var ErrJournal = errors.New("paper journal unavailable")

// MemJournal is an in-memory Journal, for tests and for backtests that want the entries. Safe for concurrent
// use.
type MemJournal struct {
	mu      sync.Mutex
	entries []Entry
	fail    error
}

// Append stores a copy of e.
func (j *MemJournal) Append(_ context.Context, e Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		err := j.fail
		j.fail = nil
		return err
	}
	if n := int64(len(j.entries)); e.Seq != n+1 {
		if e.Seq >= 1 && e.Seq <= n && j.entries[e.Seq-1].Kind == e.Kind && string(j.entries[e.Seq-1].Payload) == string(e.Payload) {
			return nil
		}
		return fmt.Errorf("journal entry %d out of order (have %d entries)", e.Seq, n)
	}
	e.Payload = append(json.RawMessage(nil), e.Payload...)
	j.entries = append(j.entries, e)
	return nil
}

// Load returns copies of the entries.
func (j *MemJournal) Load(context.Context) ([]Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, len(j.entries))
	for i, e := range j.entries {
		e.Payload = append(json.RawMessage(nil), e.Payload...)
		out[i] = e
	}
	return out, nil
}

// FailNext makes the next Append fail with err (to test journal failures).
func (j *MemJournal) FailNext(err error) {
	j.mu.Lock()
	j.fail = err
	j.mu.Unlock()
}

// Len is the number of entries.
func (j *MemJournal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// commit journals a change and applies it. Called with v.mu held. If the append fails nothing is applied and
// the venue is marked broken.
func (v *Venue) commit(ctx context.Context, kind EntryKind, at time.Time, payload any) error {
	if v.broken != nil {
		return v.brokenErr()
	}
	if v.journal != nil {
		data, err := json.Marshal(payload)
		if err != nil {
			return fmt.Errorf("encoding a %s journal entry: %w", kind, err)
		}
		e := Entry{Seq: v.st.seq + 1, Kind: kind, Time: at.UTC(), Payload: data}
		if err := v.journal.Append(ctx, e); err != nil {
			v.broken = fmt.Errorf("appending %s entry %d: %w", kind, e.Seq, err)
			return v.brokenErr()
		}
	}
	v.st.seq++
	return v.apply(kind, payload)
}

// commitBackground commits a change decided by Apply, which has no context.
func (v *Venue) commitBackground(kind EntryKind, at time.Time, payload any) error {
	if v.journal == nil { // a backtest's venue: nothing to wait for, so no timer per settlement
		return v.commit(context.Background(), kind, at, payload)
	}
	ctx, cancel := context.WithTimeout(context.Background(), v.cfg.JournalTimeout)
	defer cancel()
	return v.commit(ctx, kind, at, payload)
}

func (v *Venue) brokenErr() error {
	return fmt.Errorf("%w (%v): recover the venue from its journal", ErrJournal, v.broken)
}

// apply performs a journaled change on the state. It is the only place state changes, so a replay of the
// journal rebuilds exactly the state the live venue had.
func (v *Venue) apply(kind EntryKind, payload any) error {
	var err error
	switch p := payload.(type) {
	case *depositRec:
		for _, a := range p.Balances {
			v.wallet(a.Venue, a.Asset).free = v.wallet(a.Venue, a.Asset).free.Add(a.Amount)
		}
	case *orderRec:
		v.applyOrder(p)
	case *makerFillRec:
		err = v.applyMakerFill(p)
	case *cancelRec:
		err = v.applyCancel(p)
	case *fundingRec:
		v.applyFunding(p)
	case *transferRec:
		v.applyTransfer(p)
	case *setupRec:
		v.applySetup(p)
	case *liquidationRec:
		v.applyLiquidation(p)
	default:
		ok, merr := v.applyMargin(payload)
		if !ok {
			return fmt.Errorf("applying a %s entry: unexpected payload %T", kind, payload)
		}
		err = merr
	}
	v.afterChange()
	return err
}

// decode turns a journaled entry back into its payload.
func decode(e Entry) (any, error) {
	var p any
	switch e.Kind {
	case KindDeposit:
		p = &depositRec{}
	case KindOrder:
		p = &orderRec{}
	case KindMakerFill:
		p = &makerFillRec{}
	case KindCancel:
		p = &cancelRec{}
	case KindFunding:
		p = &fundingRec{}
	case KindTransfer:
		p = &transferRec{}
	case KindSetup:
		p = &setupRec{}
	case KindLiquidation:
		p = &liquidationRec{}
	default:
		if p = decodeMargin(e.Kind); p == nil {
			return nil, fmt.Errorf("journal entry %d has unknown kind %q", e.Seq, e.Kind)
		}
	}
	if err := json.Unmarshal(e.Payload, p); err != nil {
		return nil, fmt.Errorf("decoding journal entry %d (%s): %w", e.Seq, e.Kind, err)
	}
	return p, nil
}

// replay rebuilds the state from journal entries.
func (v *Venue) replay(entries []Entry) error {
	for _, e := range entries {
		if e.Seq != v.st.seq+1 {
			return fmt.Errorf("journal entry %d follows entry %d: the journal has a gap", e.Seq, v.st.seq)
		}
		p, err := decode(e)
		if err != nil {
			return err
		}
		v.st.seq++
		if err := v.apply(e.Kind, p); err != nil {
			return fmt.Errorf("replaying journal entry %d: %w", e.Seq, err)
		}
	}
	return nil
}
