// Package baseline computes the static-hedge baseline of a backtest: one carry pair of constant quantity,
// opened at the first moment both markets quote and held to the end, on the same replayed data as the
// strategy. At the end it is valued, like the strategy's open pairs, without exit costs (closing it there,
// and not them, made the two books' last figures incomparable): spot at the mid, the perp at its mid (the
// strategy's perp at the mark: the replayed price, which the mid is within a tick of).
//
// The baseline is the textbook benchmark, not a second simulation of the venue: its futures margin is
// assumed to be topped up whenever needed, so it is never liquidated and never deleveraged (a real static
// hedge through the 2020-21 rally would have needed its spot gains moved to futures margin, which changes
// the quantity). What it earns is therefore exactly
//
//	funding  = Σ over settlements of −(−qty) × mark × rate        (the replay's mark rule)
//	fees     = the entry (spot buy grossed up for the base fee, perp sell)
//	basis    = qty × (spot move) + qty × (perp entry − perp mid)  (the entry at the touch, with the replay's spreads)
//
// so its funding can be checked by hand against the CSV files. The entry is two taker orders at the touch,
// with the same fee rates as the strategy.
package baseline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/report"
)

// Source is the replayed market data.
type Source interface {
	Next(ctx context.Context) (exchange.Event, error)
}

// Config is what the baseline holds.
type Config struct {
	Symbol   string
	Base     string
	Quote    string
	Capital  decimal.Decimal // the book's capital: the denominator of its returns
	Deploy   decimal.Decimal // capital committed to the pair (spot notional = Deploy·L/(L+1))
	Leverage int
	Spot     exchange.Instrument
	Perp     exchange.Instrument
	SpotFee  decimal.Decimal // taker, charged in base on the spot buy
	PerpFee  decimal.Decimal // taker
	Every    time.Duration   // sampling interval (default 1h)
}

// Result is the baseline's book and its totals.
type Result struct {
	Book    report.Book
	Qty     decimal.Decimal // the pair's quantity (perp; the spot buy was grossed up)
	Funding decimal.Decimal
	Fees    decimal.Decimal
	Opened  time.Time
}

// Run replays src and accounts the static hedge.
func Run(ctx context.Context, src Source, c Config) (Result, error) {
	if c.Every <= 0 {
		c.Every = time.Hour
	}
	res := Result{Book: report.Book{Name: "static hedge " + c.Symbol + " (margin always sufficient)", Capital: c.Capital}}
	var spot, perp exchange.Quote // the last valid quotes (kept through a data gap or the end of the data)
	var haveSpot, havePerp, open bool
	// cash is the quote asset not in the legs; spotHeld the base held (net of the base fee); perpEntry the
	// short's entry price. Equity = cash + funding + spotHeld·spot mid + qty·(perpEntry − perp mid).
	cash := c.Capital
	var spotHeld, perpEntry, lastRate decimal.Decimal
	var rateHours int
	var next, lastTime time.Time
	// The legs are valued at the quotes of one moment: while either market is in a data gap, at those of the
	// last sample both traded, or of the opening when no sample has seen both trade since (one leg at a stale
	// price and the other at a live one would invent a basis PnL that the end of the gap takes back).
	var valSpot, valPerp exchange.Quote
	sample := func(at time.Time) {
		s := report.Sample{Time: at, Funding: res.Funding, Fees: res.Fees, Symbol: c.Symbol, Basis: report.NaN, FundingRate: report.NaN}
		s.Equity = cash.Add(res.Funding)
		if haveSpot && havePerp {
			valSpot, valPerp = spot, perp
		}
		if open {
			s.Equity = s.Equity.Add(spotHeld.Mul(valSpot.Mid())).Add(res.Qty.Mul(perpEntry.Sub(valPerp.Mid())))
			s.Notional = spotHeld.Mul(valSpot.Mid())
		}
		if haveSpot && havePerp {
			s.Basis = perp.Mid().Sub(spot.Mid()).Div(spot.Mid()).InexactFloat64()
		}
		if rateHours > 0 {
			s.FundingRate, s.FundingHours = lastRate.InexactFloat64(), rateHours
		}
		s.Equity, s.Funding, s.Fees, s.Notional = s.Equity.Round(8), s.Funding.Round(8), s.Fees.Round(8), s.Notional.Round(8)
		s.BasisPnL = s.Equity.Sub(c.Capital).Sub(s.Funding).Add(s.Fees)
		res.Book.Samples = append(res.Book.Samples, s)
	}
	for {
		ev, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("baseline: %w", err)
		}
		if ev.Symbol != c.Symbol {
			continue
		}
		if !next.IsZero() && !ev.Time.Before(next) {
			sample(next)
		}
		if !ev.Time.Before(next) {
			next = ev.Time.Truncate(c.Every).Add(c.Every)
		}
		lastTime = ev.Time
		switch ev.Kind {
		case exchange.EventQuote:
			if ev.Venue == exchange.Futures {
				perp, havePerp = ev.Quote, ev.Quote.Valid()
			} else {
				spot, haveSpot = ev.Quote, ev.Quote.Valid()
			}
		case exchange.EventSuspend:
			if ev.Venue == exchange.Futures {
				havePerp = false
			} else {
				haveSpot = false
			}
		case exchange.EventResume:
			// the next quote brings the market back
		case exchange.EventFunding:
			lastRate, rateHours = ev.Funding.Rate, ev.Funding.IntervalHours
			if open && ev.Funding.MarkPrice.IsPositive() {
				res.Funding = res.Funding.Add(exchange.FundingAmount(res.Qty.Neg(), ev.Funding.MarkPrice, ev.Funding.Rate))
			}
		}
		if !open && haveSpot && havePerp {
			l := decimal.NewFromInt(int64(max(c.Leverage, 1)))
			notional := c.Deploy.Mul(l).DivRound(l.Add(decimal.NewFromInt(1)), 8)
			qty, err := exchange.PairQuantity(notional.DivRound(spot.Ask, 12), c.Spot, c.Perp, spot.Ask)
			if err != nil {
				return res, fmt.Errorf("baseline: sizing the pair: %w", err)
			}
			buy := exchange.SpotBuyGrossUp(qty, c.SpotFee, c.Spot.StepSize)
			baseFee := buy.Mul(c.SpotFee)
			perpFee := qty.Mul(perp.Bid).Mul(c.PerpFee)
			spotHeld, perpEntry = buy.Sub(baseFee), perp.Bid
			cash = cash.Sub(buy.Mul(spot.Ask)).Sub(perpFee)
			res.Fees = baseFee.Mul(spot.Ask).Add(perpFee)
			res.Qty, res.Opened, open = qty, ev.Time, true
			valSpot, valPerp = spot, perp
			res.Book.Markers = append(res.Book.Markers, report.Marker{Time: ev.Time, Kind: report.MarkOpen, Symbol: c.Symbol,
				Direction: "carry", Amount: qty.Mul(spot.Ask), Reason: "static hedge opened"})
		}
	}
	if !lastTime.IsZero() {
		sample(lastTime)
	}
	return res, nil
}
