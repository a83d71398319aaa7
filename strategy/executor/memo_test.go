package executor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

// readCounting is the store with its reads of pairs and fills counted, and a one-shot fault: the next
// commit or fill record is written and then answered with an error (the answer lost on the way back).
type readCounting struct {
	*store.Store
	pairReads, fillReads   atomic.Int64
	loseCommit, loseRecord atomic.Bool
}

func (j *readCounting) GetPair(ctx context.Context, id int64) (pair.Pair, error) {
	j.pairReads.Add(1)
	return j.Store.GetPair(ctx, id)
}

func (j *readCounting) Fills(ctx context.Context, accountID, pairID int64) ([]store.FillRecord, error) {
	j.fillReads.Add(1)
	return j.Store.Fills(ctx, accountID, pairID)
}

var errLost = errors.New("injected: the answer was lost after the write")

func (j *readCounting) Commit(ctx context.Context, tr pair.Transition) error {
	if err := j.Store.Commit(ctx, tr); err != nil {
		return err
	}
	if j.loseCommit.CompareAndSwap(true, false) {
		return errLost
	}
	return nil
}

func (j *readCounting) RecordOrders(ctx context.Context, accountID, pairID int64, orders []exchange.Order, at time.Time) ([]exchange.Fill, error) {
	fresh, err := j.Store.RecordOrders(ctx, accountID, pairID, orders, at)
	if err == nil && j.loseRecord.CompareAndSwap(true, false) {
		return fresh, errLost
	}
	return fresh, err
}

// checkKnown fails the test when what the executor remembers differs from the journal.
func (r *rig) checkKnown(step string, wantPairs int) {
	r.t.Helper()
	n, err := r.exec.CheckKnown(context.Background(), r.st)
	if err != nil {
		r.t.Fatalf("after %s: %v", step, err)
	}
	if n != wantPairs {
		r.t.Fatalf("after %s: the executor remembers %d pairs, want %d", step, n, wantPairs)
	}
}

// The executor does not read back what it wrote: a pair's life of rounds — opening with a partial leg and
// its repair, reductions in two rounds, a corrective order, a halt and an unwind — reads neither the pair nor
// its fills from the journal, and what it remembers equals the journal after every step.
func TestExecutorRemembersWhatItWrote(t *testing.T) {
	r := newRig(t, nil)
	j := &readCounting{Store: r.st}
	r.exec = r.newExec(j)
	ctx := context.Background()

	r.venue.Faults().PartialNext(exchange.Futures, 0.5)
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.3"), "test")
	if err != nil || p.State != pair.Open || !p.PerpQty.Equal(d("0.3")) {
		t.Fatalf("open: %v %s perp %s", err, p.State, p.PerpQty)
	}
	r.checkKnown("open", 1)
	r.venue.Faults().PartialNext(exchange.Spot, 0.5)
	r.venue.Faults().PartialNext(exchange.Futures, 0.5)
	if p, err = r.exec.Reduce(ctx, p.ID, d("0.2"), "slice"); err != nil || !p.PerpQty.Equal(d("0.2")) {
		t.Fatalf("reduce: %v %s perp %s", err, p.State, p.PerpQty)
	}
	r.checkKnown("reduce", 1)
	if p, err = r.exec.Adjust(ctx, p.ID, pair.LegSpot, false, d("0.001"), "drift"); err != nil || p.State != pair.Open {
		t.Fatalf("adjust: %v %s", err, p.State)
	}
	r.checkKnown("adjust", 1)
	if p, err = r.exec.Halt(ctx, p.ID, "operator"); err != nil || p.State != pair.Halted {
		t.Fatalf("halt: %v %s", err, p.State)
	}
	r.checkKnown("halt", 1)
	if p, err = r.exec.Close(ctx, p.ID, "operator unwind"); err != nil || p.State != pair.Closed {
		t.Fatalf("close: %v %s", err, p.State)
	}
	r.checkKnown("close", 0) // a closed pair is forgotten
	if n, m := j.pairReads.Load(), j.fillReads.Load(); n != 0 || m != 0 {
		t.Fatalf("the executor read the pair %d times and its fills %d times; it wrote them all itself", n, m)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→repairing", "repairing→open", "open→closing", "closing→closing",
		"closing→open", "open→repairing", "repairing→open", "open→halted", "halted→closing", "closing→closed")
	r.checkInvariants(p)
}

// A write whose answer is lost may or may not have landed: the executor forgets the pair and reads the
// journal again, so the next step starts from what was really written — the halt commits from the state the
// lost commit did reach, and the unwind sells what the lost record did store.
func TestExecutorForgetsWhatALostAnswerLeftUnknown(t *testing.T) {
	r := newRig(t, nil)
	j := &readCounting{Store: r.st}
	r.exec = r.newExec(j)
	ctx := context.Background()
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.3"), "test")
	if err != nil {
		t.Fatal(err)
	}
	j.loseRecord.Store(true)
	if _, err := r.exec.Reduce(ctx, p.ID, d("0.1"), "slice"); !errors.Is(err, errLost) {
		t.Fatalf("reduce with its record's answer lost: %v", err)
	}
	r.checkKnown("a lost record", 0)
	if p, err = r.exec.Halt(ctx, p.ID, "operator"); err != nil || p.State != pair.Halted {
		t.Fatalf("halt: %v %s", err, p.State)
	}
	r.checkKnown("halt", 1)
	j.loseCommit.Store(true)
	if _, err := r.exec.Close(ctx, p.ID, "unwind"); !errors.Is(err, errLost) {
		t.Fatalf("close with its commit's answer lost: %v", err)
	}
	r.checkKnown("a lost commit", 0)
	p, err = r.exec.Halt(ctx, p.ID, "operator")
	if err != nil || p.State != pair.Halted {
		t.Fatalf("halt after the lost commit: %v %s", err, p.State)
	}
	if p, err = r.exec.Close(ctx, p.ID, "unwind"); err != nil || p.State != pair.Closed {
		t.Fatalf("close: %v %s", err, p.State)
	}
	// The lost commit's orders stay intents (never sent; a restart's recovery marks them): the journal's
	// quantities must still be the venue's.
	if spot, perp := r.venueLegs(); !perp.IsZero() || spot.GreaterThanOrEqual(d("0.00001")) {
		t.Fatalf("venue after the unwind: spot %s perp %s", spot, perp)
	}
	if !p.PerpQty.IsZero() || p.SpotQty.GreaterThanOrEqual(d("0.00001")) {
		t.Fatalf("journal after the unwind: spot %s perp %s", p.SpotQty, p.PerpQty)
	}
}
