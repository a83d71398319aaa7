package main

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/guard"
)

// A backtest's records that nothing in the run reads back — funding payments and risk events — are written
// by a goroutine of their own, in the order they were made, while the replay goes on: waiting a round trip
// for each would dominate the run. The executor's journal (pairs, orders, fills, transfers) and the trading
// state are still written ahead, synchronously, as in paper and live mode. Everything is in Postgres when the
// backtest returns: backgroundWriter.stop waits for the last write and returns the first failure, and the
// backtest fails with it. Before that, a failed write is returned by the next record: the engine stops at
// the next funding payment; the guard logs a risk event it could not record and goes on (as it does in
// paper and live mode). Risk events of one instant may be stored in a different order relative to the
// synchronous state_change events than before (same rows, same times).
//
// The writer is fed from one goroutine only (the engine's loop: InsertFunding, the guard); the writes run on
// the writer's goroutine with the context given to newBackgroundWriter (the backtest's: cancelling it fails
// the remaining writes, and the backtest then fails).

// backgroundWriter runs writes in order on one goroutine.
type backgroundWriter struct {
	ctx      context.Context
	jobs     chan func(context.Context) error
	done     chan struct{} // closed when the goroutine has returned
	stopOnce sync.Once
	mu       sync.Mutex
	err      error // the first failed write
}

func newBackgroundWriter(ctx context.Context) *backgroundWriter {
	w := &backgroundWriter{ctx: context.WithValue(ctx, backgroundWrite{}, true), jobs: make(chan func(context.Context) error, 64), done: make(chan struct{})}
	go w.run()
	return w
}

// do queues a write (waiting when the writer is far behind). Not after stop.
func (w *backgroundWriter) do(write func(context.Context) error) { w.jobs <- write }

func (w *backgroundWriter) run() {
	defer close(w.done)
	for write := range w.jobs {
		if w.failed() != nil {
			continue // drain: the run stops at its next record
		}
		if err := write(w.ctx); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
}

// failed returns the first failed write so far.
func (w *backgroundWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stop waits for every queued write and returns the first failure; calling it again returns the same.
func (w *backgroundWriter) stop() error {
	w.stopOnce.Do(func() {
		close(w.jobs)
		<-w.done
	})
	return w.failed()
}

// backgroundWrite marks the context of the background writer's statements (journalWaits leaves them out).
type backgroundWrite struct{}

// journalWaits measures, as a pgx tracer on the backtest's pool, how long the engine's loop waits on
// Postgres while it is on: every statement's time from being sent to its answer, except the background
// writer's (nothing waits for those). These are the write-ahead journal's round trips — pairs, orders,
// fills, transfers — which the run makes synchronously, as paper and live mode do.
type journalWaits struct {
	on    atomic.Bool
	nanos atomic.Int64
	calls atomic.Int64
}

type waitStarted struct{}

func (j *journalWaits) begin(ctx context.Context) context.Context {
	if !j.on.Load() || ctx.Value(backgroundWrite{}) != nil {
		return ctx
	}
	return context.WithValue(ctx, waitStarted{}, time.Now())
}

func (j *journalWaits) end(ctx context.Context) {
	if t, ok := ctx.Value(waitStarted{}).(time.Time); ok {
		j.nanos.Add(int64(time.Since(t)))
		j.calls.Add(1)
	}
}

// total is the time waited and the number of statements (a batch counts once: it is one round trip).
func (j *journalWaits) total() (time.Duration, int64) {
	return time.Duration(j.nanos.Load()), j.calls.Load()
}

func (j *journalWaits) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return j.begin(ctx)
}
func (j *journalWaits) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	j.end(ctx)
}
func (j *journalWaits) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return j.begin(ctx)
}
func (j *journalWaits) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (j *journalWaits) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	j.end(ctx)
}

// batchedFunding is the store for a backtest's engine with funding payments written 512 to a statement by the
// background writer (the engine reads payments from the venue, never from the table). A fresh backtest
// account cannot see a payment twice; the tranIds are still unique in the table.
type batchedFunding struct {
	*store.Store
	w       *backgroundWriter
	pending []store.FundingRow
	seen    map[string]bool
}

const fundingBatch = 512

func (b *batchedFunding) InsertFunding(ctx context.Context, accountID, pairID int64, p exchange.FundingPayment) (bool, error) {
	if err := b.w.failed(); err != nil {
		return false, fmt.Errorf("an earlier background write failed: %w", err)
	}
	if b.seen[p.TranID] {
		return false, nil
	}
	b.seen[p.TranID] = true
	b.pending = append(b.pending, store.FundingRow{PairID: pairID, Payment: p})
	if len(b.pending) >= fundingBatch {
		b.Flush(accountID)
	}
	return true, nil
}

// Flush hands the buffered payments to the writer (backgroundWriter.stop waits for them).
func (b *batchedFunding) Flush(accountID int64) {
	if len(b.pending) == 0 {
		return
	}
	rows := b.pending
	b.pending = make([]store.FundingRow, 0, fundingBatch)
	b.w.do(func(ctx context.Context) error {
		_, err := b.Store.InsertFundingBatch(ctx, accountID, rows)
		return err
	})
}

// deferredRiskEvents records the guard's risk events through the background writer; the trading state is
// still written at once (Events' other method). The id is 0 and isNew false: the row does not exist yet when
// RecordRiskEvent returns (the guard uses neither).
type deferredRiskEvents struct {
	guard.Events
	w *backgroundWriter
}

func (d deferredRiskEvents) RecordRiskEvent(_ context.Context, e store.RiskEvent) (int64, bool, error) {
	if err := d.w.failed(); err != nil {
		return 0, false, fmt.Errorf("an earlier background write failed: %w", err)
	}
	e.Numbers = maps.Clone(e.Numbers) // written later, on the writer's goroutine
	d.w.do(func(ctx context.Context) error {
		_, _, err := d.Events.RecordRiskEvent(ctx, e)
		return err
	})
	return 0, false, nil
}
