package binance

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"

	"github.com/carry-trading/carry/exchange"
)

// cache holds exchange info and funding info for InstrumentTTL.
type cache struct {
	mu         sync.Mutex
	spot       map[string]cachedInstrument
	fut        map[string]exchange.Instrument
	futAt      time.Time
	funding    map[string]exchange.FundingInfo
	fundingAt  time.Time
	futRefresh time.Time // last forced refresh for an unknown symbol
}

type cachedInstrument struct {
	in exchange.Instrument
	at time.Time
}

// Instrument returns a symbol's filters on a venue (cached for InstrumentTTL). exchange.ErrNotFound when
// Binance does not list it.
func (c *Client) Instrument(ctx context.Context, venue exchange.Venue, symbol string) (exchange.Instrument, error) {
	switch venue {
	case exchange.Spot:
		return c.spotInstrument(ctx, symbol)
	case exchange.Futures:
		return c.futuresInstrument(ctx, symbol)
	}
	return exchange.Instrument{}, fmt.Errorf("binance: instruments on venue %q are not supported", venue)
}

// Instruments lists every instrument of a venue (spot: the whole exchange, weight 20; futures: perpetuals).
func (c *Client) Instruments(ctx context.Context, venue exchange.Venue) ([]exchange.Instrument, error) {
	switch venue {
	case exchange.Spot:
		var out []exchange.Instrument
		err := c.do(ctx, "spot exchangeInfo", false, func(ctx context.Context, a *apis) error {
			info, err := a.spot.NewExchangeInfoService().Do(ctx)
			if err != nil {
				return err
			}
			out, err = spotInstruments(info.Symbols)
			return err
		})
		if err == nil {
			now := time.Now()
			c.cache.mu.Lock()
			if c.cache.spot == nil {
				c.cache.spot = make(map[string]cachedInstrument, len(out))
			}
			for _, in := range out {
				c.cache.spot[in.Symbol] = cachedInstrument{in: in, at: now}
			}
			c.cache.mu.Unlock()
		}
		return out, err
	case exchange.Futures:
		m, err := c.futuresInstruments(ctx, false)
		if err != nil {
			return nil, err
		}
		out := make([]exchange.Instrument, 0, len(m))
		for _, in := range m {
			out = append(out, in)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
		return out, nil
	}
	return nil, fmt.Errorf("binance: instruments on venue %q are not supported", venue)
}

func (c *Client) spotInstrument(ctx context.Context, symbol string) (exchange.Instrument, error) {
	c.cache.mu.Lock()
	ci, ok := c.cache.spot[symbol]
	c.cache.mu.Unlock()
	if ok && time.Since(ci.at) < c.cfg.InstrumentTTL {
		return ci.in, nil
	}
	var ins []exchange.Instrument
	op := "spot exchangeInfo " + symbol
	err := c.do(ctx, op, false, func(ctx context.Context, a *apis) error {
		info, err := a.spot.NewExchangeInfoService().Symbol(symbol).Do(ctx)
		if err != nil {
			return err
		}
		ins, err = spotInstruments(info.Symbols)
		return err
	})
	if apiCode(err) == codeBadSymbol {
		return exchange.Instrument{}, fmt.Errorf("%s: %w", op, exchange.ErrNotFound)
	}
	if err != nil {
		return exchange.Instrument{}, err
	}
	for _, in := range ins {
		if in.Symbol == symbol {
			c.cache.mu.Lock()
			if c.cache.spot == nil {
				c.cache.spot = make(map[string]cachedInstrument)
			}
			c.cache.spot[symbol] = cachedInstrument{in: in, at: time.Now()}
			c.cache.mu.Unlock()
			return in, nil
		}
	}
	return exchange.Instrument{}, fmt.Errorf("%s: %w", op, exchange.ErrNotFound)
}

func (c *Client) futuresInstrument(ctx context.Context, symbol string) (exchange.Instrument, error) {
	m, err := c.futuresInstruments(ctx, false)
	if err != nil {
		return exchange.Instrument{}, err
	}
	if in, ok := m[symbol]; ok {
		return in, nil
	}
	// A symbol listed since the last refresh: refresh at most once a minute.
	c.cache.mu.Lock()
	force := time.Since(c.cache.futRefresh) > time.Minute
	if force {
		c.cache.futRefresh = time.Now()
	}
	c.cache.mu.Unlock()
	if force {
		if m, err = c.futuresInstruments(ctx, true); err != nil {
			return exchange.Instrument{}, err
		}
		if in, ok := m[symbol]; ok {
			return in, nil
		}
	}
	return exchange.Instrument{}, fmt.Errorf("futures instrument %s: %w", symbol, exchange.ErrNotFound)
}

func (c *Client) futuresInstruments(ctx context.Context, force bool) (map[string]exchange.Instrument, error) {
	c.cache.mu.Lock()
	m, at := c.cache.fut, c.cache.futAt
	c.cache.mu.Unlock()
	if m != nil && !force && time.Since(at) < c.cfg.InstrumentTTL {
		return m, nil
	}
	var ins []exchange.Instrument
	var parseErr error
	err := c.do(ctx, "futures exchangeInfo", false, func(ctx context.Context, a *apis) error {
		info, err := a.fut.NewExchangeInfoService().Do(ctx)
		if err != nil {
			return err
		}
		ins, parseErr = futuresInstruments(info.Symbols)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if parseErr != nil {
		// One malformed symbol must not stop the others; it is simply missing (ErrNotFound) and logged.
		c.log.Error().Err(parseErr).Msg("binance: futures exchangeInfo has malformed symbols; they are left out")
	}
	m = make(map[string]exchange.Instrument, len(ins))
	for _, in := range ins {
		m[in.Symbol] = in
	}
	c.cache.mu.Lock()
	c.cache.fut, c.cache.futAt = m, time.Now()
	c.cache.mu.Unlock()
	return m, nil
}

// Quote returns the best bid and ask over REST.
func (c *Client) Quote(ctx context.Context, venue exchange.Venue, symbol string) (exchange.Quote, error) {
	q := exchange.Quote{Venue: venue, Symbol: symbol}
	var p nums
	switch venue {
	case exchange.Spot:
		err := c.do(ctx, "spot bookTicker "+symbol, false, func(ctx context.Context, a *apis) error {
			res, err := a.spot.NewListBookTickersService().Symbol(symbol).Do(ctx)
			if err != nil {
				return err
			}
			t, err := onlyTicker(res, symbol)
			if err != nil {
				return err
			}
			q.Bid, q.BidQty, q.Ask, q.AskQty = p.dec("bidPrice", t.BidPrice), p.dec("bidQty", t.BidQuantity), p.dec("askPrice", t.AskPrice), p.dec("askQty", t.AskQuantity)
			q.Time = time.Now().UTC()
			return p.err
		})
		return q, err
	case exchange.Futures:
		err := c.do(ctx, "futures bookTicker "+symbol, false, func(ctx context.Context, a *apis) error {
			res, err := a.fut.NewListBookTickersService().Symbol(symbol).Do(ctx)
			if err != nil {
				return err
			}
			var t *futures.BookTicker
			for _, r := range res {
				if r != nil && r.Symbol == symbol {
					t = r
				}
			}
			if t == nil {
				return fmt.Errorf("no ticker for %s in the answer", symbol)
			}
			q.Bid, q.BidQty, q.Ask, q.AskQty = p.dec("bidPrice", t.BidPrice), p.dec("bidQty", t.BidQuantity), p.dec("askPrice", t.AskPrice), p.dec("askQty", t.AskQuantity)
			q.Time = msTime(t.Time)
			if q.Time.IsZero() {
				q.Time = time.Now().UTC()
			}
			return p.err
		})
		return q, err
	}
	return exchange.Quote{}, fmt.Errorf("binance: quotes on venue %q are not supported", venue)
}

func onlyTicker(res []*binance.BookTicker, symbol string) (*binance.BookTicker, error) {
	for _, r := range res {
		if r != nil && r.Symbol == symbol {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no ticker for %s in the answer", symbol)
}

// Mark returns the perpetual's mark, index and running funding estimate (/fapi/v1/premiumIndex).
func (c *Client) Mark(ctx context.Context, symbol string) (exchange.Mark, error) {
	var m exchange.Mark
	err := c.do(ctx, "premiumIndex "+symbol, false, func(ctx context.Context, a *apis) error {
		res, err := a.fut.NewPremiumIndexService().Symbol(symbol).Do(ctx)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r != nil && r.Symbol == symbol {
				m, err = markFromPremium(r)
				return err
			}
		}
		return fmt.Errorf("no premium index for %s in the answer", symbol)
	})
	return m, err
}

// Marks returns the premium index of every perpetual (one request).
func (c *Client) Marks(ctx context.Context) ([]exchange.Mark, error) {
	var out []exchange.Mark
	err := c.do(ctx, "premiumIndex", false, func(ctx context.Context, a *apis) error {
		res, err := a.fut.NewPremiumIndexService().Do(ctx)
		if err != nil {
			return err
		}
		out = make([]exchange.Mark, 0, len(res))
		for _, r := range res {
			if r == nil {
				continue
			}
			m, err := markFromPremium(r)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// FundingInfo returns a symbol's funding interval and cap/floor. Symbols /fapi/v1/fundingInfo omits are on
// the defaults (8h, ±2%).
func (c *Client) FundingInfo(ctx context.Context, symbol string) (exchange.FundingInfo, error) {
	c.cache.mu.Lock()
	m, at := c.cache.funding, c.cache.fundingAt
	c.cache.mu.Unlock()
	if m == nil || time.Since(at) >= c.cfg.InstrumentTTL {
		var rows []exchange.FundingInfo
		err := c.do(ctx, "fundingInfo", false, func(ctx context.Context, a *apis) error {
			res, err := a.fut.NewFundingRateInfoService().Do(ctx)
			if err != nil {
				return err
			}
			rows, err = fundingInfos(res)
			return err
		})
		if err != nil {
			return exchange.FundingInfo{}, err
		}
		m = make(map[string]exchange.FundingInfo, len(rows))
		for _, r := range rows {
			m[r.Symbol] = r
		}
		c.cache.mu.Lock()
		c.cache.funding, c.cache.fundingAt = m, time.Now()
		c.cache.mu.Unlock()
	}
	if fi, ok := m[symbol]; ok {
		return fi, nil
	}
	return DefaultFundingInfo(symbol), nil
}

// FundingRates returns settlements with from ≤ time < to, oldest first, paging 1000 rows per request.
func (c *Client) FundingRates(ctx context.Context, symbol string, from, to time.Time) ([]exchange.FundingRate, error) {
	const page = 1000
	var out []exchange.FundingRate
	start := from.UnixMilli()
	end := to.UnixMilli() - 1
	for start <= end {
		var rows []*futures.FundingRate
		err := c.do(ctx, "fundingRate "+symbol, false, func(ctx context.Context, a *apis) error {
			var err error
			rows, err = a.fut.NewFundingRateService().Symbol(symbol).StartTime(start).EndTime(end).Limit(page).Do(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		conv, err := fundingRates(rows)
		if err != nil {
			return nil, err
		}
		last := start
		for _, r := range conv {
			ms := r.Time.UnixMilli()
			if ms >= start && ms <= end && (len(out) == 0 || r.Time.After(out[len(out)-1].Time)) {
				out = append(out, r)
			}
			last = max(last, ms)
		}
		if len(rows) < page {
			break
		}
		start = last + 1
	}
	if n := len(out); n > 1 { // re-infer intervals across page boundaries
		for i := 1; i < n; i++ {
			out[i].IntervalHours = wholeHours(out[i].Time.Sub(out[i-1].Time))
		}
		out[0].IntervalHours = out[1].IntervalHours
	}
	return out, nil
}
