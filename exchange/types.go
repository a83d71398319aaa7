// Package exchange is the boundary between carry and a venue: the shared types (instruments and their
// filters, orders, fills, positions, balances, quotes, marks, funding), the small venue interfaces the rest
// of the code depends on, the error taxonomy, and exact decimal instrument and margin math.
//
// exchange/binance implements the interfaces with go-binance; exchange/paper simulates them. Nothing here
// knows which one it talks to.
package exchange

import (
	"time"

	"github.com/shopspring/decimal"
)

// Venue is one of the account's wallets/markets.
type Venue string

// Venues.
const (
	Spot    Venue = "spot"    // spot wallet and market
	Futures Venue = "futures" // USDⓈ-M futures wallet and perpetuals
	Margin  Venue = "margin"  // cross-margin wallet and market (borrowing)
)

// Side of an order or fill.
type Side string

// Sides.
const (
	Buy  Side = "BUY"
	Sell Side = "SELL"
)

// Opposite returns the other side.
func (s Side) Opposite() Side {
	if s == Buy {
		return Sell
	}
	return Buy
}

// Sign is +1 for Buy and -1 for Sell.
func (s Side) Sign() int64 {
	if s == Buy {
		return 1
	}
	return -1
}

// OrderType is how an order executes.
type OrderType string

// Order types carry uses.
const (
	Market     OrderType = "MARKET"
	LimitIOC   OrderType = "LIMIT_IOC"   // limit, immediate-or-cancel
	LimitMaker OrderType = "LIMIT_MAKER" // post-only limit
)

// OrderStatus is the venue's state of an order.
type OrderStatus string

// Order statuses (Binance's names).
const (
	StatusNew             OrderStatus = "NEW"
	StatusPartiallyFilled OrderStatus = "PARTIALLY_FILLED"
	StatusFilled          OrderStatus = "FILLED"
	StatusCanceled        OrderStatus = "CANCELED"
	StatusRejected        OrderStatus = "REJECTED"
	StatusExpired         OrderStatus = "EXPIRED"
)

// Final reports whether the order can no longer change.
func (s OrderStatus) Final() bool {
	switch s {
	case StatusFilled, StatusCanceled, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// SideEffect is what a margin order does to the loan.
type SideEffect string

// Margin side effects.
const (
	NoSideEffect SideEffect = ""
	AutoBorrow   SideEffect = "MARGIN_BUY" // borrow what the order needs
	AutoRepay    SideEffect = "AUTO_REPAY" // repay the loan from the proceeds
	BorrowRepay  SideEffect = "AUTO_BORROW_REPAY"
)

// Instrument is a tradable symbol on one venue with its filters. Spot and perp filters differ.
type Instrument struct {
	Venue      Venue
	Symbol     string
	Base       string
	Quote      string
	Trading    bool            // status TRADING
	TickSize   decimal.Decimal // PRICE_FILTER tickSize
	StepSize   decimal.Decimal // LOT_SIZE stepSize
	MinQty     decimal.Decimal // LOT_SIZE minQty
	MaxQty     decimal.Decimal // LOT_SIZE maxQty (zero: none)
	MarketStep decimal.Decimal // MARKET_LOT_SIZE stepSize (zero: same as StepSize)
	MarketMax  decimal.Decimal // MARKET_LOT_SIZE maxQty (zero: none)
	// MinNotional: spot NOTIONAL.minNotional, futures MIN_NOTIONAL.notional.
	MinNotional decimal.Decimal
	// MinNotionalMarket: whether the minimum applies to market orders (spot applyMinToMarket; always on futures).
	MinNotionalMarket bool
}

// OrderRequest is an order carry wants placed. ClientID is always ours.
type OrderRequest struct {
	ClientID   string
	Venue      Venue
	Symbol     string
	Side       Side
	Type       OrderType
	Qty        decimal.Decimal
	Price      decimal.Decimal // limit price; zero for market orders
	ReduceOnly bool            // futures only
	SideEffect SideEffect      // margin only
}

// Order is the venue's view of an order.
type Order struct {
	ClientID     string
	VenueOrderID string
	Venue        Venue
	Symbol       string
	Side         Side
	Type         OrderType
	Status       OrderStatus
	Qty          decimal.Decimal
	Price        decimal.Decimal
	ExecutedQty  decimal.Decimal
	CumQuote     decimal.Decimal // executed quote amount
	Fills        []Fill
	Time         time.Time
}

// AvgPrice is CumQuote / ExecutedQty, or zero when nothing executed.
func (o Order) AvgPrice() decimal.Decimal {
	if o.ExecutedQty.IsZero() {
		return decimal.Zero
	}
	return o.CumQuote.DivRound(o.ExecutedQty, 12)
}

// Fill is one execution of an order.
type Fill struct {
	Venue        Venue
	Symbol       string
	TradeID      string // unique per venue and symbol
	ClientID     string
	VenueOrderID string
	Side         Side
	Qty          decimal.Decimal
	Price        decimal.Decimal
	Fee          decimal.Decimal
	FeeAsset     string
	RealizedPnL  decimal.Decimal // futures only
	Maker        bool
	Time         time.Time
}

// NetBase is the base quantity the fill adds to (Buy) or removes from (Sell) the wallet, after a fee
// charged in base.
func (f Fill) NetBase(base string) decimal.Decimal {
	q := f.Qty
	if f.Side == Sell {
		q = q.Neg()
	}
	if f.FeeAsset == base {
		q = q.Sub(f.Fee)
	}
	return q
}

// Position is a USDⓈ-M position (one-way mode). Qty is signed: positive long, negative short.
type Position struct {
	Symbol           string
	Qty              decimal.Decimal
	EntryPrice       decimal.Decimal
	MarkPrice        decimal.Decimal
	UnrealizedPnL    decimal.Decimal
	Leverage         int
	Isolated         bool
	IsolatedWallet   decimal.Decimal // isolated margin incl. unrealised PnL is IsolatedWallet + UnrealizedPnL
	LiquidationPrice decimal.Decimal // as the venue reports it; zero when none
	Time             time.Time
}

// Notional is |Qty| × MarkPrice.
func (p Position) Notional() decimal.Decimal { return p.Qty.Abs().Mul(p.MarkPrice) }

// Balance of one asset in one wallet.
type Balance struct {
	Venue    Venue
	Asset    string
	Free     decimal.Decimal
	Locked   decimal.Decimal
	Borrowed decimal.Decimal // margin only
	Interest decimal.Decimal // margin only, accrued and unpaid
}

// Total is Free + Locked.
func (b Balance) Total() decimal.Decimal { return b.Free.Add(b.Locked) }

// Net is Total − Borrowed − Interest.
func (b Balance) Net() decimal.Decimal { return b.Total().Sub(b.Borrowed).Sub(b.Interest) }

// FuturesAccount is the USDⓈ-M account summary.
type FuturesAccount struct {
	WalletBalance     decimal.Decimal // cross wallet balance in the quote asset
	UnrealizedPnL     decimal.Decimal
	MarginBalance     decimal.Decimal // wallet + unrealised
	MaintenanceMargin decimal.Decimal
	AvailableBalance  decimal.Decimal
	Time              time.Time
}

// MarginRatio is maintenance margin ÷ margin balance (liquidation at 1). Zero with no margin balance.
func (a FuturesAccount) MarginRatio() decimal.Decimal {
	if !a.MarginBalance.IsPositive() {
		if a.MaintenanceMargin.IsPositive() {
			return decimal.NewFromInt(1)
		}
		return decimal.Zero
	}
	return a.MaintenanceMargin.DivRound(a.MarginBalance, 8)
}

// Quote is the best bid and ask of one market.
type Quote struct {
	Venue  Venue
	Symbol string
	Bid    decimal.Decimal
	BidQty decimal.Decimal
	Ask    decimal.Decimal
	AskQty decimal.Decimal
	Time   time.Time
}

// Mid is (Bid + Ask) / 2 (multiplied by one half: exact, and much cheaper than a decimal division).
func (q Quote) Mid() decimal.Decimal { return q.Bid.Add(q.Ask).Mul(half) }

// Valid reports a usable two-sided quote.
func (q Quote) Valid() bool { return q.Bid.IsPositive() && q.Ask.GreaterThanOrEqual(q.Bid) }

// Mark is the perpetual's mark price and the running funding period's estimate.
type Mark struct {
	Symbol          string
	Mark            decimal.Decimal
	Index           decimal.Decimal
	EstimatedRate   decimal.Decimal // the rate the running period would settle at now
	NextFundingTime time.Time
	Time            time.Time
}

// FundingInfo is a symbol's funding schedule and bounds.
type FundingInfo struct {
	Symbol        string
	IntervalHours int
	Cap           decimal.Decimal
	Floor         decimal.Decimal
}

// DefaultFundingInterval applies to every symbol /fapi/v1/fundingInfo does not list.
const DefaultFundingInterval = 8

// FundingRate is one settled funding rate.
type FundingRate struct {
	Symbol        string
	Rate          decimal.Decimal
	MarkPrice     decimal.Decimal // zero when the source does not say
	IntervalHours int             // zero when the source does not say
	Time          time.Time
}

// FundingPayment is funding the account really paid or received (positive: received).
type FundingPayment struct {
	TranID      string // unique per account (Binance income tranId; paper: deterministic)
	Symbol      string
	Amount      decimal.Decimal
	Asset       string
	Rate        decimal.Decimal // zero when unknown
	MarkPrice   decimal.Decimal // zero when unknown
	PositionQty decimal.Decimal // signed, zero when unknown
	Time        time.Time
}

// TransferKind names a wallet move (Binance universal transfer types).
type TransferKind string

// Transfer kinds.
const (
	SpotToFutures   TransferKind = "MAIN_UMFUTURE"
	FuturesToSpot   TransferKind = "UMFUTURE_MAIN"
	SpotToMargin    TransferKind = "MAIN_MARGIN"
	MarginToSpot    TransferKind = "MARGIN_MAIN"
	FuturesToMargin TransferKind = "UMFUTURE_MARGIN"
	MarginToFutures TransferKind = "MARGIN_UMFUTURE"
)

// From and To return the venues a transfer kind moves between.
func (k TransferKind) From() Venue { return transferVenues[k][0] }

// To is the destination venue.
func (k TransferKind) To() Venue { return transferVenues[k][1] }

// Valid reports a known kind.
func (k TransferKind) Valid() bool { _, ok := transferVenues[k]; return ok }

var transferVenues = map[TransferKind][2]Venue{
	SpotToFutures: {Spot, Futures}, FuturesToSpot: {Futures, Spot},
	SpotToMargin: {Spot, Margin}, MarginToSpot: {Margin, Spot},
	FuturesToMargin: {Futures, Margin}, MarginToFutures: {Margin, Futures},
}

// TransferRequest moves an asset between wallets.
type TransferRequest struct {
	Kind   TransferKind
	Asset  string
	Amount decimal.Decimal
}

// Transfer is a completed wallet move.
type Transfer struct {
	TranID string
	Kind   TransferKind
	Asset  string
	Amount decimal.Decimal
	Time   time.Time
}

// Bracket is one notional tier of a symbol's leverage brackets.
type Bracket struct {
	Floor       decimal.Decimal // notional floor (inclusive)
	Cap         decimal.Decimal // notional cap (exclusive)
	MaxLeverage int
	MMR         decimal.Decimal // maintenance margin rate
	Cum         decimal.Decimal // maintenance amount
}

// Fees are commission rates.
type Fees struct {
	Maker decimal.Decimal
	Taker decimal.Decimal
}

// Loan is an outstanding cross-margin loan of one asset.
type Loan struct {
	Asset     string
	Principal decimal.Decimal
	Interest  decimal.Decimal
}

// LoanTx is a borrow, repayment or interest charge.
type LoanTx struct {
	TranID string
	Kind   LoanKind
	Asset  string
	Amount decimal.Decimal
	Time   time.Time
	// Rate is the hourly rate of an interest charge (zero when unknown or not a charge).
	Rate decimal.Decimal
	// Principal is, for an interest charge, the principal it was charged on; for a repayment, the part of
	// Amount that repaid principal (the rest, Amount − Principal, paid interest). Zero when unknown.
	Principal decimal.Decimal
}

// LoanKind names a loan transaction.
type LoanKind string

// Loan transaction kinds.
const (
	LoanBorrow   LoanKind = "borrow"
	LoanRepay    LoanKind = "repay"
	LoanInterest LoanKind = "interest"
)

var (
	two  = decimal.NewFromInt(2)
	half = decimal.New(5, -1)
)
