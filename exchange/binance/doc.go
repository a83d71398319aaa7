// Package binance implements carry's venue contracts (package exchange) on Binance spot, USDⓈ-M futures
// and the wallet API, over github.com/adshao/go-binance/v2 (v2.8.12).
//
// # Modes
//
// A Client built without an API key serves public market data only (paper mode): instruments, quotes,
// marks, funding and the market feed. Every signed call then fails fast with ErrNoCredentials, before
// anything is sent. The key and secret are plain strings handed in by the composition root; they are never
// logged, never put into errors, and Config redacts them in every format.
//
// # Errors
//
// The exchange package's rule is that PlaceOrder returns a *exchange.RejectError only when nothing happened
// on the venue. The adapter keeps that promise strictly (for orders, transfers, borrows and repayments):
//
//   - A Binance error answer with a 4xx status is a definite refusal: -2010/-2019/-2018 (balance or margin)
//     are RejectInsufficient, filter failures (-1013, -1111, -4164, -40xx quantity/price checks) are
//     RejectFilter, a post-only order that would take (-2010 "immediately match", -5022) and anything else
//     are RejectOther. A rejected key (-2014/-2015/-1022) also carries an *AuthError explaining what to check.
//   - 429 and 418 (and a request the adapter refused to send because an earlier 429/418 asked it to wait)
//     are *RateLimitError; on an order they also count as a rejection, since Binance did not process it.
//   - Everything else is an unknown outcome, wrapped around ErrOutcomeUnknown: a timeout, a dropped
//     connection, any 5xx, the "execution status unknown" codes (-1000, -1001, -1006, -1007, -1008), an
//     answer without a Binance code (an HTML error page) and an accepted order whose answer could not be
//     read. The caller must then query the order by its client id (QueryOrder) before deciding anything.
//
// -1021 (timestamp outside recvWindow) is answered before Binance processes anything, so the adapter
// re-measures its clock offset against the server and retries the call once. -2013 on a query and -2011 on
// a cancel of an order that does not exist are exchange.ErrNotFound.
//
// # Clock offset without races
//
// go-binance reads Client.TimeOffset while signing every request, so writing it while requests are in
// flight is a data race. The adapter never mutates a go-binance client: the spot and futures clients, with
// their offsets, live in an immutable bundle behind an atomic pointer. A resync measures the offset and
// swaps in a new bundle; in-flight calls finish on the old one.
//
// # Rate limits
//
// The HTTP client (always with a timeout; every call also carries a context deadline) goes through a
// RoundTripper that records each answer's status for the call that made it, reads the used-weight headers
// (X-MBX-USED-WEIGHT-1M, X-SAPI-USED-IP-WEIGHT-1M; see Client.UsedWeight) and, after a 429 or 418, refuses
// to send anything to that API (spot+sapi or futures) until Retry-After has passed, returning a
// *RateLimitError instead of hammering an API that is about to ban the IP.
//
// # Websockets, reconnects and resyncs
//
// go-binance's websocket hosts are package globals read when a stream starts. They are written only here,
// under wsGlobalsMu, which is held while the globals are set and the stream is dialled: this is the single
// documented exception to carry's "no package-level mutable state" rule. The library's keepalive flags are
// set to false once (its futures keepalive races under -race) and never written again.
//
// The library neither reconnects nor notices a silent connection, so every stream runs under a supervisor:
// a watchdog closes the stream (through its stopC) when no message arrived for the configured silence, a
// dropped or closed stream is redialled with exponential backoff, and after every gap the consumer is told
// and state is re-read over REST. The market Feed emits EventSuspend for the markets of a stream that went
// down and, after the reconnect and a REST resync, EventResume followed by fresh quotes and marks. It also
// turns a roll of nextFundingTime into EventFunding with the settled rate from /fapi/v1/fundingRate
// (falling back to the last estimate). The user-data stream (futures listenKey with its own keepalive
// timer; spot through the WebSocket API signature subscription, since the spot listenKey endpoints are gone)
// delivers order and account updates and a UserResync after every (re)connect. go-binance swallows the
// spot subscription's answer, so the spot UserResync comes SubscribeGrace after the dial, and a refused
// subscription (which the library hands on as an event without a type) forces a reconnect.
//
// # Offline parsers
//
// ParseSpotExchangeInfo, ParseFuturesExchangeInfo, ParseFundingInfo, ParsePremiumIndex and
// ParseFundingRates read saved Binance answers without a network (the backtest uses them on the samples in
// testdata/binance/api-samples). Filters are read with checked type assertions: a malformed exchangeInfo is
// an error naming the symbol and the filter, never a panic.
//
// # Trade history
//
// Trades (what reconciliation reads after a liquidation or an auto-deleverage) reaches back past Binance's
// time windows on trade lists: futures userTrades answers 7 days from startTime (nothing older than six
// months), spot and margin myTrades 24 hours when both ends are sent. Spot and margin walk 24-hour windows
// to the first trade and page on by fromId; futures walk 7-day windows by time to the end, because
// go-binance v2.8.12 sends userTrades' fromId as "fromID", a parameter Binance does not read.
//
// # Cross margin
//
// margin.go implements exchange.Borrowing and margin orders over go-binance's /sapi/v1/margin services, with
// the same call wrapper and error taxonomy (isolated margin is not used):
//
//   - Borrow and Repay: POST /sapi/v1/margin/borrow-repay (type BORROW/REPAY). A 4xx Binance answer is a
//     *exchange.RejectError (nothing was borrowed or repaid): -3006 (past max borrowable), -3041 (balance
//     not enough) and -3045 (Binance's lending pool is dry) are RejectInsufficient, -3015 (more than owed)
//     and the rest RejectOther. A timeout, dropped connection or 5xx wraps ErrOutcomeUnknown: resolve it with
//     LoanHistory before trying again, since the request has no client id. After a success the record is
//     read back (by txId) for Binance's time and, for a repayment, the principal part (interest is paid
//     first); if that read fails the answer still stands.
//   - MaxBorrowable: GET /sapi/v1/margin/maxBorrowable ("amount"). HourlyInterestRate: GET
//     /sapi/v1/margin/next-hourly-interest-rate. Loans, MarginLevel and Balances(exchange.Margin): GET
//     /sapi/v1/margin/account (borrowed, interest, free, locked per asset; marginLevel, 999 with no debt).
//   - LoanHistory: GET /sapi/v1/margin/borrow-repay (BORROW and REPAY, failed records left out) and GET
//     /sapi/v1/margin/interestHistory (every charge with its rate and principal), in windows of 30 days (7
//     without an asset) and pages of 100, oldest first, from at most six months back.
//   - Margin orders: OrderRequest.Venue = exchange.Margin goes to POST /sapi/v1/margin/order with our client
//     id, newOrderRespType FULL and sideEffectType (NO_SIDE_EFFECT, MARGIN_BUY, AUTO_REPAY,
//     AUTO_BORROW_REPAY from OrderRequest.SideEffect; a side effect on a spot or futures order is refused
//     before sending). The errors follow PlaceOrder's rule. QueryOrder and CancelOrder on exchange.Margin use
//     /sapi/v1/margin/order; fills come from /sapi/v1/margin/myTrades read from the order's time (go-binance
//     has no orderId filter there) and kept by order id.
//
// go-binance has no working margin user-data stream, so margin orders, balances and loans are never pushed:
// whoever watches them polls these REST calls (the executor already queries orders by client id).
package binance
