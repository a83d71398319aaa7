-- +goose Up
-- The bot's latest view of each position's risk, written after risk evaluations (throttled), so the CLI can
-- show liquidation distance, margin ratio and hedge ratio without asking the venue.
CREATE TABLE risk_snapshots (
    account_id        bigint      NOT NULL REFERENCES accounts (id),
    symbol            text        NOT NULL,
    pair_id           bigint,
    mark              numeric     NOT NULL DEFAULT 0,
    liquidation_price numeric     NOT NULL DEFAULT 0,
    distance          numeric     NOT NULL DEFAULT 0,
    margin_ratio      numeric     NOT NULL DEFAULT 0,
    hedge_ratio       numeric     NOT NULL DEFAULT 0,
    next_funding      timestamptz,
    at                timestamptz NOT NULL,
    PRIMARY KEY (account_id, symbol)
);

-- +goose Down
DROP TABLE risk_snapshots;
