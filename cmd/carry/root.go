package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/logging"
	"github.com/carry-trading/carry/strategy"
)

// app holds what every subcommand shares: flags, the loaded configuration and the logger.
type app struct {
	configFile string
	logLevel   string
	mode       string
	out        io.Writer
	errOut     io.Writer

	cfg         *config.Config
	log         zerolog.Logger
	stopProfile func()
	// dbSettings are session settings for the database connections (backtestDBSettings).
	dbSettings map[string]string
	// dbTracer, when set, hears of every statement (a backtest's journalWaits).
	dbTracer pgx.QueryTracer
}

func newRootCmd() *cobra.Command {
	a := &app{out: os.Stdout, errOut: os.Stderr}
	root := &cobra.Command{
		Use:           "carry",
		Short:         "Delta-neutral cash-and-carry on Binance: spot against USDⓈ-M perpetuals, earning funding",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "config file (default: $CARRY_CONFIG, else the built-in defaults)")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (overrides log.level)")
	root.PersistentFlags().StringVar(&a.mode, "mode", "", "backtest, paper or live (overrides mode)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		a.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if a.stopProfile != nil {
			a.stopProfile()
		}
	}

	root.AddCommand(
		a.runCmd(),
		a.backtestCmd(),
		a.dataCmd(),
		a.migrateCmd(),
		a.configCmd(),
		versionCmd(),
		a.devCmd(),
		a.statusCmd(),
		a.positionsCmd(),
		a.fundingCmd(),
		a.pnlCmd(),
		a.scanCmd(),
		a.eventsCmd(),
		a.unwindCmd(),
		a.flattenCmd(),
		a.stateCmd("halt", strategy.CmdHalt, "Halt trading: no new orders until resume (open pairs stay hedged)"),
		a.stateCmd("resume", strategy.CmdResume, "Resume trading after a halt or reduce-only"),
		a.stateCmd("reduce-only", strategy.CmdReduceOnly, "Only exposure-reducing orders: no new pairs"),
	)
	usageArgs(root)
	return root
}

// usageArgs makes a wrong number of arguments a usage error (exit 2), like a bad flag.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return withCode(exitUsage, err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// load reads and validates the configuration (once) and builds the logger.
func (a *app) load() error {
	if a.cfg != nil {
		return nil
	}
	opts := config.Options{File: a.configFile}
	if a.mode != "" {
		base := os.Getenv
		opts.Getenv = func(k string) string {
			if k == "CARRY_MODE" {
				return a.mode
			}
			return base(k)
		}
		opts.Environ = func() []string { return append(os.Environ(), "CARRY_MODE="+a.mode) }
	}
	l, err := config.Load(opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	a.cfg = l.Config
	if a.logLevel != "" {
		a.cfg.Log.Level = a.logLevel
	}
	log, err := logging.New(a.errOut, a.cfg.Log.Level, a.cfg.Log.Format)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--log-level: %w", err))
	}
	a.log = log
	for _, w := range l.Warnings {
		a.log.Warn().Msg(w)
	}
	return nil
}
