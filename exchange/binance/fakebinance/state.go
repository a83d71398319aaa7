package fakebinance

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// state is the fake exchange: one account, its wallets, orders and positions, and the markets. Every
// access holds Server.mu.
type state struct {
	opts   Options
	offset time.Duration
	perms  Permissions

	spotInfo  rawExchangeInfo
	spotSyms  map[string]*symbolInfo
	futRaw    []byte
	futSyms   map[string]*symbolInfo
	fundRaw   []byte
	intervals map[string]int // funding interval hours of the symbols fundingInfo lists

	books map[bookKey]*book
	marks map[string]*mark

	spot      map[string]*balance // spot wallet
	margin    map[string]*balance // cross-margin wallet (loans in mg: rest_margin.go)
	mg        *marginBook
	futWallet map[string]decimal.Decimal
	positions map[string]*position
	dual      bool
	multi     bool
	symCfg    map[string]*symConfig

	orders    map[orderKey]*order // the latest order per client id
	allOrders []*order
	trades    []*trade
	income    []incomeRow
	funding   map[string][]fundingRow
	transfers []transferRow
	listen    map[string]bool

	seq    int64
	outbox []outMsg // user-data messages to push once the lock is released
}

type bookKey struct {
	venue  exchange.Venue
	symbol string
}

type book struct {
	bid, bidQty, ask, askQty decimal.Decimal
	updateID                 int64
}

type mark struct {
	mark, index, rate, interest decimal.Decimal
	next                        time.Time
}

type balance struct{ free, locked decimal.Decimal }

type position struct {
	qty, entry decimal.Decimal
}

type symConfig struct {
	leverage int
	isolated bool
}

type orderKey struct {
	venue          exchange.Venue
	symbol, client string
}

type order struct {
	venue                       exchange.Venue
	id                          int64
	client, symbol, side        string
	typ, tif                    string
	qty, price, executed, quote decimal.Decimal
	status                      string
	reduceOnly                  bool
	created, updated            int64
	lockAsset                   string
	locked                      decimal.Decimal
	sideEffect                  string          // margin: NO_SIDE_EFFECT, MARGIN_BUY, AUTO_REPAY, AUTO_BORROW_REPAY
	borrowed                    decimal.Decimal // margin: borrowed at placement (autoRepayAtCancel returns the unused part)
	borrowAsset                 string
}

type trade struct {
	venue                     exchange.Venue
	id, orderID               int64
	symbol, side              string
	price, qty, fee, realized decimal.Decimal
	feeAsset                  string
	maker                     bool
	time                      int64
}

type incomeRow struct {
	Symbol     string `json:"symbol"`
	IncomeType string `json:"incomeType"`
	Income     string `json:"income"`
	Asset      string `json:"asset"`
	Info       string `json:"info"`
	Time       int64  `json:"time"`
	TranID     int64  `json:"tranId"`
	TradeID    string `json:"tradeId"`
}

type fundingRow struct {
	Symbol      string `json:"symbol"`
	FundingTime int64  `json:"fundingTime"`
	FundingRate string `json:"fundingRate"`
	MarkPrice   string `json:"markPrice"`
}

type transferRow struct {
	Asset     string `json:"asset"`
	Amount    string `json:"amount"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	TranID    int64  `json:"tranId"`
	Timestamp int64  `json:"timestamp"`
}

// outMsg is a user-data message: venue spot goes to the WebSocket API subscribers, futures to the
// listenKey streams.
type outMsg struct {
	venue   exchange.Venue
	payload []byte
}

func newState(opts Options) (*state, error) {
	st := &state{
		opts: opts, books: map[bookKey]*book{}, marks: map[string]*mark{}, spot: map[string]*balance{}, margin: map[string]*balance{},
		futWallet: map[string]decimal.Decimal{}, positions: map[string]*position{}, symCfg: map[string]*symConfig{},
		orders: map[orderKey]*order{}, funding: map[string][]fundingRow{}, listen: map[string]bool{}, intervals: map[string]int{},
		spotSyms: map[string]*symbolInfo{}, futSyms: map[string]*symbolInfo{}, seq: 1_000_000,
	}
	st.perms = DefaultPermissions()
	if opts.Permissions != nil {
		st.perms = *opts.Permissions
	}
	smp, err := loadSamples(opts.SamplesDir)
	if err != nil {
		return nil, err
	}
	st.spotInfo, st.futRaw, st.fundRaw = smp.spotInfo, smp.futRaw, smp.fundRaw
	for k, v := range smp.spotSyms {
		st.spotSyms[k] = v
	}
	for k, v := range smp.futSyms {
		st.futSyms[k] = v
	}
	for k, v := range smp.intervals {
		st.intervals[k] = v
	}
	prem := smp.premium
	now := time.Now()
	for _, p := range prem {
		m := &mark{}
		m.mark, _ = decimal.NewFromString(p.MarkPrice)
		m.index, _ = decimal.NewFromString(p.IndexPrice)
		m.rate, _ = decimal.NewFromString(p.LastFundingRate)
		m.interest, _ = decimal.NewFromString(p.InterestRate)
		// The sample's schedule is in the past: keep the symbol's interval, move to the next boundary.
		m.next = nextBoundary(now, st.interval(p.Symbol))
		st.marks[p.Symbol] = m
	}
	return st, nil
}

func (st *state) now() time.Time { return time.Now().Add(st.offset) }

func (st *state) nowMS() int64 { return st.now().UnixMilli() }

func (st *state) nextID() int64 {
	st.seq++
	return st.seq
}

func (st *state) interval(symbol string) time.Duration {
	h := st.intervals[symbol]
	if h <= 0 {
		h = exchange.DefaultFundingInterval
	}
	return time.Duration(h) * time.Hour
}

// bookOf returns the set book, or one tick around the mark price when none was set.
func (st *state) bookOf(venue exchange.Venue, symbol string) book {
	if venue == exchange.Margin {
		venue = exchange.Spot // margin orders trade the spot book
	}
	if b, ok := st.books[bookKey{venue, symbol}]; ok {
		return *b
	}
	m, ok := st.marks[symbol]
	if !ok || !m.mark.IsPositive() {
		return book{}
	}
	tick := decimal.RequireFromString("0.01")
	if si := st.symbol(venue, symbol); si != nil && si.tick.IsPositive() {
		tick = si.tick
	}
	px := exchange.RoundToTick(m.mark, tick)
	ten := decimal.NewFromInt(10)
	return book{bid: px.Sub(tick), bidQty: ten, ask: px.Add(tick), askQty: ten}
}

func (st *state) symbol(venue exchange.Venue, symbol string) *symbolInfo {
	if venue == exchange.Futures {
		return st.futSyms[symbol]
	}
	return st.spotSyms[symbol]
}

func (st *state) bal(m map[string]*balance, asset string) *balance {
	b, ok := m[asset]
	if !ok {
		b = &balance{}
		m[asset] = b
	}
	return b
}

func (st *state) pos(symbol string) *position {
	p, ok := st.positions[symbol]
	if !ok {
		p = &position{}
		st.positions[symbol] = p
	}
	return p
}

func (st *state) config(symbol string) *symConfig {
	c, ok := st.symCfg[symbol]
	if !ok {
		c = &symConfig{leverage: 20}
		st.symCfg[symbol] = c
	}
	return c
}

func (st *state) markPrice(symbol string) decimal.Decimal {
	if m, ok := st.marks[symbol]; ok && m.mark.IsPositive() {
		return m.mark
	}
	b := st.bookOf(exchange.Futures, symbol)
	return b.bid.Add(b.ask).Div(decimal.NewFromInt(2))
}

// futuresTotals computes the USDT account: wallet, unrealised PnL, maintenance and initial margin.
func (st *state) futuresTotals() (wallet, upnl, maint, initial decimal.Decimal) {
	wallet = st.futWallet["USDT"]
	brackets := exchange.DefaultBrackets()
	for sym, p := range st.positions {
		if p.qty.IsZero() {
			continue
		}
		mk := st.markPrice(sym)
		upnl = upnl.Add(exchange.UnrealizedPnL(p.qty, p.entry, mk))
		notional := p.qty.Abs().Mul(mk)
		mm, _ := exchange.MaintenanceMargin(notional, brackets)
		maint = maint.Add(mm)
		initial = initial.Add(notional.Div(decimal.NewFromInt(int64(st.config(sym).leverage))))
	}
	return wallet, upnl, maint, initial
}

func (st *state) available() decimal.Decimal {
	wallet, upnl, _, initial := st.futuresTotals()
	return wallet.Add(upnl).Sub(initial)
}

func (st *state) emit(venue exchange.Venue, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		st.outbox = append(st.outbox, outMsg{venue: venue, payload: b})
	}
}

// takeOutbox returns and clears the pending user-data messages.
func (st *state) takeOutbox() []outMsg {
	out := st.outbox
	st.outbox = nil
	return out
}

func (o *order) avgPrice() decimal.Decimal {
	if o.executed.IsZero() {
		return decimal.Zero
	}
	return o.quote.DivRound(o.executed, 8)
}

func (o *order) final() bool {
	return o.status == "FILLED" || o.status == "CANCELED" || o.status == "EXPIRED" || o.status == "REJECTED"
}

func str(d decimal.Decimal) string { return d.String() }
