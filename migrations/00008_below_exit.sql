-- +goose Up
-- How many consecutive funding settlements a live pair's carry has been below the exit threshold
-- (strategy.exit_apr): the policy closes it at strategy.exit_settlements. Kept so a restart does not reset it.
ALTER TABLE pairs ADD COLUMN below_exit integer NOT NULL DEFAULT 0 CHECK (below_exit >= 0);

-- +goose Down
ALTER TABLE pairs DROP COLUMN below_exit;
