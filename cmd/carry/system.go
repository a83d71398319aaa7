package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/notify"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/pkg/telemetry"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/guard"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/policy"
	"github.com/carry-trading/carry/strategy/signals"
)

// venue is everything the engine's graph needs from a venue (Binance or paper).
type venue interface {
	exchange.MarketData
	exchange.FundingData
	exchange.Trading
	exchange.Account
	exchange.AccountSetup
	exchange.Wallet
	exchange.Income
	exchange.TradeHistory
}

// system is one account's object graph. The mode decides the venue, the source and the clock; everything
// else is the same in backtest, paper and live.
type system struct {
	cfg      *config.Config
	log      zerolog.Logger
	db       *database
	acct     store.Account
	venue    venue
	sink     strategy.MarketSink // the paper venue, fed every event; nil in live mode
	paper    *paper.Venue        // nil in live mode
	clock    clock.Clock
	sim      *clock.Sim
	from, to time.Time // the span a backtest replays (replay.Coverage clipped to backtest.from/to)
	symbols  []string
	markets  map[string]executor.Market
	book     *signals.Book
	settled  settledHistory // the feed's funding history the signals start from (paper and live); nil in a backtest
	policy   *policy.Policy
	exec     *executor.Executor
	guard    *guard.Guard
	engine   *strategy.Engine
	notifier *notify.Notifier
	metrics  *telemetry.Metrics
	fresh    *telemetry.Freshness
	observer *observer
	extraObs strategy.Observer
	crash    func(string)
	closers  []func()
	journal  executor.Journal // defaults to the store; a backtest wraps it to count fees
	engStore strategy.Store   // defaults to the store; a backtest batches funding writes
	// riskEvents defaults to the store; a backtest writes them in the background
	riskEvents guard.Events
	riskObs    func(risk.Report) // sees every risk evaluation (backtest report)

	lastSnapshot time.Time
}

// close releases everything the system opened, in reverse order.
func (s *system) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// loadMarkets reads each symbol's instruments, fees and brackets from the venue; symbols the venue cannot
// trade on both legs are dropped with a warning.
func (s *system) loadMarkets(ctx context.Context, symbols []string) error {
	s.markets = map[string]executor.Market{}
	for _, sym := range symbols {
		spot, err := s.venue.Instrument(ctx, exchange.Spot, sym)
		if err != nil {
			s.log.Warn().Str("symbol", sym).Err(err).Msg("no spot market; symbol left out")
			continue
		}
		perp, err := s.venue.Instrument(ctx, exchange.Futures, sym)
		if err != nil {
			s.log.Warn().Str("symbol", sym).Err(err).Msg("no USDⓈ-M perpetual; symbol left out")
			continue
		}
		if !spot.Trading || !perp.Trading {
			s.log.Warn().Str("symbol", sym).Msg("spot or perpetual not trading; symbol left out")
			continue
		}
		sf, err := s.venue.Commission(ctx, exchange.Spot, sym)
		if err != nil {
			return fmt.Errorf("reading %s spot commission: %w", sym, err)
		}
		pf, err := s.venue.Commission(ctx, exchange.Futures, sym)
		if err != nil {
			return fmt.Errorf("reading %s futures commission: %w", sym, err)
		}
		s.markets[sym] = executor.Market{Spot: spot, Perp: perp, SpotFee: sf, PerpFee: pf}
		s.symbols = append(s.symbols, sym)
	}
	if len(s.symbols) == 0 {
		return fmt.Errorf("none of the universe's symbols (%v) can be traded on both spot and USDⓈ-M", symbols)
	}
	return nil
}

// build wires signals, policy, executor, risk guard and engine over the chosen venue, source clock and store.
func (s *system) build(ctx context.Context) error {
	cfg := s.cfg
	f := func(d decimal.Decimal) float64 { return d.InexactFloat64() }
	s.book = signals.NewBook(s.symbols, signals.Params{SmoothingSettlements: cfg.Strategy.SmoothingSettlements, EstimateWeight: f(cfg.Strategy.EstimateWeight)})
	for _, sym := range s.symbols {
		fi, err := s.venue.FundingInfo(ctx, sym)
		if err != nil {
			return fmt.Errorf("reading %s funding info: %w", sym, err)
		}
		s.book.SetFundingInfo(fi)
	}
	if s.settled != nil {
		s.seedSignals()
	}
	costs := policy.Costs{SpotFee: f(cfg.Fees.SpotTaker), PerpFee: f(cfg.Fees.PerpTaker), Slippage: f(cfg.Strategy.Slippage), BorrowHourly: f(cfg.Fees.BorrowHourly)}
	if m, ok := s.markets[s.symbols[0]]; ok && m.SpotFee.Taker.IsPositive() {
		costs.SpotFee, costs.PerpFee = f(m.SpotFee.Taker), f(m.PerpFee.Taker)
	}
	s.policy = policy.New(policy.Config{
		EntryAPR: f(cfg.Strategy.EntryAPR), ExitAPR: f(cfg.Strategy.ExitAPR), ExitSettlements: cfg.Strategy.ExitSettlements,
		MaxBreakeven: cfg.Strategy.MaxBreakeven, Holding: cfg.Strategy.ExpectedHolding, RotationMinGainAPR: f(cfg.Strategy.RotationMinGainAPR),
		SettlementGuard: cfg.Strategy.SettlementGuard, EarlyExitProfit: f(cfg.Strategy.EarlyExitProfit), Reverse: cfg.Strategy.Reverse,
		Costs: costs, Signals: s.book.Params(),
		Capital: cfg.Capital.Total, PerSymbolMax: cfg.Capital.PerSymbolMax, Reserve: cfg.Capital.Reserve, Leverage: cfg.Capital.Leverage,
	})

	rules, err := risk.New(cfg.Risk, cfg.Universe.QuoteAsset)
	if err != nil {
		return fmt.Errorf("risk rules: %w", err)
	}
	rmarkets := map[string]risk.Market{}
	for sym, m := range s.markets {
		br, err := s.venue.LeverageBrackets(ctx, sym)
		if err != nil || len(br) == 0 {
			s.log.Warn().Str("symbol", sym).Err(err).Msg("leverage brackets unavailable; using Binance's BTCUSDT table")
			br = exchange.DefaultBrackets()
		}
		rmarkets[sym] = risk.Market{Spot: m.Spot, Perp: m.Perp, Brackets: br, SpotFeeInBase: m.SpotFee.Taker}
	}
	st, err := s.db.TradingState(ctx, s.acct.ID)
	if err != nil {
		return err
	}
	s.guard, err = guard.New(guard.Config{Rules: rules, Venue: s.venue, Events: s.guardEvents(), Clock: s.clock, Log: s.log, Account: s.acct.ID,
		Quote: cfg.Universe.QuoteAsset, Leverage: cfg.Capital.Leverage, Markets: rmarkets, Alert: s.alert, OnReport: s.onRiskReport,
		Price: func(symbol string) decimal.Decimal {
			if sg := s.book.Get(symbol); sg != nil && sg.Spot.Valid() {
				return sg.Spot.Mid()
			}
			return decimal.Zero
		},
		Status: risk.Status{State: risk.State(st.State), By: risk.Actor(st.By), Reason: st.Reason, Since: st.At}})
	if err != nil {
		return err
	}

	recvWindow := time.Duration(0) // the paper venue's answers are definitive at once
	if cfg.Mode == config.ModeLive {
		recvWindow = cfg.Binance.RecvWindow
	}
	orderType := exchange.Market
	if cfg.Execution.OrderType == "ioc" {
		orderType = exchange.LimitIOC
	}
	s.exec = executor.New(executor.Config{
		OrderType: orderType, IOCSlippage: cfg.Execution.IOCSlippage, MaxUnhedged: time.Duration(cfg.Execution.MaxUnhedgedSeconds) * time.Second,
		OrderTimeout: cfg.Execution.OrderTimeout, MaxRepairAttempts: cfg.Execution.MaxRepairAttempts, RecvWindow: recvWindow,
		QuoteAsset: cfg.Universe.QuoteAsset, Leverage: cfg.Capital.Leverage, MarginBuffer: decimal.New(2, -3),
	}, s.venue, s.executorJournal(), s.clock, s.log, s.acct, executor.Options{
		PreTrade: s.guard.PreTrade, Crashpoint: s.crash, Alert: s.alert, Observer: s.observer, Changed: s.guard.Changed,
		Quotes: func(v exchange.Venue, sym string) (exchange.Quote, bool) {
			sg := s.book.Get(sym)
			if sg == nil {
				return exchange.Quote{}, false
			}
			if v == exchange.Futures {
				return sg.Perp, !sg.PerpSuspended
			}
			return sg.Spot, !sg.SpotSuspended
		},
	})
	for sym, m := range s.markets {
		s.exec.SetMarket(sym, m)
		if err := s.venue.SetupSymbol(ctx, sym, cfg.Capital.Leverage, false); err != nil {
			return fmt.Errorf("setting up %s (one-way mode, cross margin, %dx): %w", sym, cfg.Capital.Leverage, err)
		}
	}
	syncEvery := time.Duration(0)
	if cfg.Mode == config.ModeLive {
		syncEvery = time.Minute
	}
	var obs strategy.Observer = s.observer
	if s.extraObs != nil {
		obs = multiObserver{s.observer, s.extraObs}
	}
	trading := &publishedTrading{Trading: s.guard, m: s.metrics}
	trading.publish() // the state loaded at start
	s.engine = strategy.New(strategy.Config{EvalInterval: cfg.Strategy.EvalInterval, QuoteAsset: cfg.Universe.QuoteAsset,
		Leverage: cfg.Capital.Leverage, FundingSyncEvery: syncEvery}, strategy.Deps{
		Exec: s.exec, Book: s.book, Policy: s.policy, Store: s.engineStore(), Funding: s.fundingSource(), Loans: s.loanSource(), Sink: s.sink,
		Guard: s.guard, Observer: obs, Clock: s.clock, Sim: s.sim, Log: s.log, State: trading, Alert: s.alert,
	})
	if cfg.Mode != config.ModeBacktest {
		// Commands queued before this process started were meant for an earlier holder of the account.
		s.engine.Commands = &strategy.StoreCommands{Queue: s.countedStore(), Since: processStart}
		s.engine.ExitCounts = s.db.Store // a backtest never restarts: its counters stay in memory
	}
	s.guard.SetPairs(s.engine.Pairs)
	return nil
}

// loanSource is the venue's loan history when it lends (paper and Binance do); failures to read it are
// counted (loan_sync) outside backtests.
func (s *system) loanSource() strategy.LoanSource {
	b, ok := s.venue.(exchange.Borrowing)
	if !ok {
		return nil
	}
	if s.cfg.Mode == config.ModeBacktest {
		return b
	}
	return countedLoans{LoanSource: b, m: s.metrics}
}

// fundingSource is the venue's funding income; failures to read it are counted (funding_sync) outside
// backtests.
func (s *system) fundingSource() strategy.FundingSource {
	if s.cfg.Mode == config.ModeBacktest {
		return s.venue
	}
	return countedFunding{FundingSource: s.venue, m: s.metrics}
}

func (s *system) engineStore() strategy.Store {
	if s.engStore != nil {
		return s.engStore
	}
	return s.countedStore()
}

func (s *system) executorJournal() executor.Journal {
	if s.journal != nil {
		return s.journal
	}
	return s.countedStore()
}

func (s *system) guardEvents() guard.Events {
	if s.riskEvents != nil {
		return s.riskEvents
	}
	return s.countedStore()
}

// countedStore is the store as the trading loop uses it: its failures are counted (database) outside
// backtests, which serve no metrics.
func (s *system) countedStore() storeForLoop {
	if s.cfg.Mode == config.ModeBacktest {
		return s.db.Store
	}
	return &countingStore{Store: s.db.Store, m: s.metrics}
}

// tradingStates are the account's trading states (risk's table), the values of carry_trading_state.
var tradingStates = []string{string(risk.Active), string(risk.Reducing), string(risk.Halted)}

// publishedTrading is the guard's trading state with every change published as carry_trading_state: the
// state loaded at start, halts by risk and operator commands all go through Set.
type publishedTrading struct {
	strategy.Trading
	m *telemetry.Metrics
}

func (t *publishedTrading) Set(ctx context.Context, to, by, reason string, at time.Time) error {
	err := t.Trading.Set(ctx, to, by, reason, at)
	t.publish()
	return err
}

func (t *publishedTrading) publish() { t.m.SetTradingState(t.Current(), tradingStates) }

// onRiskReport publishes a risk evaluation: metrics always, snapshots for the CLI at most every 5 s.
func (s *system) onRiskReport(rep risk.Report) {
	if s.riskObs != nil {
		s.riskObs(rep)
	}
	var worstMargin decimal.Decimal
	for _, pl := range rep.Pools {
		worstMargin = decimal.Max(worstMargin, pl.MarginRatio)
	}
	s.metrics.MarginRatio.Set(worstMargin.InexactFloat64())
	// The cross-margin wallet (reverse carry): its level, +Inf without debt (risk reports none when unused).
	level := math.Inf(1)
	if cm := rep.CrossMargin; cm != nil && !cm.NoDebt {
		level = cm.MarginLevel.InexactFloat64()
	}
	s.metrics.MarginLevel.Set(level)
	snaps := make([]store.RiskSnapshot, 0, len(rep.Positions))
	for _, pr := range rep.Positions {
		s.metrics.LiqDistance.WithLabelValues(pr.Symbol).Set(pr.Distance.InexactFloat64())
		snap := store.RiskSnapshot{Symbol: pr.Symbol, PairID: pr.PairID, Mark: pr.Mark, LiquidationPrice: pr.Liquidation,
			Distance: pr.Distance, MarginRatio: rep.Pools[pr.Pool].MarginRatio, At: rep.Time}
		if sg := s.book.Get(pr.Symbol); sg != nil {
			snap.NextFunding = sg.NextFunding
		}
		snaps = append(snaps, snap)
	}
	for _, h := range rep.Hedges {
		s.metrics.HedgeRatio.WithLabelValues(h.Symbol).Set(h.Ratio.InexactFloat64())
		for i := range snaps {
			if snaps[i].Symbol == h.Symbol {
				snaps[i].HedgeRatio = h.Ratio
			}
		}
	}
	if s.cfg.Mode == config.ModeBacktest || time.Since(s.lastSnapshot) < 5*time.Second {
		return
	}
	s.lastSnapshot = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.db.SaveRiskSnapshots(ctx, s.acct.ID, snaps); err != nil {
		s.metrics.Error(telemetry.ErrDatabase)
		s.log.Warn().Err(err).Msg("saving risk snapshots failed")
	}
}

// alert sends an executor or risk alert to the operator.
func (s *system) alert(a executor.Alert) {
	if a.Kind == "halt" && a.PairID != 0 {
		s.metrics.Error(telemetry.ErrOrder) // the executor halted a pair: it needs an operator
	}
	if s.notifier == nil {
		return
	}
	s.notifier.Send(notify.Alert{Time: s.clock.Now(), Account: s.acct.Name, Mode: s.cfg.Mode, Severity: a.Severity, Kind: a.Kind,
		Symbol: a.Symbol, PairID: a.PairID, Message: a.Message})
}

// multiObserver fans the engine's observations out.
type multiObserver []strategy.Observer

func (m multiObserver) OnEvent(ev *exchange.Event) {
	for _, o := range m {
		o.OnEvent(ev)
	}
}
func (m multiObserver) OnPair(p pair.Pair) {
	for _, o := range m {
		o.OnPair(p)
	}
}
func (m multiObserver) OnFunding(p exchange.FundingPayment, id int64) {
	for _, o := range m {
		o.OnFunding(p, id)
	}
}
func (m multiObserver) OnLoan(tx exchange.LoanTx, id int64) {
	for _, o := range m {
		o.OnLoan(tx, id)
	}
}
func (m multiObserver) OnDecision(d policy.Decision) {
	for _, o := range m {
		o.OnDecision(d)
	}
}
func (m multiObserver) OnRisk(a strategy.RiskAction, err error) {
	for _, o := range m {
		o.OnRisk(a, err)
	}
}

// storeForLoop is everything the trading loop asks Postgres: the executor's journal, the engine's store,
// the guard's risk events and trading state, the operator command queue.
type storeForLoop interface {
	executor.Journal
	strategy.Store
	guard.Events
	strategy.CommandQueue
}

var (
	_ storeForLoop = (*store.Store)(nil)
	_ storeForLoop = (*countingStore)(nil)
)

// countingStore counts the loop's failed Postgres calls as database errors. Answers that are the store's
// verdicts rather than failures (not found, the symbol already has a live pair, the pair changed since it
// was read) are not counted. It embeds the store, so a method added to one of storeForLoop's interfaces
// still compiles (uncounted until it is wrapped here).
type countingStore struct {
	*store.Store
	m *telemetry.Metrics
}

func (c *countingStore) seen(err error) error {
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrSymbolBusy) && !errors.Is(err, store.ErrStale) &&
		!errors.Is(err, context.Canceled) {
		c.m.Error(telemetry.ErrDatabase)
	}
	return err
}

func (c *countingStore) CreatePair(ctx context.Context, p pair.Pair) (pair.Pair, error) {
	out, err := c.Store.CreatePair(ctx, p)
	return out, c.seen(err)
}

func (c *countingStore) GetPair(ctx context.Context, id int64) (pair.Pair, error) {
	out, err := c.Store.GetPair(ctx, id)
	return out, c.seen(err)
}

func (c *countingStore) LivePairs(ctx context.Context, accountID int64) ([]pair.Pair, error) {
	out, err := c.Store.LivePairs(ctx, accountID)
	return out, c.seen(err)
}

func (c *countingStore) Commit(ctx context.Context, tr pair.Transition) error {
	return c.seen(c.Store.Commit(ctx, tr))
}

func (c *countingStore) PairOrders(ctx context.Context, pairID int64) ([]pair.OrderRecord, error) {
	out, err := c.Store.PairOrders(ctx, pairID)
	return out, c.seen(err)
}

func (c *countingStore) RecordOrders(ctx context.Context, accountID, pairID int64, orders []exchange.Order, at time.Time) ([]exchange.Fill, error) {
	out, err := c.Store.RecordOrders(ctx, accountID, pairID, orders, at)
	return out, c.seen(err)
}

func (c *countingStore) MarkOrder(ctx context.Context, clientID, status, reason string, at time.Time) error {
	return c.seen(c.Store.MarkOrder(ctx, clientID, status, reason, at))
}

func (c *countingStore) InsertFills(ctx context.Context, accountID, pairID int64, fills []exchange.Fill) ([]exchange.Fill, error) {
	out, err := c.Store.InsertFills(ctx, accountID, pairID, fills)
	return out, c.seen(err)
}

func (c *countingStore) Fills(ctx context.Context, accountID, pairID int64) ([]store.FillRecord, error) {
	out, err := c.Store.Fills(ctx, accountID, pairID)
	return out, c.seen(err)
}

func (c *countingStore) CommitTransfer(ctx context.Context, accountID int64, t store.TransferRecord) error {
	return c.seen(c.Store.CommitTransfer(ctx, accountID, t))
}

func (c *countingStore) FinishTransfer(ctx context.Context, clientID, status, tranID, errText string, at time.Time) error {
	return c.seen(c.Store.FinishTransfer(ctx, clientID, status, tranID, errText, at))
}

func (c *countingStore) Transfers(ctx context.Context, accountID int64, pending bool) ([]store.TransferRecord, error) {
	out, err := c.Store.Transfers(ctx, accountID, pending)
	return out, c.seen(err)
}

func (c *countingStore) ClosedSince(ctx context.Context, accountID int64, since time.Time) ([]pair.Pair, error) {
	out, err := c.Store.ClosedSince(ctx, accountID, since)
	return out, c.seen(err)
}

func (c *countingStore) InsertFunding(ctx context.Context, accountID, pairID int64, p exchange.FundingPayment) (bool, error) {
	ok, err := c.Store.InsertFunding(ctx, accountID, pairID, p)
	return ok, c.seen(err)
}

func (c *countingStore) PairAt(ctx context.Context, accountID int64, symbol string, at time.Time) (int64, error) {
	id, err := c.Store.PairAt(ctx, accountID, symbol, at)
	return id, c.seen(err)
}

func (c *countingStore) LastFundingTime(ctx context.Context, accountID int64) (time.Time, error) {
	t, err := c.Store.LastFundingTime(ctx, accountID)
	return t, c.seen(err)
}

func (c *countingStore) LastLoanTime(ctx context.Context, accountID int64) (time.Time, error) {
	t, err := c.Store.LastLoanTime(ctx, accountID)
	return t, c.seen(err)
}

func (c *countingStore) InsertLoanTx(ctx context.Context, accountID, pairID int64, tx exchange.LoanTx) (bool, error) {
	ok, err := c.Store.InsertLoanTx(ctx, accountID, pairID, tx)
	return ok, c.seen(err)
}

func (c *countingStore) RecordRiskEvent(ctx context.Context, e store.RiskEvent) (int64, bool, error) {
	id, isNew, err := c.Store.RecordRiskEvent(ctx, e)
	return id, isNew, c.seen(err)
}

func (c *countingStore) ChangeTradingState(ctx context.Context, accountID int64, from, to, by, reason string, at time.Time) error {
	return c.seen(c.Store.ChangeTradingState(ctx, accountID, from, to, by, reason, at))
}

func (c *countingStore) ClaimCommand(ctx context.Context, accountID int64, at time.Time) (store.Command, bool, error) {
	cmd, ok, err := c.Store.ClaimCommand(ctx, accountID, at)
	return cmd, ok, c.seen(err)
}

func (c *countingStore) FinishCommand(ctx context.Context, id int64, status, result string, at time.Time) error {
	return c.seen(c.Store.FinishCommand(ctx, id, status, result, at))
}

func (c *countingStore) ExpireCommands(ctx context.Context, accountID int64, before time.Time, result string, at time.Time) ([]store.Command, error) {
	out, err := c.Store.ExpireCommands(ctx, accountID, before, result, at)
	return out, c.seen(err)
}

func (c *countingStore) RunningCommands(ctx context.Context, accountID int64) ([]store.Command, error) {
	out, err := c.Store.RunningCommands(ctx, accountID)
	return out, c.seen(err)
}

// countedFunding counts failed reads of the venue's funding income (funding_sync): the engine's periodic
// sync (which logs "funding sync failed; will retry"), the one at a settlement and the one at start.
type countedFunding struct {
	strategy.FundingSource
	m *telemetry.Metrics
}

func (c countedFunding) FundingPayments(ctx context.Context, symbol string, since time.Time) ([]exchange.FundingPayment, error) {
	out, err := c.FundingSource.FundingPayments(ctx, symbol, since)
	if err != nil && ctx.Err() == nil {
		c.m.Error(telemetry.ErrFundingSync)
	}
	return out, err
}

// countedLoans counts failed reads of the venue's loan history (loan_sync).
type countedLoans struct {
	strategy.LoanSource
	m *telemetry.Metrics
}

func (c countedLoans) LoanHistory(ctx context.Context, asset string, since time.Time) ([]exchange.LoanTx, error) {
	out, err := c.LoanSource.LoanHistory(ctx, asset, since)
	if err != nil && ctx.Err() == nil {
		c.m.Error(telemetry.ErrLoanSync)
	}
	return out, err
}

// settledHistory is the funding history a live feed read at start.
type settledHistory interface {
	Settled(symbol string) []exchange.FundingRate
}

// seedSignals starts the funding signals from the settlements of the last 30 days, as if the bot had
// been running: without them a restarted bot would rank on the running estimate alone until settlements
// accumulate again.
func (s *system) seedSignals() {
	seeded, total := 0, 0
	for _, sym := range s.symbols {
		n := s.book.Seed(sym, s.settled.Settled(sym))
		if n == 0 {
			s.log.Warn().Str("symbol", sym).Msg("no settled funding history: its signals start from the running estimate")
			continue
		}
		seeded, total = seeded+1, total+n
		sg := s.book.Get(sym)
		s.log.Debug().Str("symbol", sym).Int("settlements", n).Float64("smoothed_rate", sg.Smoothed).Int("interval_hours", sg.IntervalHours).
			Msg("funding signals seeded")
	}
	s.log.Info().Int("symbols", seeded).Int("settlements", total).Msg("funding signals seeded from the last 30 days of settlements")
}
