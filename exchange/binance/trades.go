package binance

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"

	"github.com/carry-trading/carry/exchange"
)

// tradesPage is how many trades one request returns; later pages continue by trade id.
const tradesPage = 1000

// Trades lists the account's trades of symbol on venue from since on (spot and margin myTrades, futures
// userTrades), including trades carry did not place: a liquidation (autoclose-…), an auto-deleverage, a
// trade made by hand. Paged by trade id, at most 20 pages.
func (c *Client) Trades(ctx context.Context, venue exchange.Venue, symbol string, since time.Time) ([]exchange.Fill, error) {
	var out []exchange.Fill
	var fromID int64
	for page := 0; page < 20; page++ {
		var batch []exchange.Fill
		var err error
		switch venue {
		case exchange.Futures:
			batch, err = c.futuresTradesPage(ctx, symbol, since, fromID)
		case exchange.Spot, exchange.Margin:
			batch, err = c.spotTradesPage(ctx, venue, symbol, since, fromID)
		default:
			return nil, fmt.Errorf("trades of %s: unknown venue %q", symbol, venue)
		}
		if err != nil {
			return out, err
		}
		for _, f := range batch {
			id, _ := strconv.ParseInt(f.TradeID, 10, 64)
			fromID = max(fromID, id+1)
			if !f.Time.Before(since) {
				out = append(out, f)
			}
		}
		if len(batch) < tradesPage {
			return out, nil
		}
	}
	return out, fmt.Errorf("trades of %s %s since %s: more than %d pages", venue, symbol, since, 20)
}

func (c *Client) futuresTradesPage(ctx context.Context, symbol string, since time.Time, fromID int64) ([]exchange.Fill, error) {
	var trades []*futures.AccountTrade
	err := c.do(ctx, "futures trades of "+symbol, true, func(ctx context.Context, a *apis) error {
		svc := a.fut.NewListAccountTradeService().Symbol(symbol).Limit(tradesPage)
		if fromID > 0 {
			svc.FromID(fromID)
		} else {
			svc.StartTime(since.UnixMilli())
		}
		var err error
		trades, err = svc.Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return nil, err
	}
	var p nums
	out := make([]exchange.Fill, 0, len(trades))
	for _, t := range trades {
		if t == nil {
			continue
		}
		out = append(out, exchange.Fill{Venue: exchange.Futures, Symbol: symbol, TradeID: strconv.FormatInt(t.ID, 10),
			VenueOrderID: strconv.FormatInt(t.OrderID, 10), Side: exchange.Side(t.Side), Qty: p.dec("qty", t.Quantity), Price: p.dec("price", t.Price),
			Fee: p.dec("commission", t.Commission), FeeAsset: t.CommissionAsset, RealizedPnL: p.dec("realizedPnl", t.RealizedPnl), Maker: t.Maker,
			Time: msTime(t.Time)})
	}
	return out, p.err
}

func (c *Client) spotTradesPage(ctx context.Context, venue exchange.Venue, symbol string, since time.Time, fromID int64) ([]exchange.Fill, error) {
	var trades []*binance.TradeV3
	err := c.do(ctx, string(venue)+" trades of "+symbol, true, func(ctx context.Context, a *apis) error {
		var err error
		if venue == exchange.Margin {
			svc := a.spot.NewListMarginTradesService().Symbol(symbol).Limit(tradesPage)
			if fromID > 0 {
				svc.FromID(fromID)
			} else {
				svc.StartTime(since.UnixMilli())
			}
			trades, err = svc.Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			return err
		}
		svc := a.spot.NewListTradesService().Symbol(symbol).Limit(tradesPage)
		if fromID > 0 {
			svc.FromID(fromID)
		} else {
			svc.StartTime(since.UnixMilli())
		}
		trades, err = svc.Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return nil, err
	}
	var p nums
	out := make([]exchange.Fill, 0, len(trades))
	for _, t := range trades {
		if t == nil {
			continue
		}
		side := exchange.Sell
		if t.IsBuyer {
			side = exchange.Buy
		}
		out = append(out, exchange.Fill{Venue: venue, Symbol: symbol, TradeID: strconv.FormatInt(t.ID, 10), VenueOrderID: strconv.FormatInt(t.OrderID, 10),
			Side: side, Qty: p.dec("qty", t.Quantity), Price: p.dec("price", t.Price), Fee: p.dec("commission", t.Commission),
			FeeAsset: t.CommissionAsset, Maker: t.IsMaker, Time: msTime(t.Time)})
	}
	return out, p.err
}
