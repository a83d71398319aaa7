package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/pkg/baseline"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/replay"
	"github.com/carry-trading/carry/pkg/report"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/pair"
)

// backtestOpts are `carry backtest`'s flags; set ones override the configuration.
type backtestOpts struct {
	dataDir, symbols, from, to, capital, out string
	noBaseline, noChart, quiet               bool
}

func (a *app) backtestCmd() *cobra.Command {
	var o backtestOpts
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Backtest the strategy on recorded data, beside a static-hedge baseline; write a report and a chart",
		Long: `Replays recorded Binance data (backtest.data_dir, e.g. testdata/binance or what ` + "`carry data fetch`" + ` laid out)
through the same engine as paper and live mode — signals, policy, executor, risk — with paper venues on a
simulated clock. It prints the report, and writes result.json, chart.html and chart.png to the output
directory; the run is recorded in Postgres (backtest_runs). The report's data line shows the kline interval
replayed.

Exchange filters (tick, step, minimum quantity and order value) and funding caps come from Binance answers
embedded in carry (captured in 2026: spot filters for BTCUSDT, ETHUSDT and XVGUSDT only, every perpetual's).
Saved answers in the data directory take precedence, in Binance's own format:
  exchangeInfo-spot.json      GET /api/v3/exchangeInfo   (symbols it lacks fall back to the embedded ones)
  exchangeInfo-futures.json   GET /fapi/v1/exchangeInfo  (likewise)
  fundingInfo.json            GET /fapi/v1/fundingInfo   (replaces the embedded one; the symbols it omits are
                                                          on Binance's default cap, ±2%)
A symbol with a perpetual but no spot filters gets approximate ones (the perpetual's tick and step, minimum
order 5 in the quote asset), with a warning and a note in the report; a symbol without a perpetual is left out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.mode = config.ModeBacktest
			if a.logLevel == "" {
				a.logLevel = "warn" // the report is the output; the engine's info logs are for the bot
			}
			if err := a.load(); err != nil {
				return err
			}
			if err := o.apply(a.cfg); err != nil {
				return withCode(exitUsage, err)
			}
			// Ctrl-C or SIGTERM stops the replay; nothing is written then (the previous outputs stay).
			// A second signal is not caught: it ends the process at once.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			go func() { <-ctx.Done(); stop() }()
			return a.backtest(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "", "recorded data directory (overrides backtest.data_dir)")
	f.StringVar(&o.symbols, "symbols", "", "comma-separated symbols (overrides universe.symbols)")
	f.StringVar(&o.from, "from", "", "start, YYYY-MM-DD or RFC 3339 (overrides backtest.from)")
	f.StringVar(&o.to, "to", "", "end, exclusive (overrides backtest.to)")
	f.StringVar(&o.capital, "capital", "", "capital in the quote asset (overrides capital.total; paper balances follow)")
	f.StringVar(&o.out, "out", "", "output directory (overrides backtest.output_dir)")
	f.BoolVar(&o.noBaseline, "no-baseline", false, "skip the static-hedge baseline")
	f.BoolVar(&o.noChart, "no-chart", false, "skip chart.html and chart.png")
	f.BoolVar(&o.quiet, "quiet", false, "no progress and no text report (the files are still written)")
	cmd.AddCommand(a.backtestRunsCmd())
	return cmd
}

func (o backtestOpts) apply(c *config.Config) error {
	if o.dataDir != "" {
		c.Backtest.DataDir = o.dataDir
	}
	if o.symbols != "" {
		c.Universe.Symbols = nil
		for _, s := range strings.Split(o.symbols, ",") {
			if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
				c.Universe.Symbols = append(c.Universe.Symbols, s)
			}
		}
	}
	if o.from != "" {
		c.Backtest.From = o.from
	}
	if o.to != "" {
		c.Backtest.To = o.to
	}
	if o.out != "" {
		c.Backtest.OutputDir = o.out
	}
	if o.capital != "" {
		v, err := decimal.NewFromString(o.capital)
		if err != nil || !v.IsPositive() {
			return fmt.Errorf("--capital %q: give a positive amount of the quote asset, e.g. 10000", o.capital)
		}
		// Paper balances follow the capital; the per-symbol cap scales with it.
		ratio := v.Div(c.Capital.Total)
		c.Capital.Total, c.Capital.PerSymbolMax = v, c.Capital.PerSymbolMax.Mul(ratio)
		c.Paper.SpotBalance, c.Paper.FuturesBalance = v, decimal.Zero
	}
	return nil
}

// backtestResult is what a backtest produced.
type backtestResult struct {
	Run     report.Run
	Summary report.Summary
	Account store.Account
	Events  int64
	Elapsed time.Duration // the whole command
	Replay  time.Duration // the engine's run over the data
	// ReplayCPU is the process's CPU time (user + system, every goroutine) during Replay: the rest of Replay
	// was spent waiting, mostly on Postgres.
	ReplayCPU time.Duration
	// JournalWait is the part of Replay the engine's loop spent waiting on Postgres for its JournalCalls
	// write-ahead statements (journalWaits).
	JournalWait  time.Duration
	JournalCalls int64
	Dir          string
}

func (a *app) backtest(ctx context.Context, o backtestOpts, out, errOut io.Writer) error {
	res, err := a.runBacktest(ctx, o, errOut)
	if err != nil {
		return err
	}
	if !o.quiet {
		if err := report.WriteText(out, res.Run, res.Summary); err != nil {
			return err
		}
		fmt.Fprintf(out, "\n%d events in %s; written to %s (result.json", res.Events, res.Elapsed.Round(time.Millisecond), res.Dir)
		if !o.noChart {
			fmt.Fprint(out, ", chart.html, chart.png")
		}
		fmt.Fprintf(out, "); account %s\n", res.Account.Name)
		if o.noChart {
			if _, err := os.Stat(filepath.Join(res.Dir, "chart.html")); err == nil {
				fmt.Fprintf(out, "note: the charts in %s are an earlier run's (--no-chart writes none)\n", res.Dir)
			}
		}
	}
	return nil
}

// runBacktest runs the strategy and the baseline on the same data and writes the outputs.
// backtestGCPercent is the garbage collector's target during a backtest (GOGC's default is 100).
const backtestGCPercent = 400

// backtestDBSettings are the session settings of a backtest's connections. A backtest can be run again, so
// its commits do not wait for the WAL flush (synchronous_commit off), and its statements are planned once
// per connection rather than at each of the first five executions (force_generic_plan: they are key
// lookups and small inserts on one account's rows; measured on the shipped data: the server's bind time
// 23 → 15 ms per run).
func backtestDBSettings() map[string]string {
	return map[string]string{"synchronous_commit": "off", "plan_cache_mode": "force_generic_plan"}
}

func (a *app) runBacktest(ctx context.Context, o backtestOpts, progress io.Writer) (_ *backtestResult, err error) {
	cfg := a.cfg
	started := time.Now()
	// The baseline's replay stops with the run, whichever way the run ends.
	baseCtx, cancelBase := context.WithCancel(ctx)
	defer cancelBase()
	if os.Getenv("GOGC") == "" {
		// A backtest is a batch job that allocates fast and keeps little: a larger heap target spends
		// less of the run in the collector (measured: about 13% faster, peak RSS ~70 → ~135 MB on the
		// shipped data). GOGC in the environment overrides it.
		defer debug.SetGCPercent(debug.SetGCPercent(backtestGCPercent))
	}
	// Found out before the run, not after it: an output directory that cannot be written.
	created, err := checkOutputDir(cfg.Backtest.OutputDir)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	if created {
		defer func() {
			if err != nil {
				os.Remove(cfg.Backtest.OutputDir) // the run made it and wrote nothing into it: only an empty one goes
			}
		}()
	}
	a.dbSettings = backtestDBSettings()
	waits := &journalWaits{}
	a.dbTracer = waits
	db, err := a.openDatabase(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	phase := func(what string) { a.log.Debug().Dur("since_start", time.Since(started)).Msg(what) }
	phase("database open")
	name := fmt.Sprintf("%s/bt-%s", cfg.Account.Name, started.UTC().Format("20060102-150405.000"))
	s, src, markets, err := a.openBacktest(ctx, db, name)
	if err != nil {
		return nil, err
	}
	defer s.close()

	rec := newRecorder("strategy", cfg.Capital.Total, s.paper, nil, cfg.Universe.QuoteAsset, s.sim)
	s.extraObs, s.riskObs = rec, rec.onRisk
	s.journal = recordingJournal{Store: db.Store, rec: rec}
	writes := newBackgroundWriter(ctx)
	defer writes.stop() // a failed run still ends the writer (a finished one has stopped it below)
	funding := &batchedFunding{Store: db.Store, w: writes, seen: map[string]bool{}}
	s.engStore, s.riskEvents = funding, deferredRiskEvents{Events: db.Store, w: writes}
	if err := s.build(ctx); err != nil {
		return nil, err
	}
	rec.signals = s.book
	from, to := s.from, s.to // what the feed replays
	rec.reserve(from, to)
	var bar *progressBar
	if !o.quiet {
		bar = newProgressBar(progress, from, to)
	}

	// The baseline replays the same data on its own (it shares nothing with the strategy's run).
	type baseOut struct {
		res baseline.Result
		err error
	}
	baseCh := make(chan baseOut, 1)
	if o.noBaseline {
		baseCh <- baseOut{}
	} else {
		go func() {
			r, err := a.runBaseline(baseCtx, s, from, to)
			baseCh <- baseOut{r, err}
		}()
	}

	if err := s.engine.Start(ctx); err != nil {
		return nil, err
	}
	phase("system built")
	var feedSrc interface {
		Next(context.Context) (exchange.Event, error)
	} = src
	if bar != nil {
		feedSrc = bar.wrap(src)
	}
	waits.on.Store(true)
	replayStart, cpuStart := time.Now(), processCPU()
	if err := s.engine.Run(ctx, feedSrc); err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	replayTime, replayCPU := time.Since(replayStart), processCPU()-cpuStart
	waits.on.Store(false)
	journalWait, journalCalls := waits.total()
	if bar != nil {
		bar.done()
	}
	// Until the outputs are renamed into place, an interruption (ctx cancelled by SIGINT or SIGTERM) ends the
	// run with nothing written.
	interrupted := func() error {
		if ctx.Err() == nil {
			return nil
		}
		return fmt.Errorf("backtest interrupted at %s (of %s → %s); nothing was written to %s",
			s.clock.Now().UTC().Format(time.RFC3339), from.Format(time.RFC3339), to.Format(time.RFC3339), cfg.Backtest.OutputDir)
	}
	if err := interrupted(); err != nil {
		return nil, err
	}
	gaps := reportGaps(src.Gaps())
	if spotQuotes, perpQuotes := src.Quotes(); spotQuotes == 0 || perpQuotes == 0 {
		return nil, withCode(exitUsage, fmt.Errorf("no market data to trade in the backtest range %s → %s (%d spot and %d perp quotes): it falls in a gap of the data (%s); choose another range",
			from.Format(time.RFC3339), to.Format(time.RFC3339), spotQuotes, perpQuotes, describeGaps(gaps, 3)))
	}
	funding.Flush(s.acct.ID)
	if err := writes.stop(); err != nil {
		return nil, fmt.Errorf("backtest: writing funding payments and risk events: %w", err)
	}
	a.log.Debug().Dur("replay", replayTime).Dur("replay_cpu", replayCPU).Dur("journal_wait", journalWait).
		Int64("journal_statements", journalCalls).Msg("replay timing")
	phase("replay done")
	end := s.clock.Now()
	rec.sample(end)
	pairs, err := a.pairResults(ctx, db, s)
	if ierr := interrupted(); ierr != nil {
		return nil, ierr
	}
	if err != nil {
		return nil, err
	}
	rec.book.Pairs = pairs
	b := <-baseCh
	if ierr := interrupted(); ierr != nil {
		return nil, ierr
	}
	if b.err != nil {
		return nil, b.err
	}

	run := report.Run{Meta: report.Meta{Title: "carry backtest", Symbols: s.symbols, Interval: src.Interval(), Start: firstSample(rec.book, from), End: end,
		Quote: cfg.Universe.QuoteAsset, DataDir: cfg.Backtest.DataDir, Version: version, Notes: backtestNotes(cfg, markets)}, Strategy: *rec.book}
	if rec.readFailures > 0 {
		run.Meta.Notes = append(run.Meta.Notes, fmt.Sprintf("equity samples: %d wallet readings failed; those samples repeat the last complete reading", rec.readFailures))
	}
	run.Meta.Gaps = gaps
	if rec.markFailures > 0 {
		run.Meta.Notes = append(run.Meta.Notes, fmt.Sprintf("equity samples: %d perp marks could not be read; those samples leave the position's unrealised PnL out", rec.markFailures))
	}
	if !o.noBaseline {
		run.Baseline = &b.res.Book
		run.Meta.Notes = append(run.Meta.Notes, "baseline: one pair of constant quantity held the whole span, its margin assumed always sufficient (never liquidated); valued at the end at the mids, without exit costs")
	}
	if days := end.Sub(from).Hours() / 24; days < 30 {
		run.Meta.Notes = append(run.Meta.Notes, fmt.Sprintf("the span is %.1f days: the annualised figures (APR, CAGR) extrapolate it to a year", days))
	}
	if n := openAtEnd(pairs); n > 0 {
		run.Meta.Notes = append(run.Meta.Notes, fmt.Sprintf("strategy: %d pair(s) still open at the end, valued at the spot mid and the perp mark, without exit costs", n))
	}
	phase("baseline and accounting done")
	sum := report.Compute(run)
	dir := cfg.Backtest.OutputDir
	if err := interrupted(); err != nil {
		return nil, err
	}
	if err := writeOutputs(dir, run, sum, o.noChart); err != nil {
		return nil, err
	}
	phase("outputs written")
	raw, err := report.MarshalSummary(sum)
	if err != nil {
		return nil, fmt.Errorf("recording the run (its outputs are written to %s): %w", dir, err)
	}
	m := sum.Strategy
	// The outputs are written: the run's record follows them, interrupted or not.
	if _, err := db.RecordBacktest(context.WithoutCancel(ctx), store.BacktestRun{AccountID: s.acct.ID, StartedAt: started, FinishedAt: time.Now(), From: m.Start, To: m.End,
		Symbols: s.symbols, Capital: m.Capital, NetPnL: m.NetPnL, Funding: m.Funding, Fees: m.Fees, APR: decimal.NewFromFloat(m.APR).Round(6),
		Summary: raw, OutputDir: dir}); err != nil {
		return nil, err
	}
	return &backtestResult{Run: run, Summary: sum, Account: s.acct, Events: s.engine.Events(), Elapsed: time.Since(started), Replay: replayTime,
		ReplayCPU: replayCPU, JournalWait: journalWait, JournalCalls: journalCalls, Dir: dir}, nil
}

// openAtEnd counts the pairs not closed at the end of a backtest (a closed pair may keep spot dust: the base
// fee's gross-up).
func openAtEnd(pairs []accounting.PairPnL) int {
	n := 0
	for _, p := range pairs {
		if p.State != pair.Closed {
			n++
		}
	}
	return n
}

// processCPU is the CPU time the process has used (user + system; 0 where getrusage fails).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runBaseline replays the first symbol through the static hedge.
func (a *app) runBaseline(ctx context.Context, s *system, from, to time.Time) (baseline.Result, error) {
	cfg := a.cfg
	sym := s.symbols[0]
	m := s.markets[sym]
	feed, err := replay.Open(cfg.Backtest.DataDir, replay.Options{Symbols: []string{sym}, From: from, To: to,
		SpotSpread: cfg.Backtest.SpotSpread, PerpSpread: cfg.Backtest.PerpSpread,
		SpotTicks: map[string]decimal.Decimal{sym: m.Spot.TickSize}, PerpTicks: map[string]decimal.Decimal{sym: m.Perp.TickSize}})
	if err != nil {
		return baseline.Result{}, err
	}
	defer feed.Close()
	deploy := decimal.Min(cfg.Capital.PerSymbolMax, cfg.Capital.Total.Mul(decimal.NewFromInt(1).Sub(cfg.Capital.Reserve)))
	return baseline.Run(ctx, feed, baseline.Config{Symbol: sym, Base: m.Spot.Base, Quote: cfg.Universe.QuoteAsset, Capital: cfg.Capital.Total,
		Deploy: deploy, Leverage: cfg.Capital.Leverage, Spot: m.Spot, Perp: m.Perp, SpotFee: cfg.Fees.SpotTaker, PerpFee: cfg.Fees.PerpTaker})
}

// pairResults accounts every pair of the run at the last prices.
func (a *app) pairResults(ctx context.Context, db *database, s *system) ([]accounting.PairPnL, error) {
	pairs, err := db.Pairs(ctx, s.acct.ID, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	recs := pairRecords{}
	if err := recs.load(ctx, db.Store, s.acct.ID, 0); err != nil {
		return nil, err
	}
	var out []accounting.PairPnL
	for _, p := range pairs {
		if !recs.traded(p.ID) {
			continue // refused before any order filled (a failed open that filled a leg is accounted: its fees count)
		}
		var px accounting.Prices
		if sg := s.book.Get(p.Symbol); sg != nil {
			px = accounting.Prices{Spot: sg.Spot.Mid(), Perp: sg.Perp.Mid()}
		}
		out = append(out, recs.account(p, px, s.markets[p.Symbol].Spot.Base, a.cfg.Universe.QuoteAsset))
	}
	return out, nil
}

// checkOutputDir creates the output directory (created: it did not exist) and makes sure a file can be
// written in it.
func checkOutputDir(dir string) (created bool, err error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("creating the output directory %s: %w (choose another with --out or backtest.output_dir)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".carry-check-*")
	if err != nil {
		if created {
			os.Remove(dir) // it made it, and it cannot be used
		}
		return false, fmt.Errorf("the output directory %s cannot be written: %w (choose another with --out or backtest.output_dir)", dir, err)
	}
	name := f.Name()
	f.Close()
	return created, os.Remove(name)
}

// writeOutputs writes result.json and (unless noChart) the charts to dir, all or nothing (writeAll).
func writeOutputs(dir string, run report.Run, sum report.Summary, noChart bool) error {
	outputs := []output{{"result.json", func(w io.Writer) error { return report.WriteJSON(w, run, sum) }}}
	if !noChart {
		outputs = append(outputs,
			output{"chart.html", func(w io.Writer) error { return report.WriteHTML(w, run, sum, report.ChartOptions{}) }},
			output{"chart.png", func(w io.Writer) error { return report.WritePNG(w, run, sum, report.ChartOptions{}) }})
	}
	return writeAll(dir, outputs)
}

// output is a file of a run's outputs and how to render it.
type output struct {
	name   string
	render func(io.Writer) error
}

// writeAll renders the outputs into dir, all or nothing as far as a file system allows: each is rendered (in
// parallel) into a temporary file beside its name, and only when every one is complete are they renamed into
// place. A failed rendering leaves the previous outputs as they were, and no temporary file behind.
func writeAll(dir string, outputs []output) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the output directory %s: %w", dir, err)
	}
	tmps := make([]string, len(outputs))
	defer func() {
		for _, t := range tmps {
			if t != "" {
				os.Remove(t)
			}
		}
	}()
	render := func(i int) error {
		path := filepath.Join(dir, outputs[i].name)
		f, err := os.CreateTemp(dir, "."+outputs[i].name+"-*")
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		tmps[i] = f.Name()
		err = outputs[i].render(f)
		if err == nil {
			err = f.Chmod(0o644)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	errs := make(chan error, len(outputs))
	for i := range outputs { // independent renderings of the same data: in parallel
		go func() { errs <- render(i) }()
	}
	var first error
	for range outputs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	for i, o := range outputs {
		path := filepath.Join(dir, o.name)
		if err := os.Rename(tmps[i], path); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		tmps[i] = ""
	}
	return nil
}

// reportGaps are the replay's gaps for the report.
func reportGaps(gaps []replay.Gap) []report.Gap {
	out := make([]report.Gap, len(gaps))
	for i, g := range gaps {
		out[i] = report.Gap{Symbol: g.Symbol, Market: g.Market, From: g.From, To: g.To}
	}
	return out
}

// describeGaps lists at most n gaps on one line.
func describeGaps(gaps []report.Gap, n int) string {
	if len(gaps) == 0 {
		return "no gap was found"
	}
	var parts []string
	for i, g := range gaps {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d more", len(gaps)-n))
			break
		}
		parts = append(parts, g.String())
	}
	return "gaps: " + strings.Join(parts, "; ")
}

func firstSample(b *report.Book, from time.Time) time.Time {
	if !from.IsZero() {
		return from
	}
	if len(b.Samples) > 0 {
		return b.Samples[0].Time
	}
	return time.Time{}
}

func backtestNotes(c *config.Config, m *backtestMarkets) []string {
	notes := []string{
		fmt.Sprintf("capital %s %s, per symbol at most %s, leverage %dx, reserve %s", c.Capital.Total, c.Universe.QuoteAsset, c.Capital.PerSymbolMax, c.Capital.Leverage, c.Capital.Reserve),
		fmt.Sprintf("fees: spot taker %s, perp taker %s; paper slippage %s; spreads spot %s perp %s", c.Fees.SpotTaker, c.Fees.PerpTaker, c.Paper.Slippage, c.Backtest.SpotSpread, c.Backtest.PerpSpread),
		fmt.Sprintf("entry at net carry ≥ %s/yr with break-even ≤ %s; exit below %s/yr for %d settlements", c.Strategy.EntryAPR, c.Strategy.MaxBreakeven, c.Strategy.ExitAPR, c.Strategy.ExitSettlements),
		"quotes: bar opens and closes only (the intra-bar extremes move the perp mark, for risk and liquidation)",
	}
	return append(notes, m.notes()...)
}

// progressBar shows the simulated date while a backtest runs, on a terminal only.
type progressBar struct {
	w        io.Writer
	tty      bool
	from, to time.Time
	last     time.Time
	n        int64
}

func newProgressBar(w io.Writer, from, to time.Time) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, tty: ok && term.IsTerminal(int(f.Fd())), from: from, to: to}
}

type barSource struct {
	src interface {
		Next(context.Context) (exchange.Event, error)
	}
	bar  *progressBar
	last exchange.Event // Next's event
}

func (b *barSource) Next(ctx context.Context) (exchange.Event, error) {
	err := b.Read(ctx, &b.last) // a local event would escape: one allocation per event
	return b.last, err
}

// Read passes a replay's Read through (strategy.EventReader), so the bar costs the engine no event copy.
func (b *barSource) Read(ctx context.Context, ev *exchange.Event) error {
	var err error
	if r, ok := b.src.(strategy.EventReader); ok {
		err = r.Read(ctx, ev)
	} else {
		*ev, err = b.src.Next(ctx)
	}
	if err == nil {
		b.bar.tick(ev.Time)
	}
	return err
}

func (p *progressBar) wrap(src interface {
	Next(context.Context) (exchange.Event, error)
}) *barSource {
	return &barSource{src: src, bar: p}
}

func (p *progressBar) tick(t time.Time) {
	p.n++
	if !p.tty || p.n&4095 != 0 || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf("simulating %s  %d events", t.Format("2006-01-02"), p.n)
	if !p.from.IsZero() && !p.to.IsZero() {
		frac := float64(t.Sub(p.from)) / float64(p.to.Sub(p.from))
		frac = min(max(frac, 0), 1)
		n := int(frac * 30)
		line = fmt.Sprintf("[%s%s] %3.0f%%  ", strings.Repeat("=", n), strings.Repeat(" ", 30-n), frac*100) + line
	}
	fmt.Fprintf(p.w, "\r%s", line)
}

func (p *progressBar) done() {
	if p.tty && p.n > 4095 {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
