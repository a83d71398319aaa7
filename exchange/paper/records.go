package paper

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Journal payloads. They have their own JSON names so a renamed field in package exchange cannot silently
// change what an old journal means. Decimals are JSON strings (shopspring's default), never floats.

// amountRec is an amount of one asset in one wallet.
type amountRec struct {
	Venue  exchange.Venue  `json:"venue"`
	Asset  string          `json:"asset"`
	Amount decimal.Decimal `json:"amount"`
}

// depositRec funds the account (the first entry of a journal).
type depositRec struct {
	Balances []amountRec `json:"balances"`
}

// fillRec is one execution.
type fillRec struct {
	TradeID     string          `json:"trade_id"`
	Side        exchange.Side   `json:"side"`
	Qty         decimal.Decimal `json:"qty"`
	Price       decimal.Decimal `json:"price"`
	Fee         decimal.Decimal `json:"fee"`
	FeeAsset    string          `json:"fee_asset"`
	RealizedPnL decimal.Decimal `json:"realized_pnl"`
	Maker       bool            `json:"maker"`
	Time        time.Time       `json:"time"`
}

// orderRec is a new order as the venue accepted it, with the fills it executed at once.
type orderRec struct {
	ClientID     string               `json:"client_id"`
	VenueOrderID string               `json:"venue_order_id"`
	Venue        exchange.Venue       `json:"venue"`
	Symbol       string               `json:"symbol"`
	Base         string               `json:"base"`
	QuoteAsset   string               `json:"quote"`
	Side         exchange.Side        `json:"side"`
	Type         exchange.OrderType   `json:"type"`
	Status       exchange.OrderStatus `json:"status"`
	Qty          decimal.Decimal      `json:"qty"`
	Price        decimal.Decimal      `json:"price"`
	ReduceOnly   bool                 `json:"reduce_only,omitempty"`
	Leverage     int                  `json:"leverage,omitempty"` // futures: at placement
	Time         time.Time            `json:"time"`
	Fills        []fillRec            `json:"fills"`
}

// makerFillRec is a later fill of a resting LIMIT_MAKER order.
type makerFillRec struct {
	Venue    exchange.Venue       `json:"venue"`
	ClientID string               `json:"client_id"`
	Status   exchange.OrderStatus `json:"status"`
	Fills    []fillRec            `json:"fills"`
}

// cancelRec cancels a resting order.
type cancelRec struct {
	Venue    exchange.Venue `json:"venue"`
	ClientID string         `json:"client_id"`
	Time     time.Time      `json:"time"`
}

// fundingRec is one settlement paid to or by the symbol's position.
type fundingRec struct {
	TranID   string          `json:"tran_id"`
	Symbol   string          `json:"symbol"`
	Rate     decimal.Decimal `json:"rate"`
	Mark     decimal.Decimal `json:"mark"`
	Qty      decimal.Decimal `json:"qty"`
	Amount   decimal.Decimal `json:"amount"`
	Isolated bool            `json:"isolated,omitempty"`
	Time     time.Time       `json:"time"`
}

// transferRec moves an asset between wallets.
type transferRec struct {
	TranID string                `json:"tran_id"`
	Kind   exchange.TransferKind `json:"kind"`
	Asset  string                `json:"asset"`
	Amount decimal.Decimal       `json:"amount"`
	Time   time.Time             `json:"time"`
}

// setupRec sets a symbol's leverage and margin type.
type setupRec struct {
	Symbol   string `json:"symbol"`
	Leverage int    `json:"leverage"`
	Isolated bool   `json:"isolated"`
}

// liquidationRec is a forced close of one position at the mark.
type liquidationRec struct {
	Symbol       string          `json:"symbol"`
	ClientID     string          `json:"client_id"`
	VenueOrderID string          `json:"venue_order_id"`
	Isolated     bool            `json:"isolated,omitempty"`
	Mark         decimal.Decimal `json:"mark"`
	Trigger      decimal.Decimal `json:"trigger"` // the liquidation price crossed (zero for a cross margin-ratio breach)
	Fill         fillRec         `json:"fill"`
	// Insurance is what Binance's insurance fund absorbs when the mark gapped through the bankruptcy price:
	// the wallet never goes below zero.
	Insurance decimal.Decimal `json:"insurance"`
	Time      time.Time       `json:"time"`
}

func (f fillRec) fill(o *exchange.Order) exchange.Fill {
	return exchange.Fill{Venue: o.Venue, Symbol: o.Symbol, TradeID: f.TradeID, ClientID: o.ClientID, VenueOrderID: o.VenueOrderID,
		Side: f.Side, Qty: f.Qty, Price: f.Price, Fee: f.Fee, FeeAsset: f.FeeAsset, RealizedPnL: f.RealizedPnL, Maker: f.Maker, Time: f.Time}
}
