package binance

import (
	"context"
	"fmt"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"

	"github.com/carry-trading/carry/exchange"
)

// tradesPage is how many trades one request returns, and maxTradePages how many pages a listing reads;
// later pages continue by trade id.
const (
	tradesPage    = 1000
	maxTradePages = 20
)

// Trades lists the account's trades of symbol on venue from since on (spot and margin myTrades, futures
// userTrades), including trades carry did not place: a liquidation (autoclose-…), an auto-deleverage, a
// trade made by hand. Paged by trade id, at most maxTradePages pages.
func (c *Client) Trades(ctx context.Context, venue exchange.Venue, symbol string, since time.Time) ([]exchange.Fill, error) {
	if venue != exchange.Futures && venue != exchange.Spot && venue != exchange.Margin {
		return nil, fmt.Errorf("trades of %s: unknown venue %q", symbol, venue)
	}
	var out []exchange.Fill
	var fromID int64
	for range maxTradePages {
		batch, next, err := c.tradesPage(ctx, venue, symbol, since, fromID)
		if err != nil {
			return out, err
		}
		for _, f := range batch {
			if !f.Time.Before(since) {
				out = append(out, f)
			}
		}
		if len(batch) < tradesPage {
			return out, nil
		}
		fromID = next
	}
	return out, fmt.Errorf("trades of %s %s since %s: more than %d pages", venue, symbol, since, maxTradePages)
}

// tradesPage reads one page of a venue's trades of symbol: from since when fromID is 0, else from trade
// fromID on. next is the trade id the following page starts at.
func (c *Client) tradesPage(ctx context.Context, venue exchange.Venue, symbol string, since time.Time, fromID int64) (fills []exchange.Fill, next int64, err error) {
	var p nums
	next = fromID
	if venue == exchange.Futures {
		var trades []*futures.AccountTrade
		err = c.do(ctx, "futures trades of "+symbol, true, func(ctx context.Context, a *apis) error {
			var err error
			trades, err = pageFrom(a.fut.NewListAccountTradeService().Symbol(symbol).Limit(tradesPage), fromID, since.UnixMilli()).
				Do(ctx, futures.WithRecvWindow(c.recvWindow()))
			return err
		})
		for _, t := range trades {
			if t != nil {
				fills = append(fills, futuresFill(&p, symbol, "", t))
				next = max(next, t.ID+1)
			}
		}
	} else {
		var trades []*binance.TradeV3
		err = c.do(ctx, string(venue)+" trades of "+symbol, true, func(ctx context.Context, a *apis) error {
			var err error
			if venue == exchange.Margin {
				trades, err = pageFrom(a.spot.NewListMarginTradesService().Symbol(symbol).Limit(tradesPage), fromID, since.UnixMilli()).
					Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			} else {
				trades, err = pageFrom(a.spot.NewListTradesService().Symbol(symbol).Limit(tradesPage), fromID, since.UnixMilli()).
					Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			}
			return err
		})
		for _, t := range trades {
			if t != nil {
				fills = append(fills, spotFill(&p, venue, symbol, "", t))
				next = max(next, t.ID+1)
			}
		}
	}
	if err != nil {
		return nil, fromID, err
	}
	return fills, next, p.err
}
