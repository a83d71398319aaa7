package paper

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Transfer moves an asset between the account's wallets. From futures, at most the available balance of the
// cross account can leave (Binance's max withdrawable); otherwise the free balance.
func (v *Venue) Transfer(ctx context.Context, req exchange.TransferRequest) (exchange.Transfer, error) {
	if !req.Kind.Valid() {
		return exchange.Transfer{}, exchange.Rejected(exchange.RejectOther, -1100, "unknown transfer type %q", req.Kind)
	}
	if req.Asset == "" || !req.Amount.IsPositive() {
		return exchange.Transfer{}, exchange.Rejected(exchange.RejectOther, -1100, "a transfer needs an asset and a positive amount (got %q %s)", req.Asset, req.Amount)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return exchange.Transfer{}, fmt.Errorf("paper transfer %s: %w", req.Kind, v.brokenErr())
	}
	from := req.Kind.From()
	maxAmt := v.free(from, req.Asset)
	if from == exchange.Futures && req.Asset == v.cfg.Quote {
		acct, err := v.account()
		if err != nil {
			return exchange.Transfer{}, fmt.Errorf("paper transfer %s: %w", req.Kind, err)
		}
		maxAmt = decimal.Max(decimal.Zero, decimal.Min(maxAmt, acct.AvailableBalance))
	}
	if from == exchange.Margin {
		m, err := v.marginTransferable(ctx, req.Asset, maxAmt)
		if err != nil {
			return exchange.Transfer{}, fmt.Errorf("paper transfer %s: %w", req.Kind, err)
		}
		maxAmt = m
	}
	if req.Amount.GreaterThan(maxAmt) {
		return exchange.Transfer{}, exchange.Rejected(exchange.RejectInsufficient, -5013,
			"Asset transfer failed: insufficient balance (%s %s requested, %s transferable from %s)", req.Amount, req.Asset, maxAmt, from)
	}
	now := v.clk.Now().UTC()
	rec := &transferRec{TranID: fmt.Sprintf("paper-tr-%d", v.st.transferSeq+1), Kind: req.Kind, Asset: req.Asset, Amount: req.Amount, Time: now}
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(jctx, KindTransfer, now, rec); err != nil {
		return exchange.Transfer{}, fmt.Errorf("paper transfer %s %s %s: %w", req.Kind, req.Amount, req.Asset, err)
	}
	return v.st.transfers[len(v.st.transfers)-1], nil
}

// applyTransfer books a wallet move.
func (v *Venue) applyTransfer(r *transferRec) {
	v.st.transferSeq++
	src, dst := v.wallet(r.Kind.From(), r.Asset), v.wallet(r.Kind.To(), r.Asset)
	src.free = src.free.Sub(r.Amount)
	dst.free = dst.free.Add(r.Amount)
	v.st.transfers = append(v.st.transfers, exchange.Transfer{TranID: r.TranID, Kind: r.Kind, Asset: r.Asset, Amount: r.Amount, Time: r.Time})
}

// Transfers lists moves of one kind (every kind when kind is "") with time ≥ since, oldest first.
func (v *Venue) Transfers(_ context.Context, kind exchange.TransferKind, since time.Time) ([]exchange.Transfer, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return nil, v.brokenErr()
	}
	var out []exchange.Transfer
	for _, t := range v.st.transfers {
		if (kind == "" || t.Kind == kind) && !t.Time.Before(since) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Balances lists a wallet's assets by name. Spot: free and locked (held by resting orders). Margin: free,
// locked, and the loan's Borrowed principal and accrued Interest (charged up to the clock).
// Futures: Free is the cross wallet balance and Locked the isolated positions' wallets, so Total is the
// wallet balance (realized PnL, fees, funding and transfers, without unrealised PnL).
func (v *Venue) Balances(ctx context.Context, venue exchange.Venue) ([]exchange.Balance, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return nil, v.brokenErr()
	}
	if venue == exchange.Margin {
		return v.marginBalances(ctx)
	}
	w := v.st.wallets[venue]
	var isolated decimal.Decimal
	if venue == exchange.Futures {
		for _, p := range v.st.positions {
			isolated = isolated.Add(p.isoWallet)
		}
	}
	var out []exchange.Balance
	for _, a := range sortedKeys(w) {
		b := exchange.Balance{Venue: venue, Asset: a, Free: w[a].free, Locked: w[a].locked}
		if venue == exchange.Futures && a == v.cfg.Quote {
			b.Locked = isolated
		}
		if b.Free.IsZero() && b.Locked.IsZero() {
			continue
		}
		out = append(out, b)
	}
	return out, nil
}
