// Package replay streams recorded Binance data as one time-ordered exchange.Event stream: the market feed of
// a backtest.
//
// # Files
//
// A data directory holds, per symbol, files named
//
//	<SYMBOL>-spot-<interval>-*.csv   spot klines
//	<SYMBOL>-perp-<interval>-*.csv   USDⓈ-M perpetual klines
//	<SYMBOL>-fundingRate-*.csv       settled funding rates
//
// Several files of one kind (consecutive months) are read one after the other in name order. This is the
// layout of Binance's monthly archive files (data.binance.vision) with the market in the name. Kline columns
// are mapped by header name (open_time, open, high, low, close, volume); a file without a header is read as
// the archive's 12-column layout (open_time, open, high, low, close, volume, close_time, quote_volume,
// count, taker_buy_volume, taker_buy_quote_volume, ignore). Timestamps are epoch milliseconds, or
// microseconds when above 1e14 (spot archive files since 2025). Funding files are
// calc_time,funding_interval_hours,last_funding_rate; settlement times carry millisecond jitter
// (…:00.001) and are never joined on equality.
//
// Files are streamed (buffered, one row at a time, k-way merged across sources); nothing is loaded whole.
// Prices are parsed into decimal mantissas directly, expressed at exponent −8 (or finer when the data is),
// and bid/ask are derived with exact integer arithmetic. The decimals of events are built in small slabs
// (64 values, about 2.5 KB, in one allocation) instead of two allocations each: a decimal kept for long keeps
// its slab alive, so code that stores many event decimals for a long time should store Decimal.Copy().
//
// # Quotes from bars
//
// Each bar yields two tradable quote events: the open at +0 and the close at +3·interval/4. Only these two
// prices have a known time, the same in the spot and the perp bar; a bar's high and low happened at unknown
// and different moments in the two markets, so quoting both legs at their extremes would invent basis that
// never existed (on the shipped BTC data the perp-high/spot-low "basis" of opposite bars has a median of
// 91 bp, against −2.6 bp at the open). The perp's extremes are still replayed as mark-only events at
// +interval/4 and +interval/2 (a bullish bar, close ≥ open, goes O→L→H→C, a bearish one O→H→L→C), so a
// position's liquidation and the risk monitor see the wicks. Spot extremes are not replayed. The first bar
// after a gap yields its close only (see Order and gaps).
//
// Around a price p the quote is bid = p·(1 − spread/2) rounded down to the tick and ask = p·(1 + spread/2)
// rounded up (spread per venue, tick per venue and symbol; without a tick, to 1e-8). Both quote sizes are
// the bar's volume, a depth proxy.
//
// # Marks and the funding estimate
//
// Every perp quote is followed by an EventMark with Mark = the perp price of that point (not the bid or ask),
// and the perp extremes are mark events of their own (which take no premium sample);
// Index = the last spot price, NextFundingTime = the next settlement boundary of the symbol's interval, and
// EstimatedRate = Binance's formula on the premium samples P = (perp − spot)/spot taken at the perp points of
// the running period (weights 1..n, later samples weigh more):
//
//	F = [P̄ + clamp(I − P̄, −0.05%, +0.05%)] / (8/N), clamped to [floor, cap] (default ±0.3%),
//
// with I = 0.01% per 8h and N the interval in hours (from the last settlement row, default 8). The cap and
// floor are per symbol (Options.SetFundingInfo: ±0.3% for BTCUSDT, ±2% for most altcoins on Binance). A period
// starts at each interval boundary (00:00, 08:00, 16:00 UTC for 8h). The estimate never reads the settled
// file: it is what a live feed would have shown. No sample is taken while the spot market is in a data gap.
//
// # Funding settlements and their mark (the mark rule)
//
// Each funding row becomes an EventFunding with Funding.Rate, Funding.IntervalHours and Funding.Time as in
// the file, and Funding.MarkPrice = the mark of the LAST perp mark event emitted before it. So with a perp bar
// at 08:00:00.000 and a settlement at 08:00:00.001 (or exactly 08:00:00.000: perp events sort before funding
// at equal times) the mark is that bar's open; when that bar is missing (the shipped perp file lacks the 00:00
// bar on the 1st of each month) it is the previous bar's close; after the end of the perp data it stays the
// last close. It is zero before any perp price has been seen. A consumer computing funding independently
// from the CSV files applies the same rule: the open of the perp bar whose open time is the greatest one not
// after the settlement time, if that bar exists, else the close of the latest earlier bar. (A bar without a
// trade counts as missing, see below; it only repeats the last close, so the two readings agree.)
//
// # Order and gaps
//
// Events at the same instant come spot quote, perp quote (each followed by its mark), then funding; then by
// symbol name. When a market's next bar is later than one interval after the previous one, the feed emits
// EventSuspend for that venue and symbol at the time the missing bar was due and EventResume just before the
// next bar's first quote; prices are never invented. A bar of an hour or longer without a trade (volume 0:
// the last price repeated, as in an outage) counts as missing; a shorter one, routine in a thin market,
// keeps the last price. The market comes back at the close of its first bar after a gap: that bar's open
// can be the last price from before the outage, and its extremes are not replayed either (its open still
// sets the mark a settlement at that instant is paid at). At the end of a market's data an EventSuspend marks
// where the next bar was due. A missing file is an error naming the pattern and the directory; a corrupt row
// is an error naming the file, the line and what is wrong.
//
// Options.From and Options.To restrict the emitted events to [From, To); earlier data is still read so the
// state at From (index, mark, estimate) is what it would have been live.
package replay
