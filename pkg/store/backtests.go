package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// BacktestRun is a recorded backtest.
type BacktestRun struct {
	ID          int64
	AccountID   int64
	AccountName string // read back only (BacktestRuns): each run trades in an account of its own
	StartedAt   time.Time
	FinishedAt  time.Time
	From, To    time.Time
	Symbols     []string
	Capital     decimal.Decimal
	NetPnL      decimal.Decimal
	Funding     decimal.Decimal
	Fees        decimal.Decimal
	APR         decimal.Decimal
	Summary     json.RawMessage
	OutputDir   string
}

// RecordBacktest stores a backtest run and returns its id.
func (s *Store) RecordBacktest(ctx context.Context, r BacktestRun) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO backtest_runs (account_id, started_at, finished_at, span_from, span_to, symbols, capital,
		net_pnl, funding, fees, apr, summary, output_dir) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		r.AccountID, r.StartedAt, r.FinishedAt, r.From, r.To, r.Symbols, r.Capital, r.NetPnL, r.Funding, r.Fees, r.APR, r.Summary, r.OutputDir).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("recording the backtest run: %w", err)
	}
	return id, nil
}

// BacktestRuns returns the most recent recorded runs (at most limit), newest first.
func (s *Store) BacktestRuns(ctx context.Context, limit int) ([]BacktestRun, error) {
	return queryRows(ctx, s, "backtest runs", `SELECT r.id, r.account_id, a.name, r.started_at, r.finished_at, r.span_from,
		r.span_to, r.symbols, r.capital, r.net_pnl, r.funding, r.fees, r.apr, r.summary, r.output_dir
		FROM backtest_runs r JOIN accounts a ON a.id = r.account_id ORDER BY r.id DESC LIMIT $1`, []any{limit},
		func(row pgx.Row) (BacktestRun, error) {
			var r BacktestRun
			err := row.Scan(&r.ID, &r.AccountID, &r.AccountName, &r.StartedAt, &r.FinishedAt, &r.From, &r.To, &r.Symbols,
				&r.Capital, &r.NetPnL, &r.Funding, &r.Fees, &r.APR, &r.Summary, &r.OutputDir)
			return r, err
		})
}
