// Package paper simulates Binance spot and USDⓈ-M futures for one account: the venue of backtests and of
// paper trading. *Venue implements exchange.Exchange (market data, funding data, trading, account, set-up,
// wallet transfers, income); cross-margin borrowing (exchange.Borrowing) is not simulated yet, but a margin
// wallet can already hold transferred assets. Everything is exact decimal arithmetic and deterministic: the
// same events and calls give the same fills, ids and balances. There is no package-level mutable state.
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
// maker for resting orders). Insufficient balance is a RejectInsufficient error with Binance's code: -2010
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
// On EventFunding every open position in the symbol receives exchange.FundingAmount(qty, mark, rate) (longs
// pay shorts when the rate is positive) in the cross wallet or its isolated wallet, with the mark of the event
// (Funding.MarkPrice) or else the last mark. Only positions open at the settlement time take part, each
// settlement is paid once, a wallet that cannot pay goes down anyway (the liquidation check follows), and each
// payment has the TranID paper-<SYMBOL>-<funding time ms> (FundingTranID).
//
// # Wallets
//
// Transfer moves assets between the spot, futures and margin wallets (TranIDs paper-tr-<n>); out of futures at
// most the available balance. Balances: spot free/locked per asset; futures Free = cross wallet, Locked =
// isolated wallets.
//
// # Faults and restarts
//
// Faults() holds one-shot hooks for tests: RejectNext, PartialNext, DelayNext, TimeoutNext (the order executes
// but the caller gets ErrTimeout) and LoseNext (ErrLost; the order never exists).
//
// Every change (the initial deposit, each order with its fills, maker fills, cancels, funding payments,
// transfers, set-ups, liquidations) is appended to the Journal before the call returns; if the append fails
// the change is not made and the call returns an ErrJournal error (unknown outcome). New on a journal with
// entries replays them into the same balances, positions, orders, payments and transfers. Market data is not
// journaled: after a restart the feed provides it again.
package paper
