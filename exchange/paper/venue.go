package paper

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/clock"
)

// Venue simulates Binance spot and USDⓈ-M futures for one account. It implements exchange.Exchange and is
// safe for concurrent use (one mutex; Apply only takes it briefly).
type Venue struct {
	cfg         Config
	clk         clock.Clock
	journal     Journal
	faults      *Faults
	defBrackets []exchange.Bracket
	instruments map[mkey]exchange.Instrument

	mu           sync.Mutex
	broken       error
	markets      map[mkey]*market      // quotes, by venue and symbol
	perps        map[string]*perpState // marks, funding history and the position link, by symbol
	st           *state                // everything the journal rebuilds
	mcache       [3]marketCache        // the last market per venue (Apply fast path)
	pcache       perpCache
	bracketCache map[string][]bracketF

	msetup   marginSetup  // cross-margin set-up derived from cfg (margin.go)
	loanNext atomic.Int64 // the earliest hour boundary a loan is due at, Unix ns; 0 when nothing is borrowed
}

var _ exchange.Exchange = (*Venue)(nil)

type mkey struct {
	venue  exchange.Venue
	symbol string
}

// market is the latest quote of one market. Fields are stored apart (times as Unix ns) so Apply writes few
// pointers: fewer GC write barriers on the hottest path of a backtest.
type market struct {
	venue          exchange.Venue
	symbol         string
	bid, ask       decimal.Decimal
	bidQty, askQty decimal.Decimal
	ns             int64
	has, suspended bool
	hasTime        bool
}

func (m *market) quote() exchange.Quote {
	return exchange.Quote{Venue: m.venue, Symbol: m.symbol, Bid: m.bid, BidQty: m.bidQty, Ask: m.ask, AskQty: m.askQty, Time: nsTime(m.ns, m.hasTime)}
}

// perpState is the market data of one perpetual and a link to its position.
type perpState struct {
	symbol  string
	mark    decimal.Decimal // the last mark price
	index   decimal.Decimal
	est     decimal.Decimal
	nextNs  int64
	markNs  int64
	hasNext bool
	hasMT   bool
	hasMark bool
	markF   float64 // the mark as a float, for screening only; valid while pos is open
	hours   int     // interval of the latest settlement seen (0: none)
	rates   []exchange.FundingRate
	pos     *position // nil until the symbol is traded or set up
}

// state is what the journal rebuilds: wallets, orders, positions, payments, transfers, liquidations.
type state struct {
	seq          int64
	wallets      map[exchange.Venue]map[string]*balance
	orders       map[mkey]*orderState // by venue and client id
	resting      map[mkey][]*orderState
	positions    map[string]*position
	open         []*position // positions with a non-zero quantity, by symbol
	crossOpen    int
	crossWalletF float64 // the cross wallet as a float, for screening
	orderSeq     map[exchange.Venue]int64
	tradeSeq     map[exchange.Venue]int64
	transferSeq  int64
	funding      []exchange.FundingPayment
	transfers    []exchange.Transfer
	liquidations []Liquidation
	mg           *marginState // cross-margin loans and their history (nil until the first margin change)
}

type balance struct {
	free, locked decimal.Decimal
}

// orderState is an order and what it holds back while it rests.
type orderState struct {
	o           exchange.Order
	reduceOnly  bool
	base, quote string          // the instrument's assets
	leverage    int             // futures: at placement
	lockAsset   string          // spot: the asset locked for a resting order
	locked      decimal.Decimal // spot: amount locked; futures: margin reserved for the opening part
}

// New builds a venue. With a journal that has entries, the account is rebuilt from them (restart); otherwise
// the initial balances are journaled as its first entry. A nil journal keeps everything in memory.
func New(ctx context.Context, cfg Config, clk clock.Clock, journal Journal) (*Venue, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("paper venue configuration: %w", err)
	}
	if clk == nil {
		clk = clock.Wall{}
	}
	v := &Venue{cfg: cfg, clk: clk, journal: journal, faults: &Faults{}, defBrackets: exchange.DefaultBrackets(),
		instruments: map[mkey]exchange.Instrument{}, markets: map[mkey]*market{}, perps: map[string]*perpState{},
		bracketCache: map[string][]bracketF{}}
	for _, in := range cfg.Instruments {
		v.instruments[mkey{in.Venue, in.Symbol}] = in
		if in.Venue == exchange.Futures {
			v.perpState(in.Symbol)
		}
	}
	v.initMargin()
	st, err := v.load(ctx)
	if err != nil {
		return nil, err
	}
	v.st = st
	v.linkPositions()
	return v, nil
}

// load builds the state from the journal, or funds a new account.
func (v *Venue) load(ctx context.Context) (*state, error) {
	v.st = newState()
	var entries []Entry
	if v.journal != nil {
		var err error
		if entries, err = v.journal.Load(ctx); err != nil {
			return nil, fmt.Errorf("loading the paper journal: %w", err)
		}
	}
	if len(entries) > 0 {
		if err := v.replay(entries); err != nil {
			return nil, fmt.Errorf("rebuilding the paper account from its journal: %w", err)
		}
		return v.st, nil
	}
	if err := v.commit(ctx, KindDeposit, v.clk.Now(), &depositRec{Balances: v.cfg.deposits()}); err != nil {
		return nil, fmt.Errorf("recording the initial balances: %w", err)
	}
	return v.st, nil
}

// Recover rebuilds the account from the journal after a failed append (ErrJournal). Market data is kept.
func (v *Venue) Recover(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.journal == nil {
		v.broken = nil
		return nil
	}
	prev, prevBroken := v.st, v.broken
	v.broken = nil
	st, err := v.load(ctx)
	if err != nil {
		v.st, v.broken = prev, prevBroken
		return err
	}
	v.st = st
	v.linkPositions()
	return nil
}

func newState() *state {
	return &state{wallets: map[exchange.Venue]map[string]*balance{}, orders: map[mkey]*orderState{},
		resting: map[mkey][]*orderState{}, positions: map[string]*position{},
		orderSeq: map[exchange.Venue]int64{}, tradeSeq: map[exchange.Venue]int64{}}
}

// linkPositions points each perp's market data at its position in the current state.
func (v *Venue) linkPositions() {
	for sym, ps := range v.perps {
		ps.pos = v.st.positions[sym]
	}
	for sym, p := range v.st.positions {
		v.perpState(sym).pos = p
	}
	v.afterChange()
}

// Faults returns the fault hooks (for tests).
func (v *Venue) Faults() *Faults { return v.faults }

func (v *Venue) perpState(symbol string) *perpState {
	ps, ok := v.perps[symbol]
	if !ok {
		ps = &perpState{symbol: symbol}
		v.perps[symbol] = ps
	}
	return ps
}

func (v *Venue) wallet(venue exchange.Venue, asset string) *balance {
	w, ok := v.st.wallets[venue]
	if !ok {
		w = map[string]*balance{}
		v.st.wallets[venue] = w
	}
	b, ok := w[asset]
	if !ok {
		b = &balance{}
		w[asset] = b
	}
	return b
}

func (v *Venue) brackets(symbol string) []exchange.Bracket {
	if b, ok := v.cfg.Brackets[symbol]; ok {
		return b
	}
	return v.defBrackets
}

// Instrument returns a configured instrument.
func (v *Venue) Instrument(_ context.Context, venue exchange.Venue, symbol string) (exchange.Instrument, error) {
	in, ok := v.instruments[mkey{venue, symbol}]
	if !ok {
		return exchange.Instrument{}, fmt.Errorf("paper %s instrument %s: %w", venue, symbol, exchange.ErrNotFound)
	}
	return in, nil
}

// Quote returns the latest quote; exchange.ErrNoQuote when the market was never quoted or is suspended.
func (v *Venue) Quote(_ context.Context, venue exchange.Venue, symbol string) (exchange.Quote, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := v.markets[mkey{venue, symbol}]
	if m == nil || !m.has || m.suspended {
		return exchange.Quote{}, fmt.Errorf("paper %s %s: %w", venue, symbol, exchange.ErrNoQuote)
	}
	return m.quote(), nil
}

// Mark returns the latest mark; exchange.ErrNoQuote before the first one.
func (v *Venue) Mark(_ context.Context, symbol string) (exchange.Mark, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ps := v.perps[symbol]
	if ps == nil || !ps.hasMark {
		return exchange.Mark{}, fmt.Errorf("paper mark of %s: %w", symbol, exchange.ErrNoQuote)
	}
	return exchange.Mark{Symbol: symbol, Mark: ps.mark, Index: ps.index, EstimatedRate: ps.est,
		NextFundingTime: nsTime(ps.nextNs, ps.hasNext), Time: nsTime(ps.markNs, ps.hasMT)}, nil
}

// nsTime turns stored Unix nanoseconds back into a UTC time (the zero time when there was none).
func nsTime(ns int64, ok bool) time.Time {
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// FundingInfo returns the symbol's interval (the latest settlement's, else the configured one, else 8h) and
// cap/floor (configured, else ±0.3%).
func (v *Venue) FundingInfo(_ context.Context, symbol string) (exchange.FundingInfo, error) {
	if _, ok := v.instruments[mkey{exchange.Futures, symbol}]; !ok {
		return exchange.FundingInfo{}, fmt.Errorf("paper funding info of %s: %w", symbol, exchange.ErrNotFound)
	}
	fi := v.cfg.FundingInfo[symbol]
	fi.Symbol = symbol
	if fi.IntervalHours <= 0 {
		fi.IntervalHours = exchange.DefaultFundingInterval
	}
	v.mu.Lock()
	if ps := v.perps[symbol]; ps != nil && ps.hours > 0 {
		fi.IntervalHours = ps.hours
	}
	v.mu.Unlock()
	if !fi.Cap.IsPositive() {
		fi.Cap = defaultFundingCap()
	}
	if !fi.Floor.IsNegative() {
		fi.Floor = fi.Cap.Neg()
	}
	return fi, nil
}

// FundingRates returns the settlements Apply has seen with from ≤ time < to, oldest first.
func (v *Venue) FundingRates(_ context.Context, symbol string, from, to time.Time) ([]exchange.FundingRate, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []exchange.FundingRate
	if ps := v.perps[symbol]; ps != nil {
		for _, r := range ps.rates {
			if !r.Time.Before(from) && (to.IsZero() || r.Time.Before(to)) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// Commission returns the configured rates of the venue (margin: the spot rates unless margin has its own).
func (v *Venue) Commission(_ context.Context, venue exchange.Venue, symbol string) (exchange.Fees, error) {
	if _, own := v.cfg.Fees[exchange.Margin]; venue == exchange.Margin && !own {
		venue = exchange.Spot
	}
	f, ok := v.cfg.Fees[venue]
	if !ok {
		return exchange.Fees{}, fmt.Errorf("paper commission for %s %s: no fees configured for the venue", venue, symbol)
	}
	return f, nil
}

// LeverageBrackets returns the symbol's configured brackets, or exchange.DefaultBrackets.
func (v *Venue) LeverageBrackets(_ context.Context, symbol string) ([]exchange.Bracket, error) {
	return append([]exchange.Bracket(nil), v.brackets(symbol)...), nil
}

// Liquidations lists the forced closes so far, oldest first.
func (v *Venue) Liquidations() []Liquidation {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]Liquidation(nil), v.st.liquidations...)
}

// sortedKeys returns a map's keys (assets) in name order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
