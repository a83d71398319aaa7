package risk

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// Market is what risk needs about one symbol: both legs' filters and the perpetual's leverage brackets.
// It changes rarely (exchange info and brackets are refreshed at start-up and now and then).
type Market struct {
	Spot     exchange.Instrument // the spot leg (carry) or the margin leg (reverse)
	Perp     exchange.Instrument // the USDⓈ-M perpetual
	Brackets []exchange.Bracket  // the perpetual's leverage brackets (exchange.DefaultBrackets in paper mode)
	// SpotFeeInBase is the spot rate charged in the base asset on buys (the taker rate), zero when fees
	// are paid in BNB. Spot buys of corrective and repay orders are grossed up by it.
	SpotFeeInBase decimal.Decimal
}

// CoarserStep is the lot step both legs' market orders respect: a pair quantity is a multiple of it.
func (m Market) CoarserStep() decimal.Decimal {
	return exchange.CoarserStep(m.Spot.OrderStep(exchange.Market), m.Perp.OrderStep(exchange.Market))
}

// Input is the account as risk sees it at one moment. It must be the CURRENT account: the wallet after
// every funding settlement, fee and transfer (funding paid out of margin moves the liquidation price), the
// positions as the venue holds them and their latest marks. Refresh it on every account event.
type Input struct {
	Time  time.Time
	State State // the account's trading state (corrective orders only shrink unless active)
	// Wallet is the futures cross wallet balance in the quote asset (WB of the cross positions), after funding.
	Wallet decimal.Decimal
	// SpotQuoteFree is the free quote asset of the spot wallet: the source of margin top-ups.
	SpotQuoteFree decimal.Decimal
	// Positions are the USDⓈ-M positions (one-way mode) with MarkPrice set. Zero quantities are ignored.
	Positions []exchange.Position
	// Pairs are the account's live pairs; a position is matched to the pair of its symbol.
	Pairs []pair.Pair
	// Markets holds every symbol of Positions and Pairs.
	Markets map[string]Market
	// CrossMargin is the cross-margin account of reverse-carry pairs; nil when there is none.
	CrossMargin *CrossMargin
}

// pairOf returns the live pair on symbol.
func (in *Input) pairOf(symbol string) (pair.Pair, bool) {
	for _, p := range in.Pairs {
		if p.Symbol == symbol && p.State != pair.Closed {
			return p, true
		}
	}
	return pair.Pair{}, false
}

// markOf returns the mark of symbol's position, zero when there is none.
func (in *Input) markOf(symbol string) decimal.Decimal {
	for _, p := range in.Positions {
		if p.Symbol == symbol && p.MarkPrice.IsPositive() {
			return p.MarkPrice
		}
	}
	return decimal.Zero
}
