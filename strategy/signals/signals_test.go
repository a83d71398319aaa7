package signals

import (
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var t0 = time.Date(2021, 2, 1, 0, 0, 0, 1_000_000, time.UTC)

func quote(venue exchange.Venue, bid, ask string, at time.Time) *exchange.Event {
	return &exchange.Event{Kind: exchange.EventQuote, Time: at, Venue: venue, Symbol: "BTCUSDT",
		Quote: exchange.Quote{Venue: venue, Symbol: "BTCUSDT", Bid: d(bid), Ask: d(ask), Time: at}}
}

func funding(rate string, at time.Time, interval int) *exchange.Event {
	return &exchange.Event{Kind: exchange.EventFunding, Time: at, Symbol: "BTCUSDT",
		Funding: exchange.FundingRate{Symbol: "BTCUSDT", Rate: d(rate), Time: at, IntervalHours: interval}}
}

func TestBasisAndTradable(t *testing.T) {
	b := NewBook([]string{"BTCUSDT"}, Params{SmoothingSettlements: 3, EstimateWeight: 0.5})
	s := b.Get("BTCUSDT")
	b.Apply(quote(exchange.Spot, "60000", "60002", t0))
	if s.Tradable() {
		t.Fatal("tradable without a perp quote or a known interval")
	}
	b.Apply(quote(exchange.Futures, "60060", "60062", t0))
	// mid spot 60001, mid perp 60061 → basis 60/60001
	if got, want := s.Basis(), 60.0/60001; math.Abs(got-want) > 1e-12 {
		t.Fatalf("basis %v, want %v", got, want)
	}
	if got, want := s.EntryBasis(false), (60060.0-60002)/60002; math.Abs(got-want) > 1e-12 {
		t.Fatalf("carry entry basis %v, want %v", got, want)
	}
	if s.Tradable() {
		t.Fatal("tradable before the funding interval is known")
	}
	b.Apply(funding("0.0001", t0, 8))
	if !s.Tradable() || s.SettlementsPerYear() != 1095 {
		t.Fatalf("after a settlement with an 8h interval: tradable=%v per-year=%v", s.Tradable(), s.SettlementsPerYear())
	}
	b.Apply(&exchange.Event{Kind: exchange.EventSuspend, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: t0})
	if s.Tradable() {
		t.Fatal("a suspended spot market must not be tradable")
	}
}

func TestIntervalFromSpacingAndEMA(t *testing.T) {
	b := NewBook([]string{"BTCUSDT"}, Params{SmoothingSettlements: 3, EstimateWeight: 0})
	s := b.Get("BTCUSDT")
	// No interval in the data: it is read from the spacing of settlements (4h here), never assumed.
	b.Apply(funding("0.0001", t0, 0))
	if s.IntervalHours != 0 {
		t.Fatalf("interval guessed from a single settlement: %d", s.IntervalHours)
	}
	b.Apply(funding("0.0003", t0.Add(4*time.Hour), 0))
	if s.IntervalHours != 4 {
		t.Fatalf("interval from spacing = %d, want 4", s.IntervalHours)
	}
	// EMA with N=3: alpha 0.5 → 0.0001, then 0.0002.
	if math.Abs(s.Smoothed-0.0002) > 1e-15 {
		t.Fatalf("smoothed %v, want 0.0002", s.Smoothed)
	}
	if want := t0.Add(4 * time.Hour).Truncate(time.Hour).Add(4 * time.Hour); !s.NextFunding.Equal(want) {
		t.Fatalf("next funding %s, want %s", s.NextFunding, want)
	}
	// A symbol that switches to 1h settlements (it hit the cap) is followed.
	b.Apply(funding("0.003", t0.Add(5*time.Hour), 1))
	if s.IntervalHours != 1 || s.SettlementsPerYear() != 8760 {
		t.Fatalf("interval after switch %d", s.IntervalHours)
	}
}

func TestExpectedRateBlendsAndClamps(t *testing.T) {
	b := NewBook([]string{"BTCUSDT"}, Params{SmoothingSettlements: 1, EstimateWeight: 0.25})
	s := b.Get("BTCUSDT")
	b.Apply(funding("0.0004", t0, 8))
	b.Apply(&exchange.Event{Kind: exchange.EventMark, Symbol: "BTCUSDT", Time: t0,
		Mark: exchange.Mark{Mark: d("60000"), EstimatedRate: d("0.0008"), NextFundingTime: t0.Add(8 * time.Hour)}})
	if got := s.ExpectedRate(b.Params()); math.Abs(got-(0.25*0.0008+0.75*0.0004)) > 1e-15 {
		t.Fatalf("expected rate %v", got)
	}
	b.SetFundingInfo(exchange.FundingInfo{Symbol: "BTCUSDT", IntervalHours: 8, Cap: d("0.0003"), Floor: d("-0.0003")})
	if got := s.ExpectedRate(b.Params()); got != 0.0003 {
		t.Fatalf("expected rate above the cap: %v", got)
	}
}

// A restarted bot seeds its signals from the settled history: the result is what seeing those settlements
// live would have given, and history it has already seen (or a second seeding) is not counted twice.
func TestSeedFromSettledHistory(t *testing.T) {
	rates := []string{"0.0001", "0.0003", "-0.0002", "0.0005"}
	var history []exchange.FundingRate
	live := NewBook([]string{"BTCUSDT"}, Params{SmoothingSettlements: 3, EstimateWeight: 0.5})
	for i, r := range rates {
		ev := funding(r, t0.Add(time.Duration(i)*8*time.Hour), 0)
		history = append(history, ev.Funding)
		live.Apply(ev)
	}
	seeded := NewBook([]string{"BTCUSDT"}, Params{SmoothingSettlements: 3, EstimateWeight: 0.5})
	if n := seeded.Seed("BTCUSDT", history); n != len(rates) {
		t.Fatalf("seeded %d settlements, want %d", n, len(rates))
	}
	if n := seeded.Seed("BTCUSDT", history); n != 0 {
		t.Fatalf("seeding again applied %d settlements, want none", n)
	}
	if n := seeded.Seed("ETHUSDT", history); n != 0 {
		t.Fatalf("a symbol outside the universe took %d settlements", n)
	}
	got, want := *seeded.Get("BTCUSDT"), *live.Get("BTCUSDT")
	if got.Smoothed != want.Smoothed || got.LastRate != want.LastRate || got.Settlements != want.Settlements ||
		got.IntervalHours != want.IntervalHours || !got.LastSettled.Equal(want.LastSettled) || !got.NextFunding.Equal(want.NextFunding) {
		t.Fatalf("seeded %+v\nlive   %+v", got, want)
	}
	if got.IntervalHours != 8 || got.Settlements != 4 || math.Abs(got.Smoothed-0.00025) > 1e-15 {
		t.Fatalf("seeded interval %d, settlements %d, smoothed %v; want 8, 4, 0.00025 (EMA, alpha 0.5: 0.0001, 0.0002, 0, 0.00025)", got.IntervalHours, got.Settlements, got.Smoothed)
	}
	// A live settlement after the seed continues the same series; an older row later in a seed is ignored.
	seeded.Apply(funding("0.0001", t0.Add(32*time.Hour), 0))
	if n := seeded.Seed("BTCUSDT", history[:2]); n != 0 || seeded.Get("BTCUSDT").Settlements != 5 {
		t.Fatalf("stale history applied after a live settlement (%d)", n)
	}
}

// The floats follow every new decimal, also when a replay passes the same decimal value again (a bar opening
// at the previous close, a mark repeating the index): each event's floats are its own numbers.
func TestFloatsFollowEveryEvent(t *testing.T) {
	b := NewBook([]string{"BTCUSDT"}, Params{SmoothingSettlements: 3, EstimateWeight: 0.5})
	s := b.Get("BTCUSDT")
	bid, ask := d("100"), d("101")
	mark := func(m, index, est decimal.Decimal) *exchange.Event {
		return &exchange.Event{Kind: exchange.EventMark, Time: t0, Venue: exchange.Futures, Symbol: "BTCUSDT",
			Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: m, Index: index, EstimatedRate: est, Time: t0}}
	}
	for i, c := range []struct {
		ev                                   *exchange.Event
		spotBid, spotAsk, mark, index, estim float64
	}{
		{&exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Quote: exchange.Quote{Bid: bid, Ask: ask}}, 100, 101, 0, 0, 0},
		{&exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Quote: exchange.Quote{Bid: bid, Ask: ask}}, 100, 101, 0, 0, 0},
		{quote(exchange.Spot, "102", "103", t0), 102, 103, 0, 0, 0},
		{&exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Symbol: "BTCUSDT", Quote: exchange.Quote{Bid: bid, Ask: ask}}, 100, 101, 0, 0, 0},
		{mark(d("99"), bid, d("0.0001")), 100, 101, 99, 100, 0.0001},
		{mark(d("98"), bid, d("0.0001")), 100, 101, 98, 100, 0.0001},
		{mark(d("97"), ask, d("-0.0002")), 100, 101, 97, 101, -0.0002},
		{mark(d("96"), decimal.Decimal{}, decimal.Zero), 100, 101, 96, 0, 0},
	} {
		b.Apply(c.ev)
		if s.SpotBid != c.spotBid || s.SpotAsk != c.spotAsk || s.Mark != c.mark || s.Index != c.index || s.EstimatedRate != c.estim {
			t.Fatalf("event %d: spot %v/%v mark %v index %v estimate %v, want %v/%v %v %v %v", i, s.SpotBid, s.SpotAsk,
				s.Mark, s.Index, s.EstimatedRate, c.spotBid, c.spotAsk, c.mark, c.index, c.estim)
		}
	}
}
