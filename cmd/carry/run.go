package main

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func (a *app) runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the bot until SIGTERM or SIGINT",
		Args:  cobra.NoArgs,
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
	db, err := a.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.stopCluster()
	defer db.Close()
	acct, err := db.EnsureAccount(ctx, a.cfg.Account.Name, a.cfg.Mode)
	if err != nil {
		return err
	}
	a.log.Info().Str("mode", a.cfg.Mode).Str("account", acct.Name).Str("trading_state", acct.TradingState).
		Strs("universe", a.cfg.Universe.Symbols).Msg("carry running; SIGTERM or Ctrl-C stops it")
	<-ctx.Done()
	a.log.Info().Msg("stopping")
	return nil
}
