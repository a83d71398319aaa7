package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/logging"
	"github.com/carry-trading/carry/pkg/notify"
	"github.com/carry-trading/carry/pkg/replay"
	"github.com/carry-trading/carry/pkg/telemetry"
	"github.com/carry-trading/carry/strategy"
)

// newSystem starts the parts every mode shares (alerts, metrics) around an open database.
func (a *app) newSystem(db *database) *system {
	s := &system{cfg: a.cfg, log: a.log, db: db, metrics: telemetry.NewMetrics(), fresh: &telemetry.Freshness{}, crash: crashpoint()}
	s.observer = newObserver(s.metrics, s.fresh, a.cfg.Mode != config.ModeBacktest)
	if a.cfg.Mode == config.ModeBacktest {
		return s // a replay alerts nobody: its risk actions are the report's markers
	}
	s.notifier = notify.New(notify.Config{WebhookURL: a.cfg.Alerts.WebhookURL, TelegramAPIURL: a.cfg.Alerts.TelegramAPIURL,
		TelegramToken: a.cfg.Secrets.TelegramToken.Reveal(), TelegramChatID: a.cfg.Alerts.TelegramChatID, MinInterval: a.cfg.Alerts.MinInterval}, a.log)
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.notifier.Close(ctx)
	})
	return s
}

// binanceConfig maps carry's configuration onto the adapter's; keys only for live mode.
func (a *app) binanceConfig(withKey bool) binance.Config {
	b := a.cfg.Binance
	c := binance.Config{SpotRESTURL: b.SpotRESTURL, FuturesRESTURL: b.FuturesRESTURL, SpotWSURL: b.SpotWSURL, SpotWSAPIURL: b.SpotWSAPIURL,
		FuturesWSURL: b.FuturesWSURL, RecvWindow: b.RecvWindow, HTTPTimeout: b.HTTPTimeout, WSSilence: b.WSSilence, MaxClockSkew: b.MaxClockSkew}
	if withKey {
		c.APIKey, c.APISecret = a.cfg.Secrets.APIKey.Reveal(), a.cfg.Secrets.APISecret.Reveal()
	}
	return c
}

// paperConfig is the paper venue's configuration for instruments of the given symbols.
func (a *app) paperConfig(instruments []exchange.Instrument, funding map[string]exchange.FundingInfo) paper.Config {
	c := a.cfg
	return paper.Config{
		Quote:       c.Universe.QuoteAsset,
		Instruments: instruments,
		Fees: map[exchange.Venue]exchange.Fees{
			exchange.Spot:    {Maker: c.Fees.SpotMaker, Taker: c.Fees.SpotTaker},
			exchange.Futures: {Maker: c.Fees.PerpMaker, Taker: c.Fees.PerpTaker},
		},
		Slippage: c.Paper.Slippage, Latency: c.Paper.Latency, DefaultLeverage: c.Capital.Leverage,
		InitialBalances: map[exchange.Venue]map[string]decimal.Decimal{
			exchange.Spot:    {c.Universe.QuoteAsset: c.Paper.SpotBalance},
			exchange.Futures: {c.Universe.QuoteAsset: c.Paper.FuturesBalance},
		},
		FundingInfo:         funding,
		DefaultInterestRate: c.Fees.BorrowHourly,
	}
}

// backtestSystem replays recorded data through paper venues on a simulated clock. Each run has an account
// of its own, so runs never mix.
func (a *app) backtestSystem(ctx context.Context, db *database, runName string) (*system, strategy.Source, error) {
	s, feed, _, err := a.openBacktest(ctx, db, runName)
	if err != nil {
		return nil, nil, err
	}
	return s, feed, nil
}

// openBacktest is backtestSystem, also returning the replay and the exchange information it trades with
// (for the report).
func (a *app) openBacktest(ctx context.Context, db *database, runName string) (*system, *replay.Feed, *backtestMarkets, error) {
	cfg := a.cfg
	symbols, err := symbolsWithData(cfg.Backtest.DataDir, cfg.Universe.Symbols)
	if err != nil {
		return nil, nil, nil, err
	}
	if missing := difference(cfg.Universe.Symbols, symbols); len(missing) > 0 {
		a.log.Warn().Strs("left_out", missing).Strs("backtesting", symbols).Str("data_dir", cfg.Backtest.DataDir).
			Msg("no recorded data for some symbols of the universe")
	}
	mk, err := loadBacktestMarkets(cfg.Backtest.DataDir, symbols)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, w := range mk.warnings() {
		a.log.Warn().Str("data_dir", cfg.Backtest.DataDir).Msg(w)
	}
	symbols = mk.symbols
	from, to, err := a.backtestRange(mk.replayOptions(replay.Options{Symbols: symbols}))
	if err != nil {
		return nil, nil, nil, err
	}
	acct, err := db.EnsureAccount(ctx, runName, config.ModeBacktest)
	if err != nil {
		return nil, nil, nil, err
	}
	s := a.newSystem(db)
	s.acct = acct
	s.from, s.to = from, to
	s.sim = clock.NewSim(from)
	s.clock = s.sim
	s.log = s.log.Hook(logging.SimTime{Clock: s.sim}) // a replay's lines say where in the data they happened
	pv, err := paper.New(ctx, a.paperConfig(mk.instruments, mk.funding), s.sim, nil)
	if err != nil {
		s.close()
		return nil, nil, nil, fmt.Errorf("paper venue: %w", err)
	}
	s.venue, s.sink = pv, pv
	if err := s.loadMarkets(ctx, symbols); err != nil {
		s.close()
		return nil, nil, nil, err
	}
	feed, err := replay.Open(cfg.Backtest.DataDir, mk.replayOptions(replay.Options{Symbols: s.symbols, From: from, To: to,
		SpotSpread: cfg.Backtest.SpotSpread, PerpSpread: cfg.Backtest.PerpSpread}))
	if err != nil {
		s.close()
		return nil, nil, nil, fmt.Errorf("opening the recorded data: %w", err)
	}
	s.closers = append(s.closers, func() { _ = feed.Close() })
	s.paper = pv
	return s, feed, mk, nil
}

// paperSystem trades paper venues on Binance's live public data (no API key). The paper account survives
// restarts: its venue is rebuilt from the journal in Postgres.
func (a *app) paperSystem(ctx context.Context, db *database) (*system, *binance.Client, error) {
	cfg := a.cfg
	client, err := binance.New(a.binanceConfig(false), a.log)
	if err != nil {
		return nil, nil, err
	}
	instruments, funding, err := liveInstruments(ctx, client, cfg.Universe.Symbols)
	if err != nil {
		client.Close()
		return nil, nil, unreachable(cfg, err)
	}
	acct, err := db.EnsureAccount(ctx, cfg.Account.Name, config.ModePaper)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	s := a.newSystem(db)
	s.closers = append(s.closers, client.Close)
	s.acct, s.clock = acct, clock.Wall{}
	pv, err := paper.New(ctx, a.paperConfig(instruments, funding), s.clock, db.PaperJournal(acct.ID))
	if err != nil {
		s.close()
		return nil, nil, fmt.Errorf("restoring the paper venue from its journal: %w", err)
	}
	s.venue, s.sink, s.paper = pv, pv, pv
	if err := s.loadMarkets(ctx, cfg.Universe.Symbols); err != nil {
		s.close()
		return nil, nil, err
	}
	return s, client, nil
}

// liveSystem trades the real account on Binance.
func (a *app) liveSystem(ctx context.Context, db *database) (*system, *binance.Client, error) {
	client, err := binance.New(a.binanceConfig(true), a.log)
	if err != nil {
		return nil, nil, err
	}
	if err := client.CheckAccount(ctx); err != nil {
		client.Close()
		if errors.Is(err, binance.ErrRefused) {
			return nil, nil, withCode(exitRefused, err)
		}
		return nil, nil, unreachable(a.cfg, err)
	}
	acct, err := db.EnsureAccount(ctx, a.cfg.Account.Name, config.ModeLive)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	s := a.newSystem(db)
	s.closers = append(s.closers, client.Close)
	s.acct, s.clock, s.venue = acct, clock.Wall{}, client
	if err := s.loadMarkets(ctx, a.cfg.Universe.Symbols); err != nil {
		s.close()
		return nil, nil, err
	}
	return s, client, nil
}

// liveInstruments reads the universe's instruments and funding settings from Binance's public API.
func liveInstruments(ctx context.Context, client *binance.Client, symbols []string) ([]exchange.Instrument, map[string]exchange.FundingInfo, error) {
	var out []exchange.Instrument
	funding := map[string]exchange.FundingInfo{}
	for _, v := range []exchange.Venue{exchange.Spot, exchange.Futures} {
		all, err := client.Instruments(ctx, v)
		if err != nil {
			return nil, nil, err
		}
		for _, in := range all {
			if slices.Contains(symbols, in.Symbol) {
				out = append(out, in)
			}
		}
	}
	for _, sym := range symbols {
		fi, err := client.FundingInfo(ctx, sym)
		if err != nil {
			return nil, nil, err
		}
		funding[sym] = fi
	}
	return out, funding, nil
}

// unreachable explains that Binance could not be reached and what to do instead.
func unreachable(cfg *config.Config, err error) error {
	return fmt.Errorf("cannot reach Binance at %s / %s: %w\n"+
		"  %s mode needs Binance's market data. Check the network (or binance.*_url for the testnet), or run offline:\n"+
		"    carry backtest            (replays %s)\n"+
		"    carry run --mode backtest",
		cfg.Binance.SpotRESTURL, cfg.Binance.FuturesRESTURL, err, cfg.Mode, cfg.Backtest.DataDir)
}

// symbolsWithData keeps the symbols that have spot and perp klines and funding files in dir.
func symbolsWithData(dir string, symbols []string) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("backtest.data_dir %s: %w (fetch data with `carry data fetch`, or point it at testdata/binance)", dir, err)
	}
	var out []string
	for _, sym := range symbols {
		ok := true
		for _, kind := range []string{"spot", "perp", "fundingRate"} {
			m, _ := filepath.Glob(filepath.Join(dir, sym+"-"+kind+"-*.csv"))
			ok = ok && len(m) > 0
		}
		if ok {
			out = append(out, sym)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("backtest.data_dir %s has no complete data (spot klines, perp klines and funding) for any of %v; fetch them with `carry data fetch --symbols %s --from YYYY-MM`",
			dir, symbols, strings.Join(symbols, ","))
	}
	return out, nil
}

// backtestRange is backtest.from/to clipped to the span all markets of the replay have data for
// (replay.Coverage, with the options the replay opens with: the symbols' funding intervals).
func (a *app) backtestRange(opts replay.Options) (time.Time, time.Time, error) {
	from, to, err := parseRange(a.cfg.Backtest.From, a.cfg.Backtest.To)
	if err != nil {
		return from, to, err
	}
	cf, ct, err := replay.Coverage(a.cfg.Backtest.DataDir, opts)
	if err != nil {
		return from, to, err
	}
	if from.IsZero() || from.Before(cf) {
		from = cf
	}
	if to.IsZero() || to.After(ct) {
		to = ct
	}
	if !from.Before(to) {
		return from, to, withCode(exitUsage, fmt.Errorf("backtest range %s → %s is outside the data, which covers %s → %s",
			a.cfg.Backtest.From, a.cfg.Backtest.To, cf.Format(time.RFC3339), ct.Format(time.RFC3339)))
	}
	return from, to, nil
}

// parseRange reads backtest.from/to (RFC 3339 or YYYY-MM-DD); empty is open.
func parseRange(from, to string) (time.Time, time.Time, error) {
	parse := func(key, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, withCode(exitUsage, fmt.Errorf("%s %q: use YYYY-MM-DD or RFC 3339 (2021-01-01T00:00:00Z)", key, v))
	}
	f, err := parse("backtest.from", from)
	if err != nil {
		return f, f, err
	}
	t, err := parse("backtest.to", to)
	if err != nil {
		return f, t, err
	}
	if !f.IsZero() && !t.IsZero() && !t.After(f) {
		return f, t, withCode(exitUsage, fmt.Errorf("backtest.to %s is not after backtest.from %s", to, from))
	}
	return f, t, nil
}

func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// publicClient is a Binance client without a key (public market data).
func (a *app) publicClient() (*binance.Client, error) {
	return binance.New(a.binanceConfig(false), a.log)
}

// liveClient is a Binance client with the account's key.
func (a *app) liveClient() (*binance.Client, error) { return binance.New(a.binanceConfig(true), a.log) }
