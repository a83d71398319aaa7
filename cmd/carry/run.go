package main

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/pkg/telemetry"
	"github.com/carry-trading/carry/strategy"
)

func (a *app) runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the bot until SIGTERM or SIGINT (a backtest runs until its data ends)",
		Long: `Run the bot for the configured account and mode.

  backtest  replays backtest.data_dir through paper venues on a simulated clock and exits at the end
  paper     trades paper venues on Binance's live public market data (no API key)
  live      trades the account on Binance (CARRY_ACCOUNT_API_KEY / CARRY_ACCOUNT_API_SECRET)

SIGTERM or SIGINT stops opening new pairs, lets a repair in progress finish, persists, and exits 0 with
hedged pairs left open; the next start reconciles them with the venue before doing anything new.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.load(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.run(ctx)
		},
	}
}

func (a *app) run(ctx context.Context) error {
	if a.cfg.Mode == config.ModeBacktest {
		a.dbSettings = backtestDBSettings()
	}
	db, err := a.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.stopCluster()
	defer db.Close()

	var s *system
	var src strategy.Source
	switch a.cfg.Mode {
	case config.ModeBacktest:
		s, src, err = a.backtestSystem(ctx, db, fmt.Sprintf("%s/bt-%s", a.cfg.Account.Name, time.Now().UTC().Format("20060102-150405.000")))
		if err != nil {
			return err
		}
		defer s.close()
		if err := s.build(ctx); err != nil {
			return err
		}
	default:
		lock, err := db.TryLockAccount(ctx, a.cfg.Account.Name, a.cfg.Mode)
		if errors.Is(err, store.ErrLocked) {
			return withCode(exitRefused, fmt.Errorf("%w: another `carry run` already trades account %q in %s mode; stop it first (the CLI talks to the running bot, no second bot is needed)",
				store.ErrLocked, a.cfg.Account.Name, a.cfg.Mode))
		}
		if err != nil {
			return err
		}
		defer lock.Unlock(context.Background())
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-lock.Lost():
				a.log.Error().Msg("lost the database connection holding the account lock; stopping so no second trader can start beside this one")
				cancel()
			case <-ctx.Done():
			}
		}()
		var client *binance.Client
		if s, src, client, err = a.liveModeSystem(ctx, db); err != nil {
			return err
		}
		defer s.close()
		if err := s.build(ctx); err != nil {
			return err
		}
		// Recovery may have to repair a pair: it needs today's prices before the feed has delivered any.
		if err := s.primeMarket(ctx, client); err != nil {
			return unreachable(a.cfg, err)
		}
	}
	if a.cfg.Mode != config.ModeBacktest && a.cfg.Telemetry.Listen != "" {
		srv, err := telemetry.Start(a.cfg.Telemetry.Listen, s.metrics, s.fresh, db, a.cfg.Telemetry.FeedStaleAfter)
		if err != nil {
			return err
		}
		defer srv.Close(context.Background())
		a.log.Info().Str("addr", srv.Addr()).Msg("serving /healthz and /metrics")
		// carry_pnl is read from Postgres off the event loop: every 30 s, and when a pair opens or closes or
		// funding or a loan transaction is recorded.
		pnl := newPNLGauge(s)
		s.observer.pnlDue = pnl.Due
		pctx, stopPNL := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			pnl.run(pctx, pnlEvery)
		}()
		defer func() { stopPNL(); <-done }()
	}
	if err := s.engine.Start(ctx); err != nil {
		return fmt.Errorf("recovering pairs before trading: %w", err)
	}
	for _, p := range s.engine.Pairs() {
		s.observer.OnPair(p) // carry_pairs counts the pairs recovered at start, not only those changed since
	}
	a.log.Info().Str("mode", a.cfg.Mode).Str("account", s.acct.Name).Str("trading_state", s.guard.Current()).
		Strs("symbols", s.symbols).Msg("carry running; SIGTERM or Ctrl-C stops it")
	start := time.Now()
	err = s.engine.Run(ctx, src)
	a.log.Info().Int64("events", s.engine.Events()).Dur("elapsed", time.Since(start)).Int("live_pairs", len(s.engine.Pairs())).
		Msg("stopped; hedged pairs stay open and are reconciled at the next start")
	return err
}

// pnlEvery is how often carry_pnl is recomputed from the database at the least.
const pnlEvery = 30 * time.Second

// liveModeSystem builds paper or live mode: Binance's live market data, with paper venues or the account.
func (a *app) liveModeSystem(ctx context.Context, db *database) (*system, strategy.Source, *binance.Client, error) {
	var s *system
	var client *binance.Client
	var err error
	if a.cfg.Mode == config.ModePaper {
		s, client, err = a.paperSystem(ctx, db)
	} else {
		s, client, err = a.liveSystem(ctx, db)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	client.OnStreamTrouble(func(stream, reason string) { s.metrics.Error(telemetry.ErrFeed) })
	feed, err := client.MarketFeed(ctx, s.symbols)
	if err != nil {
		s.close()
		return nil, nil, nil, unreachable(a.cfg, err)
	}
	s.closers = append(s.closers, feed.Close)
	s.settled = feed
	return s, a.wrapFeed(ctx, s, feed), client, nil
}

// wrapFeed adds clock ticks and command announcements to a live feed.
func (a *app) wrapFeed(ctx context.Context, s *system, feed strategy.Source) strategy.Source {
	notify, err := s.db.ListenCommands(ctx, s.acct.ID)
	if err != nil {
		a.log.Warn().Err(err).Msg("cannot listen for operator commands; they are picked up every second instead")
		notify = nil
	}
	src := newLiveSource(ctx, feed, time.Second, notify)
	s.closers = append(s.closers, src.Close)
	return src
}
