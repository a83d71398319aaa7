package binance

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/adshao/go-binance/v2/futures"

	"github.com/carry-trading/carry/exchange"
)

// FundingPayments returns FUNDING_FEE income with time ≥ since (all symbols when symbol is ""), oldest
// first. It pages by time (1000 rows per request); rows sharing the last timestamp of a page are fetched
// again and de-duplicated by tranId. Binance keeps three months of income.
func (c *Client) FundingPayments(ctx context.Context, symbol string, since time.Time) ([]exchange.FundingPayment, error) {
	const limit = 1000
	var out []exchange.FundingPayment
	seen := make(map[int64]bool)
	start := since.UnixMilli()
	end := time.Now().Add(time.Minute).UnixMilli()
	for {
		var rows []*futures.IncomeHistory
		err := c.do(ctx, "funding income "+symbol, true, func(ctx context.Context, a *apis) error {
			var err error
			rows, err = a.fut.NewGetIncomeHistoryService().Symbol(symbol).IncomeType("FUNDING_FEE").
				StartTime(start).EndTime(end).Limit(limit).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return nil, err
		}
		var p nums
		last, added := start, 0
		for _, r := range rows {
			if r == nil || r.IncomeType != "FUNDING_FEE" || seen[r.TranID] {
				continue
			}
			seen[r.TranID] = true
			added++
			last = max(last, r.Time)
			out = append(out, exchange.FundingPayment{TranID: strconv.FormatInt(r.TranID, 10), Symbol: r.Symbol,
				Amount: p.dec("income", r.Income), Asset: r.Asset, Time: msTime(r.Time)})
		}
		if p.err != nil {
			return nil, fmt.Errorf("funding income: %w", p.err)
		}
		if len(rows) < limit {
			break
		}
		if added == 0 { // a full page of one timestamp we have all seen: step past it
			last++
			c.log.Warn().Int64("time", last).Msg("binance: more than 1000 funding rows share one timestamp; stepping past it")
		}
		start = last
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}
