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
// trade made by hand.
//
// Binance answers a trade list by time only within a window (futures: 7 days from startTime, and nothing
// older than 6 months; spot and margin: 24 hours when both ends are sent), so a listing from a pair opened
// weeks ago walks the windows forward from since. Spot and margin continue by trade id (no window) from the
// first window that holds a trade; futures walk by time to the end (see futuresTrades).
func (c *Client) Trades(ctx context.Context, venue exchange.Venue, symbol string, since time.Time) ([]exchange.Fill, error) {
	switch venue {
	case exchange.Futures:
		return c.futuresTrades(ctx, symbol, since)
	case exchange.Spot, exchange.Margin:
	default:
		return nil, fmt.Errorf("trades of %s: unknown venue %q", symbol, venue)
	}
	now := time.Now()
	var out []exchange.Fill // every window and page starts at or after since: nothing to filter
	var fromID int64
	for from, n := since, 0; fromID == 0; n++ {
		if !from.Before(now) {
			return out, nil // no trade since
		}
		if n == maxTradeWindows {
			return out, fmt.Errorf("trades of %s %s since %s: no trade in %d windows of %s", venue, symbol, since, maxTradeWindows, spotTradeWindow)
		}
		to := from.Add(spotTradeWindow)
		batch, next, err := c.tradesPage(ctx, venue, symbol, from, to.Add(-time.Millisecond), 0)
		if err != nil {
			return out, err
		}
		out = append(out, batch...)
		if len(batch) > 0 {
			fromID = next
		}
		from = to
	}
	for range maxTradePages {
		batch, next, err := c.tradesPage(ctx, venue, symbol, time.Time{}, time.Time{}, fromID)
		if err != nil {
			return out, err
		}
		out = append(out, batch...)
		if len(batch) < tradesPage {
			return out, nil
		}
		fromID = next
	}
	return out, fmt.Errorf("trades of %s %s since %s: more than %d pages", venue, symbol, since, maxTradePages)
}

// futuresTrades lists USDⓈ-M trades from since by time alone, 7-day window after window, a full page
// continuing from its last trade's millisecond (trades seen twice are dropped): go-binance (v2.8.12) sends
// userTrades' fromId as "fromID", which Binance does not read, so these trades cannot be paged by id.
func (c *Client) futuresTrades(ctx context.Context, symbol string, since time.Time) ([]exchange.Fill, error) {
	now := time.Now()
	from := since
	if oldest := now.Add(-futuresTradeHistory); oldest.After(from) {
		from = oldest // Binance keeps six months
	}
	seen := map[string]bool{}
	var out []exchange.Fill
	for n := 0; from.Before(now); n++ {
		if n == maxTradeWindows+maxTradePages {
			return out, fmt.Errorf("futures trades of %s since %s: more than %d requests", symbol, since, n)
		}
		to := from.Add(futuresTradeWindow)
		batch, err := c.futuresPage(ctx, symbol, from, to.Add(-time.Millisecond))
		if err != nil {
			return out, err
		}
		for _, f := range batch {
			if !seen[f.TradeID] {
				seen[f.TradeID] = true
				out = append(out, f)
			}
		}
		if len(batch) < tradesPage {
			from = to
			continue
		}
		last := batch[len(batch)-1].Time
		if !last.After(from) {
			return out, fmt.Errorf("futures trades of %s: more than %d in the millisecond %s", symbol, tradesPage, last)
		}
		from = last
	}
	return out, nil
}

// The windows of Binance's trade lists by time, and how far back futures userTrades reaches.
const (
	futuresTradeWindow  = 7 * 24 * time.Hour
	spotTradeWindow     = 24 * time.Hour
	futuresTradeHistory = 180 * 24 * time.Hour
	maxTradeWindows     = 400 // a year of spot windows
)

// futuresPage reads one page of USDⓈ-M trades of symbol between since and until, by time only (go-binance
// sends userTrades' fromId as "fromID", which Binance does not read: futures trades are never paged by id).
func (c *Client) futuresPage(ctx context.Context, symbol string, since, until time.Time) ([]exchange.Fill, error) {
	var p nums
	var trades []*futures.AccountTrade
	err := c.do(ctx, "futures trades of "+symbol, true, func(ctx context.Context, a *apis) error {
		var err error
		trades, err = a.fut.NewListAccountTradeService().Symbol(symbol).Limit(tradesPage).StartTime(since.UnixMilli()).
			EndTime(until.UnixMilli()).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return nil, err
	}
	var fills []exchange.Fill
	for _, t := range trades {
		if t != nil {
			fills = append(fills, futuresFill(&p, symbol, "", t))
		}
	}
	return fills, p.err
}

// tradesPage reads one page of a spot or margin venue's trades of symbol: from trade fromID on, or when
// fromID is 0 from since (to until, when set). next is the trade id the following page starts at.
func (c *Client) tradesPage(ctx context.Context, venue exchange.Venue, symbol string, since, until time.Time, fromID int64) (fills []exchange.Fill, next int64, err error) {
	var p nums
	next = fromID
	var trades []*binance.TradeV3
	err = c.do(ctx, string(venue)+" trades of "+symbol, true, func(ctx context.Context, a *apis) error {
		var err error
		if venue == exchange.Margin {
			trades, err = pageFrom(a.spot.NewListMarginTradesService().Symbol(symbol).Limit(tradesPage), fromID, since, until).
				Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		} else {
			trades, err = pageFrom(a.spot.NewListTradesService().Symbol(symbol).Limit(tradesPage), fromID, since, until).
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
	if err != nil {
		return nil, fromID, err
	}
	return fills, next, p.err
}
