// Package exchangetest is test support: the instruments and decimal literals that the tests of several
// packages (strategy, strategy/executor) share. Only tests import it. It holds no state: every call returns a
// fresh value, so a test may change what it gets.
//
// Package exchange's own tests cannot use it (exchangetest imports exchange); they keep their own.
package exchangetest

import (
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// D parses a decimal literal and panics on a malformed one (a typo in a test).
func D(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// BTCSpot is BTCUSDT on spot with Binance's filters: tick 0.01, lot step and minimum 0.00001, maximum 9000,
// minimum notional 5 (applied to market orders too).
func BTCSpot() exchange.Instrument {
	return exchange.Instrument{Venue: exchange.Spot, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true,
		TickSize: D("0.01"), StepSize: D("0.00001"), MinQty: D("0.00001"), MaxQty: D("9000"), MinNotional: D("5"), MinNotionalMarket: true}
}

// BTCPerp is the BTCUSDT USDⓈ-M perpetual with Binance's filters: tick 0.1, lot step and minimum 0.001,
// maximum 1000, minimum notional 100; no separate market-lot filter.
func BTCPerp() exchange.Instrument {
	return exchange.Instrument{Venue: exchange.Futures, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true,
		TickSize: D("0.1"), StepSize: D("0.001"), MinQty: D("0.001"), MaxQty: D("1000"), MinNotional: D("100")}
}
