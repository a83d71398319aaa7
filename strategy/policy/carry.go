// Package policy turns signals into decisions: it prices the carry of each symbol net of every cost, ranks
// the universe, allocates capital, and decides entries, exits (persistent low carry, or an early basis
// profit), rotations, and when NOT to act because a settlement is about to charge or pay the position.
//
// All APRs here are fractions of the position's notional per year. The numbers are float64 screening
// values; the executor sizes and prices orders in decimal.
package policy

import (
	"math"
	"time"

	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/signals"
)

const hoursPerYear = 24 * 365

// Costs are the per-trade costs of a pair, as fractions.
type Costs struct {
	SpotFee      float64 // taker fee per spot trade
	PerpFee      float64 // taker fee per perp trade
	Slippage     float64 // per leg per trade, beyond the touch
	BorrowHourly float64 // hourly interest on borrowed base (reverse carry)
}

// RoundTrip is the cost of opening and closing both legs, excluding spreads (which the basis accounts for).
func (c Costs) RoundTrip() float64 { return 2*(c.SpotFee+c.PerpFee) + 4*c.Slippage }

// OneWay is the cost of one side (open or close) of both legs.
func (c Costs) OneWay() float64 { return c.SpotFee + c.PerpFee + 2*c.Slippage }

// Carry is the priced opportunity of one symbol in one direction.
type Carry struct {
	Symbol    string
	Direction pair.Direction
	// ExpectedRate is the rate per settlement the position earns (positive = earns), signed for the direction.
	ExpectedRate float64
	FundingAPR   float64 // ExpectedRate × settlements per year
	BorrowAPR    float64 // borrow interest per year (reverse)
	BasisGain    float64 // basis captured entering now and closing at zero basis, after crossing spreads
	BasisAPR     float64 // BasisGain over the holding horizon
	CostAPR      float64 // round-trip fees and slippage over the holding horizon
	NetAPR       float64 // FundingAPR − BorrowAPR + BasisAPR − CostAPR
	// BreakEven is how long funding takes to pay back round-trip costs net of the basis gain;
	// 0 when the basis alone pays them, Never when funding never does.
	BreakEven time.Duration
}

// Never is the break-even of a position whose funding does not cover its costs.
const Never = time.Duration(math.MaxInt64)

// Price evaluates entering s in direction dir now and holding it for holding.
func Price(s *signals.Symbol, dir pair.Direction, c Costs, p signals.Params, holding time.Duration) Carry {
	reverse := dir == pair.Reverse
	rate := s.ExpectedRate(p)
	if reverse {
		rate = -rate
	}
	out := Carry{Symbol: s.Name, Direction: dir, ExpectedRate: rate}
	out.FundingAPR = rate * s.SettlementsPerYear()
	if reverse {
		out.BorrowAPR = c.BorrowHourly * hoursPerYear
	}
	// Carry: sell perp at bid, buy spot at ask, and later close at (expected) zero basis crossing the
	// spreads again. Reverse: the mirror image.
	entry := s.EntryBasis(reverse)
	if reverse {
		entry = -entry
	}
	out.BasisGain = entry - halfSpreads(s)
	years := holding.Hours() / hoursPerYear
	if years <= 0 {
		years = 1.0 / 12
	}
	out.BasisAPR = out.BasisGain / years
	out.CostAPR = c.RoundTrip() / years
	out.NetAPR = out.FundingAPR - out.BorrowAPR + out.BasisAPR - out.CostAPR

	toRecover := c.RoundTrip() - out.BasisGain
	perHour := (out.FundingAPR - out.BorrowAPR) / hoursPerYear
	switch {
	case toRecover <= 0:
		out.BreakEven = 0
	case perHour <= 0:
		out.BreakEven = Never
	default:
		h := toRecover / perHour
		if h > 1e6 {
			out.BreakEven = Never
		} else {
			out.BreakEven = time.Duration(h * float64(time.Hour))
		}
	}
	return out
}

// HeldAPR is what keeping a position earns per year from here on: funding minus borrow interest. Exit
// costs are not charged against holding; entry costs are sunk.
func HeldAPR(s *signals.Symbol, dir pair.Direction, c Costs, p signals.Params) float64 {
	rate := s.ExpectedRate(p)
	apr := rate * s.SettlementsPerYear()
	if dir == pair.Reverse {
		apr = -apr - c.BorrowHourly*hoursPerYear
	}
	return apr
}

// halfSpreads is what crossing both books costs relative to the mids, as a fraction.
func halfSpreads(s *signals.Symbol) float64 {
	var out float64
	if m := (s.SpotBid + s.SpotAsk) / 2; m > 0 {
		out += (s.SpotAsk - s.SpotBid) / 2 / m
	}
	if m := (s.PerpBid + s.PerpAsk) / 2; m > 0 {
		out += (s.PerpAsk - s.PerpBid) / 2 / m
	}
	return out
}
