// Package fakebinance is a faithful fake of the Binance APIs carry uses, on 127.0.0.1, for tests of the
// adapter through the real go-binance client and for end-to-end runs of the carry binary.
//
// It serves exactly the URL shapes go-binance v2.8.12 builds, all on one listener (see URLs):
//
//   - REST: spot /api/v3/… (exchangeInfo, bookTicker, time, account, account/commission, order,
//     myTrades), wallet /sapi/v1/… (account/apiRestrictions, asset/transfer), cross margin /sapi/v1/margin/…
//     (order, myTrades, maxBorrowable, borrow-repay, next-hourly-interest-rate, interestHistory, account),
//     USDⓈ-M /fapi/v1|v2|v3/… (exchangeInfo, bookTicker, premiumIndex, fundingRate, fundingInfo,
//     leverageBracket, commissionRate, accountConfig, symbolConfig, positionSide/dual, marginType, leverage,
//     account, balance, positionRisk, order, userTrades, income, listenKey). Endpoints lists them.
//   - Websockets: spot /ws/<stream> and /stream?streams= (bookTicker), the spot WebSocket API /ws-api/v3
//     (userDataStream.subscribe.signature, events wrapped as {"subscriptionId":0,"event":…}), futures
//     /futures/public/… (bookTicker), /futures/market/… (markPrice@1s), /futures/private/ws?listenKey=
//     (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE). Streams on the wrong futures route are refused, as the 2026
//     route split does.
//
// Signed requests are checked like Binance does: the key (-2014/-2015), the HMAC-SHA256 signature over the
// query string and body (-1022), and the timestamp against recvWindow on the fake's clock (-1021;
// SetTimeOffset skews that clock). Exchange info, funding info and the initial marks come from the real
// samples in testdata/binance/api-samples (embedded gzipped copies; Options.SamplesDir overrides them).
//
// Cross margin (rest_margin.go): margin orders match against the spot book into the margin wallet, with
// sideEffectType (auto-borrow at placement, -3006 past max borrowable; auto-repay from each fill; the
// unused borrow of an unfilled remainder repaid, as autoRepayAtCancel); borrow/repay (interest first; -3006,
// -3015, -3041); max borrowable at 3x Cross Margin Classic from spot mids (SetBorrowLimit caps it); hourly
// interest at SetInterestRate rates (ON_BORROW when taken, PERIODIC each time ChargeInterest charges an hour:
// never by the wall clock); the margin account with marginLevel (999 without debt). The faults apply to the
// margin endpoints like any other (FaultPartial included on POST /sapi/v1/margin/order). No margin
// user-data stream is served: go-binance has none that works.
//
// The account has spot, futures and cross-margin wallets (SetBalance), one-way positions with entry
// prices (SetPosition or by trading), commission charged like Binance (spot fee in the asset received),
// wallet transfers, and funding settlements on demand (Settle → a FUNDING_FEE income row with a tranId,
// a /fapi/v1/fundingRate row, an ACCOUNT_UPDATE and a rolled nextFundingTime). Orders match against the
// one-level books set with SetBook (see matching.go for the rules).
//
// Faults, one-shot (Times) or persistent: latency, timeouts that hold the answer past the client's
// timeout (executed or not), dropped connections, 5xx, 429/418 with Retry-After, -1021, rejections with
// a given code, partial fills (InjectFault); websocket drops, silence and refusal per group (DropWS,
// SilenceWS, RefuseWS).
//
// The spot sample lists BTCUSDT, ETHUSDT and XVGUSDT only; point Options.SamplesDir at a directory with
// the same four files captured for more symbols to trade others on spot.
//
// Everything the Go API does is also available over HTTP under /_fake/ (see Server.control), so an
// end-to-end test can drive a fake that a separate carry process talks to; `carry dev fake-binance` is
// meant to call Start and print URLs.
package fakebinance
