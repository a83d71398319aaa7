package binance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Feed is the live market stream for the engine, with the replay feed's shape: Next returns one
// exchange.Event at a time. It carries
//
//   - EventQuote for the spot and the perpetual book ticker of every symbol,
//   - EventMark for the perpetual's mark price stream (@1s: mark, index, estimated rate, next funding time),
//   - EventFunding when a settlement passes (nextFundingTime rolled): the settled rate and mark from
//     /fapi/v1/fundingRate, or the last estimate and mark when Binance has not published it in time,
//   - EventSuspend for each market of a stream that dropped or went silent, and after the reconnect and a
//     REST resync EventResume followed by fresh quotes and marks.
//
// Quotes and marks are conflated: a slow consumer gets the latest value of each market, never a backlog,
// and nothing is allocated per event beyond what the decoding needs. Suspend, resume and funding events are
// never dropped. Everything stops when the context given to MarketFeed ends (or Close is called); Next then
// drains what is pending and returns io.EOF.
type Feed struct {
	c        *Client
	symbols  []string
	index    map[string]int // symbol → position; immutable
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	rollWake chan struct{}
	// settled: per symbol, the settlements of the last historyWindow read at start (oldest first);
	// written by snapshot only, before any goroutine starts, and read-only after.
	settled [][]exchange.FundingRate

	mu       sync.Mutex
	wake     chan struct{}
	queue    []exchange.Event
	qhead    int
	slots    []slot // per symbol i: 3i spot quote, 3i+1 futures quote, 3i+2 mark
	dirty    []int
	streamUp [numStreams]bool
	fund     []fundState
	rolls    []roll // settlements detected, resolved in order by the settlements goroutine
	closed   bool
}

const (
	streamSpotBook = iota
	streamFutBook
	streamMark
	numStreams
)

var streamNames = [numStreams]string{"spot bookTicker", "futures bookTicker", "futures markPrice@1s"}

type slot struct {
	ev      exchange.Event
	updated time.Time // local time of the last write
	dirty   bool
}

type fundState struct {
	next        time.Time       // nextFundingTime last seen
	est         decimal.Decimal // estimate last seen
	mark        decimal.Decimal // mark last seen
	lastSettled time.Time       // time of the last settlement reported (or known)
	interval    int             // hours, from fundingInfo
}

type roll struct {
	i         int
	prev      time.Time
	est, mark decimal.Decimal
}

// MarketFeed starts the market streams for symbols (each must trade on spot and as a USDⓈ-M perpetual).
// It reads an initial REST snapshot first, so the first events are current quotes and marks; an error
// there is returned and nothing is left running.
func (c *Client) MarketFeed(ctx context.Context, symbols []string) (*Feed, error) {
	if len(symbols) == 0 {
		return nil, errors.New("binance market feed: no symbols")
	}
	f := &Feed{c: c, index: make(map[string]int, len(symbols)), wake: make(chan struct{}, 1), rollWake: make(chan struct{}, 1)}
	for _, s := range symbols {
		s = strings.ToUpper(strings.TrimSpace(s))
		if _, dup := f.index[s]; dup || s == "" {
			continue
		}
		f.index[s] = len(f.symbols)
		f.symbols = append(f.symbols, s)
	}
	f.slots = make([]slot, 3*len(f.symbols))
	f.fund = make([]fundState, len(f.symbols))
	f.settled = make([][]exchange.FundingRate, len(f.symbols))
	for i := range f.streamUp {
		f.streamUp[i] = true
	}
	if err := f.snapshot(ctx); err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	specs := []streamSpec{
		{name: streamNames[streamSpotBook], start: f.startSpotBook},
		{name: streamNames[streamFutBook], start: f.startFutBook},
		{name: streamNames[streamMark], start: f.startMark},
	}
	for i := range specs {
		s := i
		specs[i].silence = c.cfg.WSSilence
		specs[i].up = func(ctx context.Context, gap bool) { f.streamUpAgain(ctx, s, gap) }
		specs[i].down = func(reason string) { f.streamDown(s, reason) }
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			c.supervise(fctx, specs[s])
		}()
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.settlements(fctx)
	}()
	go func() {
		f.wg.Wait()
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		f.signal()
	}()
	return f, nil
}

// Symbols returns the feed's symbols.
func (f *Feed) Symbols() []string { return append([]string(nil), f.symbols...) }

// Close stops the streams and waits for every goroutine of the feed to end.
func (f *Feed) Close() {
	f.cancel()
	f.wg.Wait()
}

// Next returns the next event: pending suspend/resume/funding events first, then the latest quote or mark
// of each market that changed. It blocks until there is one, ctx ends (ctx.Err()), or the feed has stopped
// and everything pending was returned (io.EOF).
func (f *Feed) Next(ctx context.Context) (exchange.Event, error) {
	for {
		f.mu.Lock()
		if f.qhead < len(f.queue) {
			ev := f.queue[f.qhead]
			f.queue[f.qhead] = exchange.Event{}
			f.qhead++
			if f.qhead == len(f.queue) {
				f.queue, f.qhead = f.queue[:0], 0
			}
			f.mu.Unlock()
			return ev, nil
		}
		for len(f.dirty) > 0 {
			i := f.dirty[0]
			f.dirty = f.dirty[1:]
			if len(f.dirty) == 0 {
				f.dirty = f.dirty[:0:cap(f.dirty)]
			}
			if s := &f.slots[i]; s.dirty {
				s.dirty = false
				ev := s.ev
				f.mu.Unlock()
				return ev, nil
			}
		}
		closed := f.closed
		f.mu.Unlock()
		if closed {
			return exchange.Event{}, io.EOF
		}
		select {
		case <-f.wake:
		case <-ctx.Done():
			return exchange.Event{}, ctx.Err()
		}
	}
}

func (f *Feed) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// setSlot stores the latest event of a market; it is delivered only while the market's streams are up.
// With notAfter set (a REST resync), it does not overwrite a newer websocket value.
func (f *Feed) setSlot(i int, ev exchange.Event, notAfter time.Time) {
	f.mu.Lock()
	s := &f.slots[i]
	if !notAfter.IsZero() && s.updated.After(notAfter) {
		f.mu.Unlock()
		return
	}
	s.ev, s.updated = ev, time.Now()
	if f.slotLive(i) && !s.dirty {
		s.dirty = true
		f.dirty = append(f.dirty, i)
	}
	f.mu.Unlock()
	f.signal()
}

// slotLive: the market of slot i has all its streams up. Caller holds mu.
func (f *Feed) slotLive(i int) bool {
	if i%3 == 0 {
		return f.streamUp[streamSpotBook]
	}
	return f.streamUp[streamFutBook] && f.streamUp[streamMark]
}

func (f *Feed) marketsUp() (spot, fut bool) {
	return f.streamUp[streamSpotBook], f.streamUp[streamFutBook] && f.streamUp[streamMark]
}

func (f *Feed) push(ev exchange.Event) { f.queue = append(f.queue, ev) }

// streamDown suspends the markets the stream feeds.
func (f *Feed) streamDown(stream int, reason string) {
	now := time.Now().UTC()
	f.mu.Lock()
	spotWas, futWas := f.marketsUp()
	f.streamUp[stream] = false
	spotNow, futNow := f.marketsUp()
	for i, sym := range f.symbols {
		if spotWas && !spotNow {
			f.push(exchange.Event{Kind: exchange.EventSuspend, Time: now, Venue: exchange.Spot, Symbol: sym})
			f.slots[3*i].dirty = false
		}
		if futWas && !futNow {
			f.push(exchange.Event{Kind: exchange.EventSuspend, Time: now, Venue: exchange.Futures, Symbol: sym})
			f.slots[3*i+1].dirty, f.slots[3*i+2].dirty = false, false
		}
	}
	f.mu.Unlock()
	f.c.log.Warn().Str("stream", streamNames[stream]).Str("reason", reason).Msg("binance feed: markets suspended until the stream is back")
	f.signal()
}

// streamUpAgain resyncs the stream's markets over REST after a gap, then resumes them.
func (f *Feed) streamUpAgain(ctx context.Context, stream int, gap bool) {
	if !gap {
		return
	}
	started := time.Now()
	failed := 0
	for i, sym := range f.symbols {
		switch stream {
		case streamSpotBook, streamFutBook:
			venue := exchange.Spot
			if stream == streamFutBook {
				venue = exchange.Futures
			}
			q, err := f.c.Quote(ctx, venue, sym)
			if err != nil {
				f.c.log.Warn().Err(err).Msg("binance feed: REST resync of a quote failed; the stream will bring it")
				failed++
				continue
			}
			f.setSlot(quoteSlot(i, venue), exchange.Event{Kind: exchange.EventQuote, Time: q.Time, Venue: venue, Symbol: sym, Quote: q}, started)
		case streamMark:
			m, err := f.c.Mark(ctx, sym)
			if err != nil {
				f.c.log.Warn().Err(err).Msg("binance feed: REST resync of a mark failed; the stream will bring it")
				failed++
				continue
			}
			f.onMark(i, m, started)
		}
	}
	if failed > 0 {
		f.c.streamTrouble(streamNames[stream], fmt.Sprintf("REST resync failed for %d of %d markets", failed, len(f.symbols)))
	}
	now := time.Now().UTC()
	f.mu.Lock()
	spotWas, futWas := f.marketsUp()
	f.streamUp[stream] = true
	spotNow, futNow := f.marketsUp()
	for i, sym := range f.symbols {
		if !spotWas && spotNow {
			f.push(exchange.Event{Kind: exchange.EventResume, Time: now, Venue: exchange.Spot, Symbol: sym})
			f.markDirty(3 * i)
		}
		if !futWas && futNow {
			f.push(exchange.Event{Kind: exchange.EventResume, Time: now, Venue: exchange.Futures, Symbol: sym})
			f.markDirty(3*i + 1)
			f.markDirty(3*i + 2)
		}
	}
	f.mu.Unlock()
	f.c.log.Info().Str("stream", streamNames[stream]).Msg("binance feed: stream back and resynced")
	f.signal()
}

// markDirty queues a slot that holds a value. Caller holds mu.
func (f *Feed) markDirty(i int) {
	s := &f.slots[i]
	if s.ev.Kind != exchange.EventNone && !s.dirty {
		s.dirty = true
		f.dirty = append(f.dirty, i)
	}
}

// quoteSlot is the slot of symbol i's quote on a venue (marks are at 3i+2).
func quoteSlot(i int, v exchange.Venue) int {
	if v == exchange.Futures {
		return 3*i + 1
	}
	return 3 * i
}

// HistoryWindow is how far back the settled funding history is read at start: 90 settlements at 8h, after
// which an EMA of the default span (9) keeps 2e-9 of where it began.
const HistoryWindow = 30 * 24 * time.Hour

// Settled returns the settlements of symbol in the 30 days before the feed started, oldest first, as
// /fapi/v1/fundingRate reported them (nil when it could not be read). A bot that restarts seeds its funding
// signals with them instead of starting from the running estimate alone.
func (f *Feed) Settled(symbol string) []exchange.FundingRate {
	i, ok := f.index[strings.ToUpper(symbol)]
	if !ok {
		return nil
	}
	return slices.Clone(f.settled[i])
}

// snapshot reads the initial quotes, marks and funding state over REST.
func (f *Feed) snapshot(ctx context.Context) error {
	now := time.Now()
	for i, sym := range f.symbols {
		for _, v := range []exchange.Venue{exchange.Spot, exchange.Futures} {
			q, err := f.c.Quote(ctx, v, sym)
			if err != nil {
				return fmt.Errorf("binance market feed: %w", err)
			}
			f.setSlot(quoteSlot(i, v), exchange.Event{Kind: exchange.EventQuote, Time: q.Time, Venue: v, Symbol: sym, Quote: q}, time.Time{})
		}
		m, err := f.c.Mark(ctx, sym)
		if err != nil {
			return fmt.Errorf("binance market feed: %w", err)
		}
		fi, err := f.c.FundingInfo(ctx, sym)
		if err != nil {
			f.c.log.Warn().Err(err).Msg("binance market feed: fundingInfo unavailable; assuming the 8h default")
			fi = DefaultFundingInfo(sym)
		}
		st := &f.fund[i]
		st.interval = fi.IntervalHours
		interval := time.Duration(fi.IntervalHours) * time.Hour
		// The last settlement already published, so the next roll is matched to the right row; the rows
		// before it are the history the signals start from (Settled). One request: at most 1000 rows, and
		// the window holds 720 at the shortest (1h) interval.
		rows, err := f.c.FundingRates(ctx, sym, now.Add(-HistoryWindow), now.Add(time.Minute))
		if err != nil {
			f.c.log.Warn().Err(err).Str("symbol", sym).Msg("binance market feed: funding history unavailable; signals start from the estimate alone")
		}
		if len(rows) > 0 {
			f.settled[i] = rows
			st.lastSettled = rows[len(rows)-1].Time
		} else if !m.NextFundingTime.IsZero() {
			st.lastSettled = m.NextFundingTime.Add(-interval + time.Minute)
		}
		f.onMark(i, m, time.Time{})
	}
	return nil
}

// onMark stores a mark and detects a settlement: nextFundingTime moved forward.
func (f *Feed) onMark(i int, m exchange.Mark, notAfter time.Time) {
	sym := f.symbols[i]
	f.mu.Lock()
	st := &f.fund[i]
	var r *roll
	if !st.next.IsZero() && m.NextFundingTime.After(st.next) {
		r = &roll{i: i, prev: st.next, est: st.est, mark: st.mark}
	}
	if !m.NextFundingTime.IsZero() {
		st.next = m.NextFundingTime
	}
	st.est, st.mark = m.EstimatedRate, m.Mark
	f.mu.Unlock()
	f.setSlot(3*i+2, exchange.Event{Kind: exchange.EventMark, Time: m.Time, Venue: exchange.Futures, Symbol: sym, Mark: m}, notAfter)
	if r != nil {
		f.mu.Lock()
		f.rolls = append(f.rolls, *r)
		f.mu.Unlock()
		select {
		case f.rollWake <- struct{}{}:
		default:
		}
	}
}

// settlements resolves each roll into an EventFunding, one at a time and in order.
func (f *Feed) settlements(ctx context.Context) {
	for {
		f.mu.Lock()
		var r roll
		have := len(f.rolls) > 0
		if have {
			r = f.rolls[0]
			f.rolls = f.rolls[1:]
		}
		f.mu.Unlock()
		if have {
			f.resolve(ctx, r)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-f.rollWake:
		}
	}
}

func (f *Feed) resolve(ctx context.Context, r roll) {
	sym := f.symbols[r.i]
	f.mu.Lock()
	after := f.fund[r.i].lastSettled
	interval := f.fund[r.i].interval
	f.mu.Unlock()
	ev := exchange.FundingRate{Symbol: sym, Rate: r.est, MarkPrice: r.mark, IntervalHours: interval, Time: r.prev}
	found := false
	for attempt := 0; attempt < f.c.cfg.FundingLookupAttempts && !found; attempt++ {
		if attempt > 0 && !sleepCtx(ctx, f.c.cfg.FundingLookupDelay) {
			return
		}
		rows, err := f.c.FundingRates(ctx, sym, after.Add(time.Millisecond), time.Now().Add(time.Minute))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			f.c.log.Warn().Err(err).Str("symbol", sym).Msg("binance feed: settled funding rate lookup failed")
			continue
		}
		for _, row := range rows {
			if row.Time.After(after) {
				ev.Rate, ev.Time = row.Rate, row.Time
				if row.MarkPrice.IsPositive() {
					ev.MarkPrice = row.MarkPrice
				}
				found = true
				break
			}
		}
	}
	settled := ev.Time
	if !found {
		f.c.log.Warn().Str("symbol", sym).Time("funding_time", r.prev).Str("estimate", r.est.String()).
			Msg("binance feed: settled rate not published yet; reporting the last estimate")
		settled = r.prev.Add(time.Minute) // skip the row for this settlement if it appears later
	}
	f.mu.Lock()
	f.fund[r.i].lastSettled = settled
	f.push(exchange.Event{Kind: exchange.EventFunding, Time: ev.Time, Venue: exchange.Futures, Symbol: sym, Funding: ev})
	f.mu.Unlock()
	f.signal()
}

// The stream starters: one combined connection per stream kind for all symbols.

func (f *Feed) startSpotBook(conn *wsConn) (chan struct{}, chan struct{}, error) {
	return binance.WsCombinedBookTickerServe(f.symbols, func(e *binance.WsBookTickerEvent) {
		conn.touch()
		if e != nil {
			f.onBook(exchange.Spot, e.Symbol, e.BestBidPrice, e.BestBidQty, e.BestAskPrice, e.BestAskQty, time.Now().UTC())
		}
	}, f.wsError(streamSpotBook))
}

func (f *Feed) startFutBook(conn *wsConn) (chan struct{}, chan struct{}, error) {
	return futures.WsCombinedBookTickerServe(f.symbols, func(e *futures.WsBookTickerEvent) {
		conn.touch()
		if e == nil {
			return
		}
		t := msTime(e.TransactionTime)
		if t.IsZero() {
			t = msTime(e.Time)
		}
		f.onBook(exchange.Futures, e.Symbol, e.BestBidPrice, e.BestBidQty, e.BestAskPrice, e.BestAskQty, t)
	}, f.wsError(streamFutBook))
}

// onBook stores a bookTicker message of either venue as the symbol's quote; a malformed one is logged and
// dropped.
func (f *Feed) onBook(venue exchange.Venue, symbol, bid, bidQty, ask, askQty string, t time.Time) {
	i, ok := f.index[symbol]
	if !ok {
		return
	}
	var p nums
	q := exchange.Quote{Venue: venue, Symbol: symbol, Bid: p.dec("b", bid), BidQty: p.dec("B", bidQty), Ask: p.dec("a", ask),
		AskQty: p.dec("A", askQty), Time: t}
	if p.err != nil {
		f.c.log.Warn().Err(p.err).Str("venue", string(venue)).Msg("binance feed: bad bookTicker message")
		return
	}
	f.setSlot(quoteSlot(i, venue), exchange.Event{Kind: exchange.EventQuote, Time: t, Venue: venue, Symbol: symbol, Quote: q}, time.Time{})
}

func (f *Feed) startMark(conn *wsConn) (chan struct{}, chan struct{}, error) {
	rates := make(map[string]time.Duration, len(f.symbols))
	for _, s := range f.symbols {
		rates[s] = time.Second
	}
	return futures.WsCombinedMarkPriceServeWithRate(rates, func(e *futures.WsMarkPriceEvent) {
		conn.touch()
		if e == nil {
			return
		}
		i, ok := f.index[e.Symbol]
		if !ok {
			return
		}
		var p nums
		m := exchange.Mark{Symbol: e.Symbol, Mark: p.dec("p", e.MarkPrice), Index: p.dec("i", e.IndexPrice), EstimatedRate: p.dec("r", e.FundingRate),
			NextFundingTime: msTime(e.NextFundingTime), Time: msTime(e.Time)}
		if p.err != nil {
			f.c.log.Warn().Err(p.err).Msg("binance feed: bad markPrice message")
			return
		}
		f.onMark(i, m, time.Time{})
	}, f.wsError(streamMark))
}

func (f *Feed) wsError(stream int) func(error) {
	return func(err error) {
		f.c.log.Debug().Err(err).Str("stream", streamNames[stream]).Msg("binance feed: websocket error")
	}
}
