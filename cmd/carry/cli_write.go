package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"
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
	cmd.Flags().DurationVar(&w.timeout, "timeout", 2*time.Minute, "how long to wait for the running bot to carry the command out; if it has not started it by then, it is cancelled")
}

// waitHelp is what every write command's help says about a running bot.
const waitHelp = `With a bot running, carry sends the command to it and waits up to --timeout for the outcome. If the bot
has not started it by then (or on Ctrl-C), the command is cancelled: nothing is done, and it never runs
later. If the bot has already started it, it is left to finish: see the outcome with ` + "`carry status`" + ` and
` + "`carry events`" + `. A bot never runs commands queued before it started: they expire.`

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

` + waitHelp + `

Exit codes: 0 done, 1 failed or no outcome within --timeout, 3 refused, 4 no such pair, 5 not confirmed.`,
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
			return c.execute(ctx, out, "unwind", strategy.CmdUnwind, strategy.CommandArgs{PairID: p.ID, Slices: slices}, w.timeout)
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
		Long: `Close every live pair. carry lists what it will close and asks first.
With a bot running, the bot carries it out; with none, this command takes the account lock and does it itself.

` + waitHelp + `

Exit codes: 0 done, 1 failed or no outcome within --timeout, 2 no --all, 3 refused, 5 not confirmed.`,
		Args: cobra.NoArgs,
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
			return c.execute(ctx, out, "flatten", strategy.CmdFlattenAll, strategy.CommandArgs{}, w.timeout)
		},
	}
	w.flags(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "required: close every pair")
	return cmd
}

// stateCmd builds halt, resume and reduce-only: use is the command the operator types (reduce-only), kind
// the command stored for the bot (reduce_only).
//
// They do not ask for confirmation, unlike unwind and flatten: they send no order and change no position,
// each is undone by another (halt, resume, reduce-only), and a halt must not wait for an answer in an
// emergency. --yes is accepted, and changes nothing, so scripts can pass the same flags to every write command.
func (a *app) stateCmd(use, kind, short string) *cobra.Command {
	var w writeOpts
	var reason string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.

It does not ask for confirmation: it sends no order and changes no position, and halt, resume and reduce-only
undo each other. --yes is accepted (scripts may pass it to every write command) and changes nothing.
With no bot running it changes the trading state itself.

` + waitHelp + `

Exit codes: 0 done, 1 failed or no outcome within --timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, false)
			if err != nil {
				return err
			}
			defer c.close()
			if w.dryRun {
				fmt.Fprintf(cmd.OutOrStdout(), "would run %s on account %s (%s): nothing sent\n", use, c.acct.Name, c.acct.Mode)
				return nil
			}
			return c.execute(ctx, cmd.OutOrStdout(), use, kind, strategy.CommandArgs{Reason: reason}, w.timeout)
		},
	}
	w.flags(cmd)
	cmd.Flags().Lookup("yes").Usage = "accepted and ignored: " + use + " never asks"
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

// execute runs a command through the running bot, or in this process when no bot holds the account. name
// is the command as the operator typed it, kind as it is stored.
func (c *cli) execute(ctx context.Context, out io.Writer, name, kind string, args strategy.CommandArgs, timeout time.Duration) error {
	by := requester()
	lock, err := c.db.TryLockAccount(ctx, c.acct.Name, c.acct.Mode)
	if errors.Is(err, store.ErrLocked) {
		return c.viaBot(ctx, out, name, kind, args, by, timeout)
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
	// This command, and only this one: an older command still pending was meant for a bot that is gone
	// (the next bot expires it).
	if _, ok, err := c.db.ClaimCommandByID(ctx, id, time.Now()); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s: command %d was no longer pending when this process claimed it; nothing was done", name, id)
	}
	result, runErr := c.runHere(ctx, kind, args, by)
	status := store.CommandDone
	if runErr != nil {
		status, result = store.CommandFailed, runErr.Error()
	}
	if err := c.db.FinishCommand(ctx, id, status, result, time.Now()); err != nil {
		return err
	}
	return reportCommand(out, name, store.Command{ID: id, Kind: kind, Status: status, Result: result})
}

// pollEvery is how often the CLI reads the status of a command it sent to the bot.
const pollEvery = 200 * time.Millisecond

// viaBot queues the command for the bot and waits for its outcome. When it stops waiting (--timeout, Ctrl-C
// or SIGTERM) it cancels the command unless the bot has already started it, so a command nobody waits for
// any more never runs later.
func (c *cli) viaBot(ctx context.Context, out io.Writer, name, kind string, args strategy.CommandArgs, by string, timeout time.Duration) error {
	id, err := c.db.SubmitCommand(ctx, c.acct.ID, kind, args, by)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sent to the running bot as command %d; waiting for it (up to %s)\n", id, timeout)
	wctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	giveUp := func(why string) error {
		stopSignals() // from here a second Ctrl-C ends the process at once
		return c.giveUp(out, name, id, why)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		cmd, err := c.db.GetCommand(wctx, id)
		switch {
		case err != nil && wctx.Err() != nil:
			return giveUp("interrupted while waiting")
		case err != nil:
			return giveUp("reading its status failed: " + err.Error())
		case store.CommandFinal(cmd.Status):
			return reportCommand(out, name, cmd)
		}
		select {
		case <-wctx.Done():
			return giveUp("interrupted while waiting")
		case <-deadline.C:
			return giveUp(fmt.Sprintf("no outcome within --timeout %s", timeout))
		case <-time.After(pollEvery):
		}
	}
}

// giveUp stops waiting for command id: it cancels it if the bot has not started it, in one statement that
// races safely with the bot claiming it, and says which happened.
func (c *cli) giveUp(out io.Writer, name string, id int64, why string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd, cancelled, err := c.db.CancelCommand(ctx, id, "cancelled by the CLI that sent it: "+why, time.Now())
	if err != nil {
		return withCode(exitFailure, fmt.Errorf("%s: %s, and cancelling command %d failed: %w; it may still be carried out: check `carry status` and `carry events`", name, why, id, err))
	}
	if cancelled {
		return withCode(exitFailure, fmt.Errorf("%s: %s; command %d cancelled before the bot started it: nothing was done and it will not run later (is the bot alive and trading? `carry status`); send it again if you still want it", name, why, id))
	}
	// The bot claimed it first; a short command finishes in a moment.
	var readErr error
	for end := time.Now().Add(3 * time.Second); !store.CommandFinal(cmd.Status) && time.Now().Before(end); {
		time.Sleep(pollEvery)
		now, err := c.db.GetCommand(ctx, id)
		if err != nil {
			readErr = err
			break
		}
		cmd = now
	}
	if store.CommandFinal(cmd.Status) {
		return reportCommand(out, name, cmd)
	}
	state := "is still running"
	if readErr != nil {
		state = fmt.Sprintf("was still running when it could last be read (%v)", readErr)
	}
	return withCode(exitFailure, fmt.Errorf("%s: %s, but the bot had already started command %d (at %s): it was not cancelled and %s; check its outcome with `carry status` and `carry events`",
		name, why, id, cmd.StartedAt.UTC().Format("15:04:05 UTC"), state))
}

// reportCommand prints a command's outcome, or returns it as an error with its exit code.
func reportCommand(out io.Writer, name string, cmd store.Command) error {
	switch cmd.Status {
	case store.CommandDone:
		fmt.Fprintf(out, "%s %s: %s\n", name, cmd.Status, cmd.Result)
		return nil
	case store.CommandFailed:
		code := exitFailure
		if strings.Contains(cmd.Result, strategy.ErrNoSuchPair.Error()) {
			code = exitNotFound
		}
		return withCode(code, fmt.Errorf("%s failed: %s", name, cmd.Result))
	default: // cancelled or expired: never carried out
		return withCode(exitFailure, fmt.Errorf("%s not carried out: command %d %s (%s); nothing was done, send it again if you still want it", name, cmd.ID, cmd.Status, cmd.Result))
	}
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
		s.sink.Apply(&ev)
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
