package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// BacktestRun is a recorded backtest.
type BacktestRun struct {
	ID         int64
	AccountID  int64
	StartedAt  time.Time
	FinishedAt time.Time
	From, To   time.Time
	Symbols    []string
	Capital    decimal.Decimal
	NetPnL     decimal.Decimal
	Funding    decimal.Decimal
	Fees       decimal.Decimal
	APR        decimal.Decimal
	Summary    json.RawMessage
	OutputDir  string
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
