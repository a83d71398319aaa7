-- +goose Up
-- Backtest runs: what was run and its summary (the full result is the JSON file written beside the chart).
CREATE TABLE backtest_runs (
    id          bigserial PRIMARY KEY,
    account_id  bigint      NOT NULL REFERENCES accounts (id),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    span_from   timestamptz NOT NULL,
    span_to     timestamptz NOT NULL,
    symbols     text[]      NOT NULL,
    capital     numeric     NOT NULL,
    net_pnl     numeric     NOT NULL,
    funding     numeric     NOT NULL,
    fees        numeric     NOT NULL,
    apr         numeric     NOT NULL,
    summary     jsonb       NOT NULL,
    output_dir  text        NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE backtest_runs;
