package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/pair"
)

// ensureMargin makes the futures wallet hold the initial margin a new pair of qty needs (notional/L plus a
// buffer), moving the shortfall from the spot wallet's quote asset. It refuses when the spot wallet cannot
// pay for both the margin and the spot leg.
func (e *Executor) ensureMargin(ctx context.Context, p *pair.Pair, m Market, qty decimal.Decimal) error {
	pq, err := e.quote(ctx, exchange.Futures, p.Symbol)
	if err != nil {
		return err
	}
	sq, err := e.quote(ctx, exchange.Spot, p.Symbol)
	if err != nil {
		return err
	}
	if p.Direction == pair.Reverse {
		return e.ensureReverseFunds(ctx, p, m, qty, pq, sq)
	}
	need := e.perpMargin(qty, pq.Ask)
	acct, err := e.venue.FuturesAccount(ctx)
	if err != nil {
		return fmt.Errorf("reading the futures account: %w", err)
	}
	short := need.Sub(acct.AvailableBalance)
	spotCost := decimal.Zero
	if p.Direction == pair.Carry {
		spotCost = exchange.SpotBuyGrossUp(qty, m.SpotFee.Taker, m.Spot.StepSize).Mul(sq.Ask)
	}
	free, err := e.freeIn(ctx, exchange.Spot, e.cfg.QuoteAsset)
	if err != nil {
		return err
	}
	if !short.IsPositive() {
		if free.GreaterThanOrEqual(spotCost) {
			return nil
		}
		// The spot leg is short of funds while the futures wallet holds more than this pair needs (margin
		// left there by closed pairs): bring the difference back.
		spare := acct.AvailableBalance.Sub(need)
		want := exchange.CeilToStep(spotCost.Sub(free), transferStep)
		if spare.LessThan(want) {
			return fmt.Errorf("spot wallet has %s %s free and futures %s spare; the spot leg costs %s",
				free.StringFixed(2), e.cfg.QuoteAsset, spare.StringFixed(2), spotCost.StringFixed(2))
		}
		return e.Transfer(ctx, p.ID, exchange.FuturesToSpot, e.cfg.QuoteAsset, want, fmt.Sprintf("spot funds for pair %d", p.ID))
	}
	short = exchange.CeilToStep(short, transferStep)
	if free.LessThan(short.Add(spotCost)) {
		return fmt.Errorf("spot wallet has %s %s free; the pair needs %s for the spot leg and %s of futures margin",
			free.StringFixed(2), e.cfg.QuoteAsset, spotCost.StringFixed(2), short.StringFixed(2))
	}
	return e.Transfer(ctx, p.ID, exchange.SpotToFutures, e.cfg.QuoteAsset, short, fmt.Sprintf("margin for pair %d", p.ID))
}

// Transfer moves an asset between wallets with the same write-ahead discipline as orders: the move is
// recorded before it is requested, and an answer that was lost is resolved from the venue's history.
func (e *Executor) Transfer(ctx context.Context, pairID int64, kind exchange.TransferKind, asset string, amount decimal.Decimal, reason string) error {
	now := e.clock.Now()
	e.mu.Lock()
	e.transferSeq++
	seq := e.transferSeq
	e.mu.Unlock()
	rec := store.TransferRecord{ClientID: fmt.Sprintf("%s-t%d-%d-%d", e.account.ClientPrefix, pairID, now.UnixNano(), seq),
		PairID: pairID, Kind: kind, Asset: asset, Amount: amount, Reason: reason, CreatedAt: now}
	if err := e.j.CommitTransfer(ctx, e.account.ID, rec); err != nil {
		return err
	}
	e.crash("transfer.after_intent")
	t, err := e.venue.Transfer(ctx, exchange.TransferRequest{Kind: kind, Asset: asset, Amount: amount})
	e.changed()
	at := e.clock.Now()
	switch {
	case err == nil:
		e.log.Info().Str("kind", string(kind)).Str("amount", amount.String()).Str("asset", asset).Str("reason", reason).Msg("transfer done")
		return e.j.FinishTransfer(ctx, rec.ClientID, store.TransferDone, t.TranID, "", at)
	case exchange.IsRejected(err):
		if jerr := e.j.FinishTransfer(ctx, rec.ClientID, store.TransferFailed, "", err.Error(), at); jerr != nil {
			// Left as intent: recovery finds it absent from the venue's history and marks it failed.
			e.log.Error().Err(jerr).Str("client_id", rec.ClientID).Msg("recording a refused transfer failed")
		}
		return fmt.Errorf("transfer %s %s %s refused: %w", kind, amount, asset, err)
	default:
		if jerr := e.j.FinishTransfer(ctx, rec.ClientID, store.TransferUnknown, "", err.Error(), at); jerr != nil {
			e.log.Error().Err(jerr).Str("client_id", rec.ClientID).Msg("recording a transfer's unknown outcome failed; resolving it now")
		}
		got, rerr := e.resolveTransfer(ctx, rec, true)
		if rerr != nil {
			return fmt.Errorf("transfer %s %s %s: outcome unknown (%v): %w", kind, amount, asset, err, rerr)
		}
		if got != store.TransferDone {
			return fmt.Errorf("transfer %s %s %s did not happen: %w", kind, amount, asset, err)
		}
		return nil
	}
}

// resolveTransfers settles every transfer left as intent or unknown (after a crash).
func (e *Executor) resolveTransfers(ctx context.Context) error {
	pending, err := e.j.Transfers(ctx, e.account.ID, true)
	if err != nil {
		return err
	}
	for _, t := range pending {
		if _, err := e.resolveTransfer(ctx, t, false); err != nil {
			return err
		}
	}
	return nil
}

// resolveTransfer looks for the transfer in the venue's history (same kind, asset and amount, at or after
// it was committed, not already claimed by another record). Absent once the receive window has passed, it
// never happened. It returns the status it recorded: done or failed.
func (e *Executor) resolveTransfer(ctx context.Context, t store.TransferRecord, wait bool) (string, error) {
	known := map[string]bool{}
	all, err := e.j.Transfers(ctx, e.account.ID, false)
	if err != nil {
		return "", err
	}
	for _, r := range all {
		if r.TranID != "" {
			known[r.TranID] = true
		}
	}
	deadline := time.Now().Add(e.cfg.MaxUnhedged)
	for {
		hist, err := e.venue.Transfers(ctx, t.Kind, t.CreatedAt.Add(-time.Minute))
		if err == nil {
			for _, h := range hist {
				if h.Asset == t.Asset && h.Amount.Equal(t.Amount) && !known[h.TranID] {
					return store.TransferDone, e.j.FinishTransfer(ctx, t.ClientID, store.TransferDone, h.TranID, "", e.clock.Now())
				}
			}
			if !e.clock.Now().Before(t.CreatedAt.Add(e.cfg.RecvWindow)) {
				return store.TransferFailed, e.j.FinishTransfer(ctx, t.ClientID, store.TransferFailed, "", "not in the venue's transfer history", e.clock.Now())
			}
		}
		if !wait && err != nil {
			return "", fmt.Errorf("resolving transfer %s: %w", t.ClientID, err)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("resolving transfer %s: still unknown: %v", t.ClientID, err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// transferStep is the precision of wallet transfers carry asks for: cents of the quote asset.
var transferStep = decimal.New(1, -2)

// perpMargin is the futures margin a perp of qty at price needs: its initial margin (notional ÷ leverage)
// plus the configured buffer on the notional.
func (e *Executor) perpMargin(qty, price decimal.Decimal) decimal.Decimal {
	notional := qty.Mul(price)
	return notional.DivRound(decimal.NewFromInt(int64(max(e.cfg.Leverage, 1))), 8).Add(notional.Mul(e.cfg.MarginBuffer))
}

// ensureReverseFunds prepares a reverse pair of qty: the long perp's initial margin in the futures wallet and
// collateral in the cross-margin wallet (notional ÷ leverage, so the margin level starts at 1 + 1/L), both
// moved from the spot wallet's quote asset, and checks the venue lets the base asset be borrowed.
func (e *Executor) ensureReverseFunds(ctx context.Context, p *pair.Pair, m Market, qty decimal.Decimal, pq, sq exchange.Quote) error {
	b, ok := e.venue.(exchange.Borrowing)
	if !ok {
		return fmt.Errorf("this venue cannot borrow: reverse carry is not possible")
	}
	l := decimal.NewFromInt(int64(max(e.cfg.Leverage, 1)))
	perpNeed := e.perpMargin(qty, pq.Ask)
	// 2% over notional ÷ L: the venue's borrow limit is computed on the same collateral, so exactly
	// notional ÷ L sits at the limit and rounding can refuse the borrow.
	collateral := qty.Mul(sq.Bid).DivRound(l, 8).Mul(decimal.RequireFromString("1.02"))
	acct, err := e.venue.FuturesAccount(ctx)
	if err != nil {
		return fmt.Errorf("reading the futures account: %w", err)
	}
	marginFree, err := e.freeIn(ctx, exchange.Margin, e.cfg.QuoteAsset)
	if err != nil {
		return err
	}
	toFutures := exchange.CeilToStep(decimal.Max(perpNeed.Sub(acct.AvailableBalance), decimal.Zero), transferStep)
	toMargin := exchange.CeilToStep(decimal.Max(collateral.Sub(marginFree), decimal.Zero), transferStep)
	free, err := e.freeIn(ctx, exchange.Spot, e.cfg.QuoteAsset)
	if err != nil {
		return err
	}
	if free.LessThan(toFutures.Add(toMargin)) {
		return fmt.Errorf("spot wallet has %s %s free; the reverse pair needs %s of futures margin and %s of margin collateral",
			free.StringFixed(2), e.cfg.QuoteAsset, toFutures.StringFixed(2), toMargin.StringFixed(2))
	}
	if toFutures.IsPositive() {
		if err := e.Transfer(ctx, p.ID, exchange.SpotToFutures, e.cfg.QuoteAsset, toFutures, fmt.Sprintf("margin for pair %d", p.ID)); err != nil {
			return err
		}
	}
	if toMargin.IsPositive() {
		if err := e.Transfer(ctx, p.ID, exchange.SpotToMargin, e.cfg.QuoteAsset, toMargin, fmt.Sprintf("collateral for pair %d", p.ID)); err != nil {
			return err
		}
	}
	maxB, err := b.MaxBorrowable(ctx, m.Spot.Base)
	if err != nil {
		return fmt.Errorf("reading the borrowable %s: %w", m.Spot.Base, err)
	}
	if maxB.LessThan(qty) {
		return fmt.Errorf("only %s %s can be borrowed; the pair needs %s", maxB, m.Spot.Base, qty)
	}
	return nil
}

// freeIn is the free balance of asset in a wallet.
func (e *Executor) freeIn(ctx context.Context, venue exchange.Venue, asset string) (decimal.Decimal, error) {
	bals, err := e.venue.Balances(ctx, venue)
	if err != nil {
		return decimal.Zero, fmt.Errorf("reading %s balances: %w", venue, err)
	}
	for _, b := range bals {
		if b.Asset == asset {
			return b.Free, nil
		}
	}
	return decimal.Zero, nil
}

// loanOf is what is owed of asset (principal and interest); zero when the venue does not lend.
func (e *Executor) loanOf(ctx context.Context, asset string) (decimal.Decimal, error) {
	b, ok := e.venue.(exchange.Borrowing)
	if !ok {
		return decimal.Zero, nil
	}
	loans, err := b.Loans(ctx)
	if err != nil {
		return decimal.Zero, fmt.Errorf("reading what is owed of %s: %w", asset, err)
	}
	for _, l := range loans {
		if l.Asset == asset {
			return l.Principal.Add(l.Interest), nil
		}
	}
	return decimal.Zero, nil
}

// releaseCollateral moves the cross-margin wallet's free quote asset back to spot once no reverse pair
// needs it (nothing is owed).
func (e *Executor) releaseCollateral(ctx context.Context, pairID int64) {
	b, ok := e.venue.(exchange.Borrowing)
	if !ok {
		return
	}
	loans, err := b.Loans(ctx)
	if err != nil {
		e.log.Warn().Err(err).Msg("reading loans failed; margin collateral stays in the margin wallet")
		return
	}
	for _, l := range loans {
		if l.Principal.IsPositive() || l.Interest.IsPositive() {
			return
		}
	}
	free, err := e.freeIn(ctx, exchange.Margin, e.cfg.QuoteAsset)
	if err != nil {
		e.log.Warn().Err(err).Msg("margin collateral stays in the margin wallet")
		return
	}
	if !free.IsPositive() {
		return
	}
	if err := e.Transfer(ctx, pairID, exchange.MarginToSpot, e.cfg.QuoteAsset, exchange.FloorToStep(free, transferStep), "collateral back to spot"); err != nil {
		e.log.Warn().Err(err).Msg("moving margin collateral back to spot failed")
	}
}
