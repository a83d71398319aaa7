package exchange

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// The venue contracts. Each is small so a consumer can ask for exactly what it uses; a full venue
// (Binance, paper) implements all of them. Every call that can block takes a context.

// MarketData reads instruments and prices.
type MarketData interface {
	Instrument(ctx context.Context, venue Venue, symbol string) (Instrument, error)
	Quote(ctx context.Context, venue Venue, symbol string) (Quote, error)
	Mark(ctx context.Context, symbol string) (Mark, error)
}

// FundingData reads a perpetual's funding schedule and settled history.
type FundingData interface {
	FundingInfo(ctx context.Context, symbol string) (FundingInfo, error)
	// FundingRates returns settlements with from ≤ time < to, oldest first.
	FundingRates(ctx context.Context, symbol string, from, to time.Time) ([]FundingRate, error)
}

// Trading places and queries orders by our client order id.
type Trading interface {
	// PlaceOrder returns the order as the venue accepted it (with any immediate fills). A *RejectError means
	// the venue refused it and nothing happened; any other error leaves the outcome unknown: query it.
	PlaceOrder(ctx context.Context, req OrderRequest) (Order, error)
	// QueryOrder finds an order by client id, with its fills. ErrNotFound when the venue has no such order.
	QueryOrder(ctx context.Context, venue Venue, symbol, clientID string) (Order, error)
	// CancelOrder cancels an open order by client id.
	CancelOrder(ctx context.Context, venue Venue, symbol, clientID string) (Order, error)
}

// Account reads wallets and positions.
type Account interface {
	Balances(ctx context.Context, venue Venue) ([]Balance, error)
	Positions(ctx context.Context) ([]Position, error)
	FuturesAccount(ctx context.Context) (FuturesAccount, error)
	LeverageBrackets(ctx context.Context, symbol string) ([]Bracket, error)
	Commission(ctx context.Context, venue Venue, symbol string) (Fees, error)
}

// AccountSetup prepares the futures account for a symbol: one-way position mode, margin type and leverage.
// "No need to change" answers are success.
type AccountSetup interface {
	SetupSymbol(ctx context.Context, symbol string, leverage int, isolated bool) error
}

// Wallet moves assets between the account's wallets.
type Wallet interface {
	Transfer(ctx context.Context, req TransferRequest) (Transfer, error)
	// Transfers lists moves of one kind since a time, to resolve a transfer whose answer was lost.
	Transfers(ctx context.Context, kind TransferKind, since time.Time) ([]Transfer, error)
}

// Income reads what the account was really paid.
type Income interface {
	// FundingPayments returns funding payments with time ≥ since (all symbols when symbol is ""), oldest first.
	FundingPayments(ctx context.Context, symbol string, since time.Time) ([]FundingPayment, error)
}

// Borrowing is the cross-margin loan contract (reverse carry).
type Borrowing interface {
	MaxBorrowable(ctx context.Context, asset string) (decimal.Decimal, error)
	Borrow(ctx context.Context, asset string, amount decimal.Decimal) (LoanTx, error)
	Repay(ctx context.Context, asset string, amount decimal.Decimal) (LoanTx, error)
	// HourlyInterestRate is the rate charged for the next hour on a loan of asset.
	HourlyInterestRate(ctx context.Context, asset string) (decimal.Decimal, error)
	Loans(ctx context.Context) ([]Loan, error)
	// LoanHistory lists borrows, repayments and interest charges since a time, oldest first.
	LoanHistory(ctx context.Context, asset string, since time.Time) ([]LoanTx, error)
	// MarginLevel is total assets ÷ (liabilities + interest) of the cross-margin account.
	MarginLevel(ctx context.Context) (decimal.Decimal, error)
}

// Exchange is everything a full venue offers (Binance or paper).
type Exchange interface {
	MarketData
	FundingData
	Trading
	Account
	AccountSetup
	Wallet
	Income
	TradeHistory
}

// TradeHistory lists the account's trades, including those carry did not place (a liquidation, an
// auto-deleverage, a trade made by hand), so the pairs can be reconciled with what really happened.
type TradeHistory interface {
	// Trades returns the account's trades of symbol on venue with time ≥ since, oldest first.
	Trades(ctx context.Context, venue Venue, symbol string, since time.Time) ([]Fill, error)
}
