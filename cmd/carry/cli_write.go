package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/pair"
)

// writeOpts are the flags every position-changing command has.
type writeOpts struct {
	yes     bool
	dryRun  bool
	timeout time.Duration
	in      io.Reader
}

func (w *writeOpts) flags(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&w.yes, "yes", "y", false, "do it without asking")
	cmd.Flags().BoolVar(&w.dryRun, "dry-run", false, "show what would be done and stop")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 2*time.Minute, "how long to wait for the bot to carry the command out")
}

// confirm asks the operator; false unless they answer y or yes.
func (w *writeOpts) confirm(out io.Writer, question string) bool {
	if w.yes {
		return true
	}
	fmt.Fprintf(out, "%s [y/N] ", question)
	in := w.in
	if in == nil {
		in = os.Stdin
	}
	line, _ := bufio.NewReader(in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

func (a *app) unwindCmd() *cobra.Command {
	var w writeOpts
	var slices int
	cmd := &cobra.Command{
		Use:   "unwind SYMBOL|PAIR_ID",
		Short: "Close one pair (both legs together), optionally in slices",
		Long: `Close one live pair by symbol (BTCUSDT) or pair id. carry shows what it will do and asks first.
With a bot running, the bot carries it out with its executor; with none, this command takes the account lock,
reconciles the pairs with the venue, and carries it out itself. --slices N closes in N equal hedged rounds.

Exit codes: 0 done, 1 failed, 3 refused, 4 no such pair, 5 not confirmed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w.in = cmd.InOrStdin()
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, true)
			if err != nil {
				return err
			}
			defer c.close()
			if err := c.refuseBacktest(); err != nil {
				return err
			}
			p, err := c.findPair(ctx, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, c.describeUnwind(ctx, p, slices))
			if w.dryRun {
				fmt.Fprintln(out, "dry run: nothing sent")
				return nil
			}
			if !w.confirm(out, "Unwind it?") {
				return withCode(exitAborted, errors.New("not confirmed; nothing sent"))
			}
			return c.execute(ctx, out, strategy.CmdUnwind, strategy.CommandArgs{PairID: p.ID, Slices: slices}, w.timeout)
		},
	}
	w.flags(cmd)
	cmd.Flags().IntVar(&slices, "slices", 1, "close in this many equal hedged rounds")
	return cmd
}

func (a *app) flattenCmd() *cobra.Command {
	var w writeOpts
	var all bool
	cmd := &cobra.Command{
		Use:   "flatten --all",
		Short: "Close every live pair",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !all {
				return withCode(exitUsage, errors.New("flatten closes every pair: say so with --all (or use `carry unwind SYMBOL` for one)"))
			}
			w.in = cmd.InOrStdin()
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, true)
			if err != nil {
				return err
			}
			defer c.close()
			if err := c.refuseBacktest(); err != nil {
				return err
			}
			pairs, err := c.db.LivePairs(ctx, c.acct.ID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(pairs) == 0 {
				fmt.Fprintln(out, "no live pairs: nothing to do")
				return nil
			}
			for _, p := range pairs {
				fmt.Fprintln(out, c.describeUnwind(ctx, p, 1))
			}
			if w.dryRun {
				fmt.Fprintln(out, "dry run: nothing sent")
				return nil
			}
			if !w.confirm(out, fmt.Sprintf("Close all %d pairs?", len(pairs))) {
				return withCode(exitAborted, errors.New("not confirmed; nothing sent"))
			}
			return c.execute(ctx, out, strategy.CmdFlattenAll, strategy.CommandArgs{}, w.timeout)
		},
	}
	w.flags(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "required: close every pair")
	return cmd
}

// stateCmd builds halt, resume and reduce-only.
func (a *app) stateCmd(use, kind, short string) *cobra.Command {
	var w writeOpts
	var reason string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, false)
			if err != nil {
				return err
			}
			defer c.close()
			if w.dryRun {
				fmt.Fprintf(cmd.OutOrStdout(), "would run %s on account %s (%s): nothing sent\n", kind, c.acct.Name, c.acct.Mode)
				return nil
			}
			return c.execute(ctx, cmd.OutOrStdout(), kind, strategy.CommandArgs{Reason: reason}, w.timeout)
		},
	}
	w.flags(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with the change)")
	return cmd
}

func (c *cli) refuseBacktest() error {
	if c.acct.Mode == config.ModeBacktest {
		return withCode(exitRefused, errors.New("backtest accounts are replays; there is nothing to unwind on a venue"))
	}
	return nil
}

// findPair resolves a pair id or a symbol to a live pair.
func (c *cli) findPair(ctx context.Context, arg string) (pair.Pair, error) {
	pairs, err := c.db.LivePairs(ctx, c.acct.ID)
	if err != nil {
		return pair.Pair{}, err
	}
	id, idErr := strconv.ParseInt(arg, 10, 64)
	for _, p := range pairs {
		if (idErr == nil && p.ID == id) || strings.EqualFold(p.Symbol, arg) {
			return p, nil
		}
	}
	return pair.Pair{}, withCode(exitNotFound, fmt.Errorf("no live pair %s on account %s (%s mode); `carry status` lists them", arg, c.acct.Name, c.acct.Mode))
}

// describeUnwind says what closing the pair sends.
func (c *cli) describeUnwind(ctx context.Context, p pair.Pair, slices int) string {
	base := baseOf(p.Symbol, c.a.cfg.Universe.QuoteAsset)
	spotSide, perpSide := p.Direction.SpotSide().Opposite(), p.Direction.PerpSide().Opposite()
	spotVenue := "spot"
	if p.Direction == pair.Reverse {
		spotVenue = "margin (repaying the loan)"
	}
	s := fmt.Sprintf("pair %d %s (%s, %s): %s %s %s on %s and %s %s %s perp reduce-only, together",
		p.ID, p.Symbol, p.Direction, p.State, strings.ToLower(string(spotSide)), p.SpotQty, base, spotVenue, strings.ToLower(string(perpSide)), p.PerpQty, p.Symbol)
	if slices > 1 {
		s += fmt.Sprintf(", in %d slices", slices)
	}
	if px := c.prices(ctx, p.Symbol); px.Spot.IsPositive() {
		s += fmt.Sprintf("; about %s %s of spot at %s", p.SpotQty.Mul(px.Spot).StringFixed(2), c.a.cfg.Universe.QuoteAsset, px.Spot.StringFixed(2))
	}
	return s
}

// execute runs a command through the running bot, or in this process when no bot holds the account.
func (c *cli) execute(ctx context.Context, out io.Writer, kind string, args strategy.CommandArgs, timeout time.Duration) error {
	by := requester()
	lock, err := c.db.TryLockAccount(ctx, c.acct.Name, c.acct.Mode)
	if errors.Is(err, store.ErrLocked) {
		return c.viaBot(ctx, out, kind, args, by, timeout)
	}
	if err != nil {
		return err
	}
	defer lock.Unlock(context.Background())
	fmt.Fprintf(out, "no bot is running for account %s (%s): carrying it out here\n", c.acct.Name, c.acct.Mode)
	id, err := c.db.SubmitCommand(ctx, c.acct.ID, kind, args, by)
	if err != nil {
		return err
	}
	if _, _, err := c.db.ClaimCommand(ctx, c.acct.ID, time.Now()); err != nil {
		return err
	}
	result, runErr := c.runHere(ctx, kind, args, by)
	status := store.CommandDone
	if runErr != nil {
		status, result = store.CommandFailed, runErr.Error()
	}
	if err := c.db.FinishCommand(ctx, id, status, result, time.Now()); err != nil {
		return err
	}
	return reportCommand(out, kind, status, result, runErr)
}

// viaBot queues the command for the bot and waits for its outcome.
func (c *cli) viaBot(ctx context.Context, out io.Writer, kind string, args strategy.CommandArgs, by string, timeout time.Duration) error {
	id, err := c.db.SubmitCommand(ctx, c.acct.ID, kind, args, by)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sent to the running bot as command %d; waiting for it (up to %s)\n", id, timeout)
	deadline := time.Now().Add(timeout)
	for {
		cmd, err := c.db.GetCommand(ctx, id)
		if err != nil {
			return err
		}
		if cmd.Status == store.CommandDone || cmd.Status == store.CommandFailed {
			var runErr error
			if cmd.Status == store.CommandFailed {
				runErr = errors.New(cmd.Result)
			}
			return reportCommand(out, kind, cmd.Status, cmd.Result, runErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("command %d is still %s after %s; it stays queued — check `carry status`", id, cmd.Status, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func reportCommand(out io.Writer, kind, status, result string, err error) error {
	if err != nil {
		code := exitFailure
		if strings.Contains(err.Error(), strategy.ErrNoSuchPair.Error()) {
			code = exitNotFound
		}
		return withCode(code, fmt.Errorf("%s failed: %s", kind, result))
	}
	fmt.Fprintf(out, "%s %s: %s\n", kind, status, result)
	return nil
}

// runHere carries a command out in this process: state changes directly; unwinds with a full system
// (recovery first), primed with current market data.
func (c *cli) runHere(ctx context.Context, kind string, args strategy.CommandArgs, by string) (string, error) {
	switch kind {
	case strategy.CmdHalt, strategy.CmdResume, strategy.CmdReduceOnly:
		return c.changeState(ctx, kind, args.Reason, by)
	}
	a := c.a
	var s *system
	var client *binance.Client
	var err error
	if a.cfg.Mode == config.ModePaper {
		s, client, err = a.paperSystem(ctx, c.db)
	} else {
		s, client, err = a.liveSystem(ctx, c.db)
	}
	if err != nil {
		return "", err
	}
	defer s.close()
	if err := s.build(ctx); err != nil {
		return "", err
	}
	if err := s.primeMarket(ctx, client); err != nil {
		return "", unreachable(a.cfg, err)
	}
	if err := s.engine.Start(ctx); err != nil {
		return "", fmt.Errorf("recovering pairs first: %w", err)
	}
	raw, _ := json.Marshal(args)
	return s.engine.RunCommand(ctx, kind, raw, by)
}

// changeState applies a trading-state change through risk's transition table.
func (c *cli) changeState(ctx context.Context, kind, reason, by string) (string, error) {
	to := map[string]risk.State{strategy.CmdHalt: risk.Halted, strategy.CmdResume: risk.Active, strategy.CmdReduceOnly: risk.Reducing}[kind]
	st, err := c.db.TradingState(ctx, c.acct.ID)
	if err != nil {
		return "", err
	}
	if risk.State(st.State) == to {
		return "trading state already " + string(to), nil
	}
	sw, err := risk.NewSwitch(c.acct.ID, risk.Status{State: risk.State(st.State), By: risk.Actor(st.By), Reason: st.Reason, Since: st.At})
	if err != nil {
		return "", err
	}
	if reason == "" {
		reason = kind + " by " + by
	}
	ch, err := sw.Set(ctx, c.db, to, risk.ActorOperator, reason, time.Now().UTC())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("trading state %s → %s", ch.From, ch.To), nil
}

// primeMarket feeds the current quotes and marks of every symbol to the paper venue and the signals, so an
// operator command run without the live feed trades at today's prices.
func (s *system) primeMarket(ctx context.Context, client *binance.Client) error {
	now := time.Now().UTC()
	for _, sym := range s.symbols {
		for _, v := range []exchange.Venue{exchange.Spot, exchange.Futures} {
			q, err := client.Quote(ctx, v, sym)
			if err != nil {
				return err
			}
			ev := exchange.Event{Kind: exchange.EventQuote, Time: now, Venue: v, Symbol: sym, Quote: q}
			s.feed(ev)
		}
		m, err := client.Mark(ctx, sym)
		if err != nil {
			return err
		}
		s.feed(exchange.Event{Kind: exchange.EventMark, Time: now, Symbol: sym, Mark: m})
	}
	return nil
}

func (s *system) feed(ev exchange.Event) {
	if s.sink != nil {
		s.sink.Apply(ev)
	}
	s.book.Apply(&ev)
}

func requester() string {
	name := "operator"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "cli:" + name + "@" + host
}
