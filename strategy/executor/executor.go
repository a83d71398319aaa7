// Package executor is the paired executor: it drives pairs through the state machine of strategy/pair so
// that no leg is ever left naked and no order is ever sent twice.
//
// The rules it enforces:
//   - Write-ahead: each round of orders is committed to the journal (the pair's transition and every client
//     order id it will use) before any order is sent. Ids are <prefix>-<pair>-<attempt><leg>; attempt grows
//     with every round, so a retry after a crash uses new ids and never re-sends an old one.
//   - Both legs of a round are sent concurrently (released together by one barrier).
//   - An order whose answer was lost (timeout, 5xx) is unknown, not failed: it is queried by client id. A
//     "not found" is definitive only once the venue's receive window has passed since it was sent.
//   - Quantities come from the recorded fills, never from what was asked: the pair's spot and perp
//     quantities are recomputed from the journal after every round.
//   - Repair: legs that differ by a lot step or more are levelled — the lagging leg completed, or the
//     leading leg unwound when completing cannot work — within max_unhedged_seconds; past that the exposure is
//     flattened and the pair halted with an alert. A repair that itself fails halts the pair.
//   - Recovery: on start every live pair is reconciled against the venue before anything new is opened.
package executor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

// Venue is what the executor needs from the exchange.
type Venue interface {
	exchange.Trading
	Quote(ctx context.Context, venue exchange.Venue, symbol string) (exchange.Quote, error)
	exchange.Wallet
	Balances(ctx context.Context, venue exchange.Venue) ([]exchange.Balance, error)
	Positions(ctx context.Context) ([]exchange.Position, error)
	FuturesAccount(ctx context.Context) (exchange.FuturesAccount, error)
	exchange.TradeHistory
}

// Journal is the write-ahead record (implemented by *store.Store over Postgres).
type Journal interface {
	CreatePair(ctx context.Context, p pair.Pair) (pair.Pair, error)
	GetPair(ctx context.Context, id int64) (pair.Pair, error)
	LivePairs(ctx context.Context, accountID int64) ([]pair.Pair, error)
	Commit(ctx context.Context, tr pair.Transition) error
	PairOrders(ctx context.Context, pairID int64) ([]pair.OrderRecord, error)
	// RecordOrders stores a round's answers (each order's fills and state) and returns the fills that were new.
	RecordOrders(ctx context.Context, accountID, pairID int64, orders []exchange.Order, at time.Time) ([]exchange.Fill, error)
	MarkOrder(ctx context.Context, clientID, status, reason string, at time.Time) error
	// InsertFills stores fills once each and returns the new ones.
	InsertFills(ctx context.Context, accountID, pairID int64, fills []exchange.Fill) ([]exchange.Fill, error)
	Fills(ctx context.Context, accountID, pairID int64) ([]store.FillRecord, error)
	CommitTransfer(ctx context.Context, accountID int64, t store.TransferRecord) error
	FinishTransfer(ctx context.Context, clientID, status, tranID, errText string, at time.Time) error
	Transfers(ctx context.Context, accountID int64, pending bool) ([]store.TransferRecord, error)
}

// PreTrade is the risk module's check of an order before it is committed. reduces is true for orders that
// only shrink exposure. A refusal is a *exchange.RejectError.
type PreTrade func(ctx context.Context, req exchange.OrderRequest, refPrice decimal.Decimal, reduces bool) error

// Alert is something an operator must hear about.
type Alert struct {
	Severity string // info | warning | critical
	Kind     string // repair | halt | unexplained_position | unknown_order | transfer
	Symbol   string
	PairID   int64
	Message  string
}

// Market is one symbol's two instruments and their commission rates.
type Market struct {
	Spot    exchange.Instrument // spot (carry) or margin (reverse) leg
	Perp    exchange.Instrument
	SpotFee exchange.Fees
	PerpFee exchange.Fees
}

// LotStep is the coarser of the two legs' lot steps: a pair's quantities are multiples of it, and legs that
// differ by less than it are level.
func (m Market) LotStep() decimal.Decimal {
	return exchange.CoarserStep(m.Spot.StepSize, m.Perp.StepSize)
}

// Config tunes execution.
type Config struct {
	OrderType         exchange.OrderType // Market or LimitIOC
	IOCSlippage       decimal.Decimal    // limit price allowance beyond the touch, per repair round
	MaxUnhedged       time.Duration
	OrderTimeout      time.Duration
	MaxRepairAttempts int
	// RecvWindow: after this long since sending, an order the venue cannot find will never arrive.
	RecvWindow time.Duration
	QuoteAsset string
	Leverage   int
	// MarginBuffer is extra futures margin kept over notional/leverage when opening (fraction of notional).
	MarginBuffer decimal.Decimal
}

// Observer receives execution measurements (telemetry). All methods must be cheap.
type Observer interface {
	OrderLatency(venue exchange.Venue, d time.Duration)
	DispatchSkew(d time.Duration)
}

// FailureObserver is an Observer that also hears of every order that failed: refused by the venue, never
// arrived, or still unknown after every query. Optional (checked on the Observer); all it may do is count.
type FailureObserver interface {
	OrderFailed(venue exchange.Venue, outcome string)
}

// Executor drives pairs for one account. Its methods are called from the account's event loop only.
type Executor struct {
	cfg      Config
	venue    Venue
	j        Journal
	clock    clock.Clock
	log      zerolog.Logger
	account  store.Account
	markets  map[string]Market
	preTrade PreTrade
	crash    func(point string)
	alert    func(Alert)
	observer Observer
	quotes   func(venue exchange.Venue, symbol string) (exchange.Quote, bool)
	changed  func()

	mu          sync.Mutex
	lastSkew    time.Duration
	transferSeq int64
}

// Options are the executor's optional collaborators.
type Options struct {
	PreTrade PreTrade
	// Crashpoint is called at each named step (e.g. "open.after_intent"); tests kill the process there.
	Crashpoint func(point string)
	Alert      func(Alert)
	Observer   Observer
	// Quotes gives the latest feed quote of a market, saving a venue round trip; optional.
	Quotes func(venue exchange.Venue, symbol string) (exchange.Quote, bool)
	// Changed is called whenever wallets or positions may have moved (after a round, a transfer).
	Changed func()
}

// New creates an executor for one account.
func New(cfg Config, venue Venue, j Journal, clk clock.Clock, log zerolog.Logger, account store.Account, opts Options) *Executor {
	if cfg.OrderType == "" {
		cfg.OrderType = exchange.Market
	}
	if cfg.MaxRepairAttempts < 1 {
		cfg.MaxRepairAttempts = 1
	}
	if cfg.OrderTimeout <= 0 {
		cfg.OrderTimeout = 10 * time.Second
	}
	e := &Executor{cfg: cfg, venue: venue, j: j, clock: clk, log: log, account: account, markets: map[string]Market{},
		preTrade: opts.PreTrade, crash: opts.Crashpoint, alert: opts.Alert, observer: opts.Observer, quotes: opts.Quotes}
	if e.crash == nil {
		e.crash = func(string) {}
	}
	if e.alert == nil {
		e.alert = func(Alert) {}
	}
	e.changed = opts.Changed
	if e.changed == nil {
		e.changed = func() {}
	}
	return e
}

// SetMarket registers a symbol's instruments and fees; pairs can only trade registered symbols.
func (e *Executor) SetMarket(symbol string, m Market) { e.markets[symbol] = m }

// Market returns a registered symbol's instruments.
func (e *Executor) Market(symbol string) (Market, bool) {
	m, ok := e.markets[symbol]
	return m, ok
}

// Account is the account the executor trades.
func (e *Executor) Account() store.Account { return e.account }

// LastDispatchSkew is the time between the two legs of the last round leaving for the venue.
func (e *Executor) LastDispatchSkew() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastSkew
}

func (e *Executor) market(symbol string) (Market, error) {
	m, ok := e.markets[symbol]
	if !ok {
		return Market{}, fmt.Errorf("no instruments registered for %s", symbol)
	}
	return m, nil
}

// spotVenue is where a direction's spot leg trades: the spot market for carry, cross margin for reverse.
func spotVenue(d pair.Direction) exchange.Venue {
	if d == pair.Reverse {
		return exchange.Margin
	}
	return exchange.Spot
}

type originKey struct{}

// WithOrigin marks operations run with ctx as issued by origin ("strategy", "risk", "operator"); the
// pre-trade checks use it (a halted account still takes reducing orders from risk or an operator).
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// OriginOf returns the origin set by WithOrigin ("strategy" when none).
func OriginOf(ctx context.Context) string {
	if o, ok := ctx.Value(originKey{}).(string); ok {
		return o
	}
	return "strategy"
}
