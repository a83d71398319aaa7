package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/carry-trading/carry/pkg/report"
	"github.com/carry-trading/carry/pkg/store"
)

// backtestRunsCmd lists the runs `carry backtest` recorded in Postgres, to compare them without opening each
// run's result.json.
func (a *app) backtestRunsCmd() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "The recorded backtest runs, newest first: span, symbols, net PnL, APR, drawdown, Sharpe, baseline, outputs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return withCode(exitUsage, fmt.Errorf("--limit %d: give at least 1", limit))
			}
			if a.logLevel == "" {
				a.logLevel = "warn"
			}
			if err := a.load(); err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := a.openDatabase(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			runs, err := db.BacktestRuns(ctx, limit)
			if err != nil {
				return err
			}
			rows := make([]backtestRunRow, 0, len(runs))
			for _, r := range runs {
				rows = append(rows, newBacktestRunRow(r))
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printBacktestRuns(cmd.OutOrStdout(), rows)
		},
	}
	jsonFlag(cmd, &asJSON)
	cmd.Flags().IntVar(&limit, "limit", 20, "most recent runs to show")
	return cmd
}

// backtestRunRow is a recorded run (its JSON has the stored summary as it is: result.json's "summary", or
// before 2026-11-22 the same figures under their Go names) with that summary decoded for the table.
type backtestRunRow struct {
	store.BacktestRun
	sum *report.Summary // nil when it cannot be read
}

func newBacktestRunRow(r store.BacktestRun) backtestRunRow {
	row := backtestRunRow{BacktestRun: r}
	if sum, err := report.UnmarshalSummary(r.Summary); err == nil {
		row.sum = &sum
	} else if err := json.Unmarshal(r.Summary, &sum); err == nil && !sum.Strategy.Capital.IsZero() { // an older record
		row.sum = &sum
	}
	return row
}

func printBacktestRuns(w io.Writer, rows []backtestRunRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no backtest runs recorded in this database yet (`carry backtest` records each run)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFINISHED (UTC)\tSPAN\tSYMBOLS\tCAPITAL\tNET PNL\tAPR\tMAX DD\tSHARPE\tBASELINE NET\tOUTPUT")
	for _, r := range rows {
		dd, sharpe, base := "-", "-", "-"
		if s := r.sum; s != nil {
			dd = fmt.Sprintf("%.2f%%", s.Strategy.MaxDrawdownPct*100)
			if s.Strategy.DailyReturns >= 2 {
				sharpe = fmt.Sprintf("%.2f", s.Strategy.Sharpe)
			}
			if s.Baseline != nil {
				base = money(s.Baseline.NetPnL)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s → %s\t%s\t%s\t%s\t%s%%\t%s\t%s\t%s\t%s\n", r.ID, r.FinishedAt.UTC().Format("2006-01-02 15:04"),
			r.From.UTC().Format("2006-01-02"), r.To.UTC().Format("2006-01-02"), strings.Join(r.Symbols, ","), r.Capital.String(),
			money(r.NetPnL), r.APR.Shift(2).StringFixed(2), dd, sharpe, base, orDash(r.OutputDir))
	}
	return tw.Flush()
}
