package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

// cli is what the operator commands share: the database, the account, and (when Binance answers) its
// public market data for valuing positions.
type cli struct {
	a      *app
	db     *database
	acct   store.Account
	market *binance.Client // public market data; nil when unreachable or in backtest mode
	note   string          // why market data is missing
}

// openCLI opens the database and the account. Read commands never take the account lock.
func (a *app) openCLI(ctx context.Context, withMarket bool) (*cli, error) {
	if a.logLevel == "" {
		a.logLevel = "warn" // an operator reads the command's output, not the bot's logs
	}
	if err := a.load(); err != nil {
		return nil, err
	}
	db, err := a.openDatabase(ctx)
	if err != nil {
		return nil, err
	}
	c := &cli{a: a, db: db}
	acct, err := db.FindAccount(ctx, a.cfg.Account.Name, a.cfg.Mode)
	if errors.Is(err, store.ErrNotFound) {
		db.Close()
		return nil, withCode(exitNotFound, fmt.Errorf("account %q has no records in %s mode yet (start the bot with `carry run --mode %s`)", a.cfg.Account.Name, a.cfg.Mode, a.cfg.Mode))
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	c.acct = acct
	if withMarket && a.cfg.Mode != config.ModeBacktest {
		client, err := binance.New(a.binanceConfig(false), a.log)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = client.Quote(pctx, exchange.Spot, a.cfg.Universe.Symbols[0])
			cancel()
		}
		if err != nil {
			c.note = "Binance market data unavailable (" + err.Error() + "): open positions are not valued"
		} else {
			c.market = client
		}
	}
	return c, nil
}

func (c *cli) close() {
	if c.market != nil {
		c.market.Close()
	}
	c.db.Close()
}

// prices returns the spot and perp mids of a symbol (zero when unknown).
func (c *cli) prices(ctx context.Context, symbol string) accounting.Prices {
	if c.market == nil {
		return accounting.Prices{}
	}
	var px accounting.Prices
	if q, err := c.market.Quote(ctx, exchange.Spot, symbol); err == nil {
		px.Spot = q.Mid()
	}
	if q, err := c.market.Quote(ctx, exchange.Futures, symbol); err == nil {
		px.Perp = q.Mid()
	}
	return px
}

// pairPnL accounts one pair from its records.
func (c *cli) pairPnL(ctx context.Context, p pair.Pair, px accounting.Prices) (accounting.PairPnL, error) {
	return accountPair(ctx, c.db.Store, c.acct.ID, p, px, baseOf(p.Symbol, c.a.cfg.Universe.QuoteAsset), c.a.cfg.Universe.QuoteAsset)
}

// accountPair accounts one pair from what Postgres recorded: its fills, funding payments and loan
// transactions, valued at px.
func accountPair(ctx context.Context, st *store.Store, accountID int64, p pair.Pair, px accounting.Prices, base, quote string) (accounting.PairPnL, error) {
	recs := pairRecords{}
	if err := recs.load(ctx, st, accountID, p.ID); err != nil {
		return accounting.PairPnL{}, err
	}
	return recs.account(p, px, base, quote), nil
}

// pairRecords are what Postgres recorded of an account's pairs, by pair id: fills, funding payments and
// loan transactions.
type pairRecords map[int64]*pairRecord

type pairRecord struct {
	fills   []exchange.Fill
	funding []exchange.FundingPayment
	loans   []exchange.LoanTx
}

// load reads the records of one pair, or with pairID 0 those of every pair of the account: three queries
// either way, so accounting all of an account's pairs needs no query per pair.
func (r pairRecords) load(ctx context.Context, st *store.Store, accountID, pairID int64) error {
	fills, err := st.Fills(ctx, accountID, pairID)
	if err != nil {
		return err
	}
	funding, err := st.FundingPayments(ctx, accountID, pairID)
	if err != nil {
		return err
	}
	loans, err := st.LoanTxs(ctx, accountID, store.LoanFilter{PairID: pairID})
	if err != nil {
		return err
	}
	for _, f := range fills {
		r.of(f.PairID).fills = append(r.of(f.PairID).fills, f.Fill)
	}
	for _, f := range funding {
		r.of(f.PairID).funding = append(r.of(f.PairID).funding, f.FundingPayment)
	}
	for _, l := range loans {
		r.of(l.PairID).loans = append(r.of(l.PairID).loans, l.LoanTx)
	}
	return nil
}

func (r pairRecords) of(pairID int64) *pairRecord {
	rec := r[pairID]
	if rec == nil {
		rec = &pairRecord{}
		r[pairID] = rec
	}
	return rec
}

// traded reports whether the pair has any record (a fill, a funding payment, a loan transaction): a pair
// refused before any order filled has none and nothing to account.
func (r pairRecords) traded(pairID int64) bool {
	rec := r[pairID]
	return rec != nil && len(rec.fills)+len(rec.funding)+len(rec.loans) > 0
}

// account accounts pair p from its loaded records, valued at px.
func (r pairRecords) account(p pair.Pair, px accounting.Prices, base, quote string) accounting.PairPnL {
	rec := r[p.ID]
	if rec == nil {
		rec = &pairRecord{}
	}
	return accounting.Compute(p, rec.fills, rec.funding, rec.loans, px, base, quote)
}

// botRunning reports whether a bot (or a CLI carrying a command out itself) holds the account's lock. It
// only looks (pg_locks): taking the lock to find out, even briefly, would refuse a `carry run` starting at
// that moment as a second bot.
func (c *cli) botRunning(ctx context.Context) (bool, error) {
	return c.db.AccountLocked(ctx, c.acct.Name, c.acct.Mode)
}

func baseOf(symbol, quote string) string {
	if len(symbol) > len(quote) && symbol[len(symbol)-len(quote):] == quote {
		return symbol[:len(symbol)-len(quote)]
	}
	return symbol
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonFlag adds --json to a read command.
func jsonFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "json", false, "print JSON instead of a table")
}

// money formats an amount with 2 decimals and a sign.
func money(d decimal.Decimal) string {
	s := d.StringFixed(2)
	if d.IsPositive() {
		s = "+" + s
	}
	return s
}

func pct(d decimal.Decimal, places int32) string {
	if d.IsZero() {
		return "-"
	}
	return d.Shift(2).StringFixed(places) + "%"
}
