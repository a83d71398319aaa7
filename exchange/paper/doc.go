// Package paper simulates Binance spot, USDⓈ-M futures and cross margin for one account: the venue of
// backtests and of paper trading. *Venue implements exchange.Exchange (market data, funding data, trading,
// account, set-up, wallet transfers, income) and exchange.Borrowing (cross-margin loans, for reverse carry).
// Everything is exact decimal arithmetic and deterministic: the same events and calls give the same fills,
// ids and balances. There is no package-level mutable state.
//
// # Market data
//
// Prices come in through Apply (from pkg/replay in backtests, the live public streams in paper mode): quotes
// per venue and symbol, marks, funding settlements, suspend/resume. Quote and Mark return the latest; a market
// never quoted or suspended answers exchange.ErrNoQuote, and orders on it are rejected (RejectNoLiquidity).
//
// # Orders
//
// MARKET and LIMIT IOC orders fill at once against the current quote, in full (there is no depth: the quote
// sizes are not a limit; slippage models the walk through the book): a buy at the ask, a sell at the bid,
// worsened by Config.Slippage and rounded to the tick against the taker. An IOC fills only if its limit
// reaches the touch, at the better of its limit and the slipped touch; otherwise it EXPIRES with nothing
// filled. LIMIT_MAKER is post-only: one that would cross is rejected (spot -2010 "Order would immediately match
// and take.", futures -5022); otherwise it rests (NEW), holding its funds (spot) or initial margin (futures),
// and fills in full at its price as maker when a later quote reaches it (ask ≤ price for a buy, bid ≥ price
// for a sell). Resting orders are simplified: no queue position, no partial maker fills.
//
// Every order is checked with exchange.CheckFilters at its limit price or the touch. Fees are Binance's: a spot
// BUY pays its fee in the BASE asset (buying 0.10011 BTC at 0.1% leaves 0.10000989), a spot SELL in the quote
// asset (qty × price × rate), a futures fill qty × price × rate in USDT; rates are Config.Fees (taker, or
// maker for resting orders). Fees and funding amounts are booked to 8 decimal places (half up), the precision
// of Binance's commissions and income. Insufficient balance is a RejectInsufficient error with Binance's code: -2010
// (spot: qty × price of the quote for a buy, qty of the base for a sell) or -2019 (futures: the initial margin
// notional/leverage of the exposure the order opens, plus the fee, against the available balance). A futures
// order whose position would exceed the bracket of its leverage is rejected with -2027. reduceOnly orders are
// rejected (-2022) when they would not reduce, and capped at the position (the rest expires). A client id used
// before on the venue is rejected (spot -2010 "Duplicate order sent.", futures -4116 "ClientOrderId is
// duplicated."). Order and trade ids are per-venue sequences; orders stay queryable by client id with their
// fills.
//
// # Futures
//
// One-way mode; cross margin by default, isolated with SetupSymbol. A position keeps its signed entry
// notional: the entry price is its weighted average on increase, a reduce realizes (exit − entry) × qty into
// the wallet. An isolated position moves the initial margin of what it opens from the cross wallet into its
// own wallet and releases it in proportion on reduce. FuturesAccount describes the cross account (wallet,
// unrealised PnL at the mark, maintenance margin from the brackets, available balance = margin balance −
// initial margin of the cross positions − margin reserved by resting orders); Positions carry the liquidation
// price of exchange.LiquidationPrice (cross: WB = cross wallet, TMM1/UPNL1 = the other cross positions at their
// marks; isolated: the isolated wallet).
//
// Forced liquidation happens when the margin ratio reaches 100% at the mark: for an isolated position or a
// lone cross position, when the mark reaches the liquidation price computed after each state change (a
// compare per mark); with several cross positions, each of their marks re-checks the cross margin ratio. The
// position(s) are closed at the mark with a clearance fee equal to the maintenance margin at the mark (at most
// what is left: Binance's insurance fund takes the remaining margin); a loss beyond the wallet is absorbed as
// Liquidation.Insurance, never leaving a negative wallet. Each liquidation is a fill of an order
// autoclose-<SYMBOL>-<ms>, a journal entry, and an item of Liquidations().
//
// # Funding
//
// On EventFunding every open position in the symbol receives exchange.FundingAmount(qty, mark, rate), to 8 places (longs
// pay shorts when the rate is positive) in the cross wallet or its isolated wallet, with the mark of the event
// (Funding.MarkPrice) or else the last mark. Only positions open at the settlement time take part, each
// settlement is paid once, a wallet that cannot pay goes down anyway (the liquidation check follows), and each
// payment has the TranID paper-<SYMBOL>-<funding time ms> (FundingTranID).
//
// # Wallets
//
// Transfer moves assets between the spot, futures and margin wallets (TranIDs paper-tr-<n>); out of futures at
// most the available balance; out of margin, while anything is owed, at most what keeps the margin level at
// 2 or above. Balances: spot free/locked per asset; futures Free = cross wallet, Locked = isolated wallets;
// margin free/locked plus each asset's Borrowed principal and unpaid Interest.
//
// # Cross margin
//
// The margin wallet holds assets per name (funded by transfers or Config.InitialBalances[margin]) and loans
// per asset. Assets are valued in the quote asset at the mid of their spot market (asset+quote); an asset
// without a spot market against the quote asset cannot be borrowed (-3027).
//
// Borrow adds the amount to the wallet and the loan; Repay takes it from the wallet and pays interest first,
// then principal (-3015 for more than owed, -3041 for more than the free balance). MaxBorrowable follows
// Binance's Cross Margin Classic: the whole debt (principal + interest, all assets) may reach net equity ×
// (Config.MarginLeverage − 1), 3x by default, and an asset's principal its Config.BorrowLimits entry; more is
// refused with -3006 (exchange.RejectInsufficient). MarginLevel = total assets ÷ (principal + interest), 999
// when nothing is owed (NoDebtMarginLevel), like Binance's marginLevel.
//
// Interest is simple and hourly, in the borrowed asset, rounded up to 8 decimals: one hour of principal ×
// rate is charged when a loan is taken (TranID <borrow id>-int), then one at every hour boundary while
// principal is owed, on the principal outstanding at that boundary (TranID paper-int-<ASSET>-<boundary ms>,
// InterestTranID). Borrowing at 13:20 and repaying at 14:15 pays two hours. Boundaries are driven by the
// venue's clock as events arrive: Apply charges every boundary up to the later of the event's time and the
// clock, and every margin call (Borrow, Repay, Loans, LoanHistory, MaxBorrowable, MarginLevel, margin
// orders, margin Balances and transfers) first charges every boundary up to the clock, so events that skip
// hours catch up each missed boundary exactly once; a boundary is never charged twice (each asset
// remembers its next one, rebuilt from the journal). The hourly rate of a charge is the one in effect at its
// time: the latest Config.InterestSchedule or SetInterestRate point at or before it (recorded rates, e.g.
// Binance's interest rate history ÷ 24), else Config.InterestRates, else Config.DefaultInterestRate
// (DefaultHourlyInterest, 0.001%/h). Each charge records its rate and principal. (pkg/replay's
// InterestRates option is the funding formula's interest component, not a borrow rate: it feeds nothing
// here.) LoanHistory lists every borrow, repayment and charge with deterministic TranIDs.
//
// Margin orders (OrderRequest.Venue = exchange.Margin) trade the symbol's spot book with the spot instrument's
// filters, MARKET or LIMIT_IOC (resting LIMIT_MAKER margin orders are not simulated and are rejected), and
// pay fees like spot (Config.Fees[margin], else the spot rates): a buy's fee in base, a sell's in quote.
// They spend and receive in the margin wallet; order and trade ids are the margin venue's own sequences, and
// they are queried on exchange.Margin. Side effects: with AutoBorrow (MARGIN_BUY) or BorrowRepay, the
// shortfall of what the order spends (base for a sell, quote for a buy) beyond the free balance is borrowed
// (refused with -3006 when the whole order's shortfall exceeds MaxBorrowable), with its borrow-time charge;
// an order that fills only partly borrows only what it used, as Binance's autoRepayAtCancel returns the
// rest. With AutoRepay (AUTO_REPAY) or BorrowRepay, what the fill delivers (base net of the fee for a buy,
// quote net of the fee for a sell) repays that asset's debt, interest first, up to the debt; the rest stays
// free. To close a reverse pair completely, buy back principal + interest grossed up for the fee
// (exchange.SpotBuyGrossUp on Loans()). Without a side effect the wallet must hold what the order spends
// (-2010).
//
// Margin liquidation: after every spot quote and every interest charge, while anything is owed, the margin
// level is checked; at or below Config.MarginLiquidationLevel (1.1) every borrowed base asset the wallet
// lacks is bought back at the (slipped) ask, grossed up for the fee in base and paid with the quote asset; an
// owed quote asset is covered by selling other assets at the bid; every debt is repaid (interest first); what
// the wallet could not cover is written off (MarginLiquidation.Insurance) so no loan survives. Each trade is
// an order margin-liq-<ASSET>-<ms> on the margin venue; MarginLiquidations lists them. No liquidation fee
// beyond the taker fee is charged.
//
// # Faults and restarts
//
// Faults() holds one-shot hooks for tests: RejectNext, PartialNext, DelayNext, TimeoutNext (the order executes
// but the caller gets ErrTimeout) and LoseNext (ErrLost; the order never exists), per venue, margin included.
//
// Every change (the initial deposit, each order with its fills, maker fills, cancels, funding payments,
// transfers, set-ups, liquidations, borrows, repayments, interest charges, margin orders with their side
// effects, margin liquidations) is appended to the Journal before the call returns; if the append fails the
// change is not made and the call returns an ErrJournal error (unknown outcome). New on a journal with
// entries replays them into the same balances, positions, orders, payments, transfers, loans and loan
// history. Market data is not journaled (nor are SetInterestRate points: every charge journals the rate it
// used): after a restart the feed provides it again.
package paper
