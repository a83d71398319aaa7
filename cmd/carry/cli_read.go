package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/policy"
	"github.com/carry-trading/carry/strategy/signals"
)

// pairStatus is one row of `carry status`.
type pairStatus struct {
	PairID       int64           `json:"pair_id"`
	Symbol       string          `json:"symbol"`
	Direction    pair.Direction  `json:"direction"`
	State        pair.State      `json:"state"`
	Quantity     decimal.Decimal `json:"quantity"`
	SpotQty      decimal.Decimal `json:"spot_qty"`
	PerpQty      decimal.Decimal `json:"perp_qty"`
	HedgeRatio   decimal.Decimal `json:"hedge_ratio"`
	EntryBasis   decimal.Decimal `json:"entry_basis"`
	Funding      decimal.Decimal `json:"funding_earned"`
	Fees         decimal.Decimal `json:"fees"`
	NetPnL       decimal.Decimal `json:"net_pnl"`
	Valued       bool            `json:"valued"`
	LiqDistance  decimal.Decimal `json:"liquidation_distance"`
	LiqPrice     decimal.Decimal `json:"liquidation_price"`
	NextFunding  time.Time       `json:"next_funding"`
	SnapshotAge  string          `json:"risk_snapshot_age,omitempty"`
	OpenedAt     time.Time       `json:"opened_at"`
	LastReason   string          `json:"last_reason"`
	BelowExitFor int             `json:"-"`
}

// accountStatus is `carry status`.
type accountStatus struct {
	Mode         string          `json:"mode"`
	Account      string          `json:"account"`
	TradingState string          `json:"trading_state"`
	StateReason  string          `json:"state_reason"`
	StateBy      string          `json:"state_by"`
	StateSince   time.Time       `json:"state_since"`
	BotRunning   bool            `json:"bot_running"`
	Pairs        []pairStatus    `json:"pairs"`
	Funding      decimal.Decimal `json:"funding_earned"`
	Fees         decimal.Decimal `json:"fees"`
	NetPnL       decimal.Decimal `json:"net_pnl"`
	Note         string          `json:"note,omitempty"`
	At           time.Time       `json:"at"`
}

func (c *cli) status(ctx context.Context) (accountStatus, error) {
	st, err := c.db.TradingState(ctx, c.acct.ID)
	if err != nil {
		return accountStatus{}, err
	}
	running, err := c.botRunning(ctx)
	if err != nil {
		return accountStatus{}, err
	}
	out := accountStatus{Mode: c.acct.Mode, Account: c.acct.Name, TradingState: st.State, StateReason: st.Reason, StateBy: st.By,
		StateSince: st.At, BotRunning: running, Note: c.note, At: time.Now().UTC()}
	pairs, err := c.db.LivePairs(ctx, c.acct.ID)
	if err != nil {
		return out, err
	}
	snaps, err := c.db.RiskSnapshots(ctx, c.acct.ID)
	if err != nil {
		return out, err
	}
	for _, p := range pairs {
		px := c.prices(ctx, p.Symbol)
		pnl, err := c.pairPnL(ctx, p, px)
		if err != nil {
			return out, err
		}
		row := pairStatus{PairID: p.ID, Symbol: p.Symbol, Direction: p.Direction, State: p.State, Quantity: p.TargetQty, SpotQty: p.SpotQty,
			PerpQty: p.PerpQty, EntryBasis: p.EntryBasis, Funding: pnl.Funding, Fees: pnl.Fees, NetPnL: pnl.NetPnL, Valued: pnl.Valued,
			OpenedAt: p.OpenedAt, LastReason: p.Reason}
		if p.PerpQty.IsPositive() {
			row.HedgeRatio = p.SpotQty.DivRound(p.PerpQty, 6)
		}
		if s, ok := snaps[p.Symbol]; ok {
			row.LiqDistance, row.LiqPrice, row.NextFunding = s.Distance, s.LiquidationPrice, s.NextFunding
			row.SnapshotAge = time.Since(s.At).Round(time.Second).String()
		}
		if row.NextFunding.IsZero() && c.market != nil {
			if m, err := c.market.Mark(ctx, p.Symbol); err == nil {
				row.NextFunding = m.NextFundingTime
			}
		}
		out.Pairs = append(out.Pairs, row)
		out.Funding, out.Fees, out.NetPnL = out.Funding.Add(pnl.Funding), out.Fees.Add(pnl.Fees), out.NetPnL.Add(pnl.NetPnL)
	}
	return out, nil
}

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One screen: mode, trading state, and each live pair's hedge, funding, PnL and liquidation distance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.openCLI(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer c.close()
			st, err := c.status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st)
			}
			w := cmd.OutOrStdout()
			bot := "not running"
			if st.BotRunning {
				bot = "running"
			}
			fmt.Fprintf(w, "carry %s — account %s — bot %s — %s\n", st.Mode, st.Account, bot, st.At.Format("2006-01-02 15:04:05 UTC"))
			fmt.Fprintf(w, "trading state: %s", strings.ToUpper(st.TradingState))
			if st.StateReason != "" {
				fmt.Fprintf(w, " (%s, by %s, since %s)", st.StateReason, orDash(st.StateBy), st.StateSince.Format("2006-01-02 15:04"))
			}
			fmt.Fprintln(w)
			if len(st.Pairs) == 0 {
				fmt.Fprintln(w, "no live pairs")
			} else {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "PAIR\tSYMBOL\tDIR\tSTATE\tQTY\tHEDGE\tENTRY BASIS\tFUNDING\tFEES\tNET PNL\tLIQ DIST\tNEXT FUNDING\t")
				for _, p := range st.Pairs {
					net := money(p.NetPnL)
					if !p.Valued {
						net = "n/a"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.PairID, p.Symbol, p.Direction, p.State, p.Quantity,
						p.HedgeRatio.StringFixed(4), pct(p.EntryBasis, 3), money(p.Funding), money(p.Fees.Neg()), net, pct(p.LiqDistance, 1), countdown(p.NextFunding))
				}
				fmt.Fprintf(tw, "\t\t\t\t\t\ttotal\t%s\t%s\t%s\t\t\t\n", money(st.Funding), money(st.Fees.Neg()), money(st.NetPnL))
				_ = tw.Flush()
			}
			if st.Note != "" {
				fmt.Fprintln(w, "note:", st.Note)
			}
			return nil
		},
	}
	jsonFlag(cmd, &asJSON)
	return cmd
}

func (a *app) pnlCmd() *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "pnl",
		Short: "PnL per pair: funding, fees, basis PnL and net PnL (live pairs, or --all for every pair)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, true)
			if err != nil {
				return err
			}
			defer c.close()
			var pairs []pair.Pair
			if all {
				pairs, err = c.db.Pairs(ctx, c.acct.ID, time.Time{}, time.Time{})
			} else {
				pairs, err = c.db.LivePairs(ctx, c.acct.ID)
			}
			if err != nil {
				return err
			}
			recs := pairRecords{}
			if err := recs.load(ctx, c.db.Store, c.acct.ID, 0); err != nil {
				return err
			}
			quote := c.a.cfg.Universe.QuoteAsset
			var rows []accounting.PairPnL
			for _, p := range pairs {
				if p.State == pair.Closed && !recs.traded(p.ID) {
					continue // refused before any order filled: nothing to account
				}
				rows = append(rows, recs.account(p, c.prices(ctx, p.Symbol), baseOf(p.Symbol, quote), quote))
			}
			total := accounting.Total(rows)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"pairs": rows, "total": total, "note": c.note})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "PAIR\tSYMBOL\tDIR\tSTATE\tFUNDING\tFEES\tBASIS PNL\tNET PNL\t")
			for _, r := range rows {
				net := money(r.NetPnL)
				if !r.Valued {
					net = "n/a"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.PairID, r.Symbol, r.Direction, r.State, money(r.Funding), money(r.Fees.Neg()), money(r.BasisPnL), net)
			}
			fmt.Fprintf(tw, "\t\t\ttotal\t%s\t%s\t%s\t%s\t\n", money(total.Funding), money(total.Fees.Neg()), money(total.BasisPnL), money(total.NetPnL))
			_ = tw.Flush()
			if c.note != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "note:", c.note)
			}
			return nil
		},
	}
	jsonFlag(cmd, &asJSON)
	cmd.Flags().BoolVar(&all, "all", false, "include closed pairs")
	return cmd
}

func (a *app) fundingCmd() *cobra.Command {
	var asJSON bool
	var symbol string
	var days int
	cmd := &cobra.Command{
		Use:   "funding",
		Short: "Funding received per symbol and day",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, false)
			if err != nil {
				return err
			}
			defer c.close()
			since := time.Time{}
			if days > 0 {
				since = time.Now().UTC().AddDate(0, 0, -days)
			}
			rows, err := c.db.FundingByDay(ctx, c.acct.ID, strings.ToUpper(symbol), since)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "DAY\tSYMBOL\tPAYMENTS\tFUNDING\t")
			total := decimal.Zero
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t\n", r.Day.Format("2006-01-02"), r.Symbol, r.Payments, r.Amount.StringFixed(4))
				total = total.Add(r.Amount)
			}
			fmt.Fprintf(tw, "\ttotal\t\t%s\t\n", total.StringFixed(4))
			return tw.Flush()
		},
	}
	jsonFlag(cmd, &asJSON)
	cmd.Flags().StringVar(&symbol, "symbol", "", "only this symbol")
	cmd.Flags().IntVar(&days, "days", 30, "days back (0: all)")
	return cmd
}

func (a *app) positionsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "positions",
		Short: "Each live pair's legs as recorded, with the venue's view in live mode",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, true)
			if err != nil {
				return err
			}
			defer c.close()
			pairs, err := c.db.LivePairs(ctx, c.acct.ID)
			if err != nil {
				return err
			}
			type row struct {
				PairID     int64           `json:"pair_id"`
				Symbol     string          `json:"symbol"`
				Direction  pair.Direction  `json:"direction"`
				State      pair.State      `json:"state"`
				SpotQty    decimal.Decimal `json:"spot_qty"`
				PerpQty    decimal.Decimal `json:"perp_qty"`
				EntrySpot  decimal.Decimal `json:"entry_spot_price"`
				EntryPerp  decimal.Decimal `json:"entry_perp_price"`
				VenuePerp  *string         `json:"venue_perp_position,omitempty"`
				VenueLiqPx *string         `json:"venue_liquidation_price,omitempty"`
			}
			var venuePos map[string]exchange.Position
			if a.cfg.Mode == "live" && a.cfg.Secrets.APIKey.IsSet() {
				if v, err := a.liveClient(); err == nil {
					if ps, err := v.Positions(ctx); err == nil {
						venuePos = map[string]exchange.Position{}
						for _, p := range ps {
							venuePos[p.Symbol] = p
						}
					}
					v.Close()
				}
			}
			var rows []row
			for _, p := range pairs {
				r := row{PairID: p.ID, Symbol: p.Symbol, Direction: p.Direction, State: p.State, SpotQty: p.SpotQty, PerpQty: p.PerpQty,
					EntrySpot: p.EntrySpotPrice, EntryPerp: p.EntryPerpPrice}
				if vp, ok := venuePos[p.Symbol]; ok {
					q, lp := vp.Qty.String(), vp.LiquidationPrice.String()
					r.VenuePerp, r.VenueLiqPx = &q, &lp
				}
				rows = append(rows, r)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "PAIR\tSYMBOL\tDIR\tSTATE\tSPOT QTY\tPERP QTY\tENTRY SPOT\tENTRY PERP\tVENUE PERP\t")
			for _, r := range rows {
				vp := "-"
				if r.VenuePerp != nil {
					vp = *r.VenuePerp
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.PairID, r.Symbol, r.Direction, r.State, r.SpotQty, r.PerpQty, r.EntrySpot.StringFixed(2), r.EntryPerp.StringFixed(2), vp)
			}
			return tw.Flush()
		},
	}
	jsonFlag(cmd, &asJSON)
	return cmd
}

func (a *app) eventsCmd() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "The risk log: refused orders, risk actions, trading-state changes, divergences",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.openCLI(ctx, false)
			if err != nil {
				return err
			}
			defer c.close()
			evs, err := c.db.RiskEvents(ctx, c.acct.ID, store.RiskEventFilter{Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), evs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tKIND\tSEVERITY\tBY\tSYMBOL\tDETAIL")
			for _, e := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format("2006-01-02 15:04:05"), e.Kind, e.Severity, orDash(e.Actor), orDash(e.Symbol), e.Detail)
			}
			return tw.Flush()
		},
	}
	jsonFlag(cmd, &asJSON)
	cmd.Flags().IntVar(&limit, "limit", 50, "most recent events to show")
	return cmd
}

func (a *app) scanCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Opportunities now across the universe, ranked by net carry, with break-even time (Binance public data)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.load(); err != nil {
				return err
			}
			ctx := cmd.Context()
			client, err := a.publicClient()
			if err != nil {
				return err
			}
			defer client.Close()
			rows, err := a.scan(ctx, client)
			if err != nil {
				return unreachable(a.cfg, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "SYMBOL\tDIR\tRATE/SETTLEMENT\tINTERVAL\tFUNDING APR\tBASIS\tNET APR\tBREAK-EVEN\tENTER?\t")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%.4f%%\t%dh\t%.2f%%\t%.3f%%\t%.2f%%\t%s\t%s\t\n", r.Symbol, r.Direction, r.ExpectedRate*100, r.IntervalHours,
					r.FundingAPR*100, r.Basis*100, r.NetAPR*100, r.BreakEven, yesNo(r.Qualifies))
			}
			return tw.Flush()
		},
	}
	jsonFlag(cmd, &asJSON)
	return cmd
}

// scanRow is one opportunity of `carry scan`.
type scanRow struct {
	Symbol        string         `json:"symbol"`
	Direction     pair.Direction `json:"direction"`
	ExpectedRate  float64        `json:"expected_rate"`
	IntervalHours int            `json:"interval_hours"`
	FundingAPR    float64        `json:"funding_apr"`
	Basis         float64        `json:"basis"`
	NetAPR        float64        `json:"net_apr"`
	BreakEven     string         `json:"break_even"`
	Qualifies     bool           `json:"qualifies"`
}

// scan prices the universe now from Binance's public REST data, with the bot's own policy.
func (a *app) scan(ctx context.Context, client interface {
	exchange.MarketData
	exchange.FundingData
}) ([]scanRow, error) {
	cfg := a.cfg
	params := signals.Params{SmoothingSettlements: cfg.Strategy.SmoothingSettlements, EstimateWeight: cfg.Strategy.EstimateWeight.InexactFloat64()}
	book := signals.NewBook(cfg.Universe.Symbols, params)
	now := time.Now().UTC()
	for _, sym := range cfg.Universe.Symbols {
		fi, err := client.FundingInfo(ctx, sym)
		if err != nil {
			return nil, err
		}
		book.SetFundingInfo(fi)
		// The same history a bot starts from, so scan and bot rank alike.
		rates, err := client.FundingRates(ctx, sym, now.Add(-binance.HistoryWindow), now)
		if err != nil {
			return nil, err
		}
		book.Seed(sym, rates)
		for _, v := range []exchange.Venue{exchange.Spot, exchange.Futures} {
			q, err := client.Quote(ctx, v, sym)
			if err != nil {
				return nil, err
			}
			book.Apply(&exchange.Event{Kind: exchange.EventQuote, Venue: v, Symbol: sym, Time: now, Quote: q})
		}
		m, err := client.Mark(ctx, sym)
		if err != nil {
			return nil, err
		}
		book.Apply(&exchange.Event{Kind: exchange.EventMark, Symbol: sym, Time: now, Mark: m})
	}
	f := func(d decimal.Decimal) float64 { return d.InexactFloat64() }
	pol := policy.New(policy.Config{EntryAPR: f(cfg.Strategy.EntryAPR), ExitAPR: f(cfg.Strategy.ExitAPR), MaxBreakeven: cfg.Strategy.MaxBreakeven,
		Holding: cfg.Strategy.ExpectedHolding, Reverse: cfg.Strategy.Reverse, Signals: params,
		Costs: policy.Costs{SpotFee: f(cfg.Fees.SpotTaker), PerpFee: f(cfg.Fees.PerpTaker), Slippage: f(cfg.Strategy.Slippage), BorrowHourly: f(cfg.Fees.BorrowHourly)}})
	var rows []scanRow
	for _, c := range pol.Rank(book, nil) {
		s := book.Get(c.Symbol)
		be := "never"
		if c.BreakEven != policy.Never {
			be = c.BreakEven.Round(time.Minute).String()
		}
		rows = append(rows, scanRow{Symbol: c.Symbol, Direction: c.Direction, ExpectedRate: c.ExpectedRate, IntervalHours: s.IntervalHours,
			FundingAPR: c.FundingAPR, Basis: s.Basis(), NetAPR: c.NetAPR, BreakEven: be, Qualifies: pol.Qualifies(c)})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].NetAPR > rows[j].NetAPR })
	return rows, nil
}

func countdown(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Until(t)
	if d < 0 {
		return "due"
	}
	return d.Round(time.Minute).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
