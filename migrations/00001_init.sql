-- +goose Up
-- carry's first schema. Money and quantities are NUMERIC, times timestamptz. Every venue record has a
-- natural unique key, so replays and restarts insert it once.

CREATE TABLE accounts (
    id               bigserial PRIMARY KEY,
    name             text        NOT NULL,
    mode             text        NOT NULL CHECK (mode IN ('backtest', 'paper', 'live')),
    -- Random per account: client order ids start with it, so a new database never reuses an old id.
    client_prefix    text        NOT NULL UNIQUE CHECK (client_prefix ~ '^[a-z0-9]{4,10}$'),
    trading_state    text        NOT NULL DEFAULT 'active' CHECK (trading_state IN ('active', 'reducing', 'halted')),
    state_reason     text        NOT NULL DEFAULT '',
    state_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, mode)
);

CREATE TABLE pairs (
    id               bigserial PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES accounts (id),
    symbol           text        NOT NULL,
    direction        text        NOT NULL CHECK (direction IN ('carry', 'reverse')),
    state            text        NOT NULL CHECK (state IN ('pending', 'opening', 'open', 'closing', 'closed', 'repairing', 'halted')),
    intent           text        NOT NULL CHECK (intent IN ('open', 'close', 'reduce', 'hedge')),
    target_qty       numeric     NOT NULL CHECK (target_qty >= 0),
    spot_qty         numeric     NOT NULL DEFAULT 0 CHECK (spot_qty >= 0),
    perp_qty         numeric     NOT NULL DEFAULT 0 CHECK (perp_qty >= 0),
    attempt          integer     NOT NULL DEFAULT 0,
    entry_spot_price numeric     NOT NULL DEFAULT 0,
    entry_perp_price numeric     NOT NULL DEFAULT 0,
    entry_basis      numeric     NOT NULL DEFAULT 0,
    reason           text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    opened_at        timestamptz,
    closed_at        timestamptz
);
-- At most one live pair per symbol and account: funding and positions are attributed unambiguously.
CREATE UNIQUE INDEX pairs_one_live_per_symbol ON pairs (account_id, symbol) WHERE state <> 'closed';
CREATE INDEX pairs_account_state ON pairs (account_id, state);

CREATE TABLE pair_transitions (
    id               bigserial PRIMARY KEY,
    pair_id          bigint      NOT NULL REFERENCES pairs (id),
    from_state       text        NOT NULL,
    to_state         text        NOT NULL,
    attempt          integer     NOT NULL,
    reason           text        NOT NULL DEFAULT '',
    client_order_ids text[]      NOT NULL DEFAULT '{}',
    at               timestamptz NOT NULL
);
CREATE INDEX pair_transitions_pair ON pair_transitions (pair_id, id);

CREATE TABLE orders (
    id               bigserial PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES accounts (id),
    pair_id          bigint      REFERENCES pairs (id),
    client_order_id  text        NOT NULL UNIQUE,
    leg              text        NOT NULL DEFAULT '',
    purpose          text        NOT NULL DEFAULT '',
    venue            text        NOT NULL CHECK (venue IN ('spot', 'futures', 'margin')),
    symbol           text        NOT NULL,
    side             text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    type             text        NOT NULL,
    qty              numeric     NOT NULL CHECK (qty > 0),
    price            numeric     NOT NULL DEFAULT 0,
    reduce_only      boolean     NOT NULL DEFAULT false,
    side_effect      text        NOT NULL DEFAULT '',
    -- intent: committed, not yet known to the venue; unknown: sent, answer lost; else the venue's status.
    status           text        NOT NULL DEFAULT 'intent',
    venue_order_id   text        NOT NULL DEFAULT '',
    executed_qty     numeric     NOT NULL DEFAULT 0,
    cum_quote        numeric     NOT NULL DEFAULT 0,
    error            text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX orders_pair ON orders (pair_id);
CREATE INDEX orders_open ON orders (account_id) WHERE status IN ('intent', 'unknown', 'NEW', 'PARTIALLY_FILLED');

CREATE TABLE fills (
    id               bigserial PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES accounts (id),
    pair_id          bigint      REFERENCES pairs (id),
    client_order_id  text        NOT NULL DEFAULT '',
    venue_order_id   text        NOT NULL DEFAULT '',
    venue            text        NOT NULL CHECK (venue IN ('spot', 'futures', 'margin')),
    symbol           text        NOT NULL,
    trade_id         text        NOT NULL,
    side             text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    qty              numeric     NOT NULL CHECK (qty > 0),
    price            numeric     NOT NULL CHECK (price > 0),
    fee              numeric     NOT NULL DEFAULT 0,
    fee_asset        text        NOT NULL DEFAULT '',
    realized_pnl     numeric     NOT NULL DEFAULT 0,
    maker            boolean     NOT NULL DEFAULT false,
    at               timestamptz NOT NULL,
    UNIQUE (account_id, venue, symbol, trade_id)
);
CREATE INDEX fills_pair ON fills (pair_id);
CREATE INDEX fills_order ON fills (client_order_id);

CREATE TABLE funding_payments (
    id               bigserial PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES accounts (id),
    pair_id          bigint      REFERENCES pairs (id),
    tran_id          text        NOT NULL,
    symbol           text        NOT NULL,
    amount           numeric     NOT NULL,
    asset            text        NOT NULL,
    rate             numeric,
    mark_price       numeric,
    position_qty     numeric,
    at               timestamptz NOT NULL,
    UNIQUE (account_id, tran_id)
);
CREATE INDEX funding_payments_symbol_time ON funding_payments (account_id, symbol, at);
CREATE INDEX funding_payments_pair ON funding_payments (pair_id);

CREATE TABLE transfers (
    id               bigserial PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES accounts (id),
    pair_id          bigint      REFERENCES pairs (id),
    -- Our key for the move, committed before it is requested (Binance transfers have no client id).
    client_id        text        NOT NULL UNIQUE,
    tran_id          text        NOT NULL DEFAULT '',
    kind             text        NOT NULL,
    asset            text        NOT NULL,
    amount           numeric     NOT NULL CHECK (amount > 0),
    status           text        NOT NULL DEFAULT 'intent' CHECK (status IN ('intent', 'done', 'failed', 'unknown')),
    reason           text        NOT NULL DEFAULT '',
    error            text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX transfers_venue_id ON transfers (account_id, tran_id) WHERE tran_id <> '';

CREATE TABLE commands (
    id               bigserial PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES accounts (id),
    kind             text        NOT NULL,
    args             jsonb       NOT NULL DEFAULT '{}',
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    result           text        NOT NULL DEFAULT '',
    requested_by     text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX commands_pending ON commands (account_id, id) WHERE status IN ('pending', 'running');

-- +goose Down
DROP TABLE commands;
DROP TABLE transfers;
DROP TABLE funding_payments;
DROP TABLE fills;
DROP TABLE orders;
DROP TABLE pair_transitions;
DROP TABLE pairs;
DROP TABLE accounts;
