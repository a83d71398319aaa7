package binance

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Cross margin (reverse carry): exchange.Borrowing, margin orders and the margin wallet, over go-binance's
// /sapi/v1/margin services. go-binance has no working margin user-data stream, so nothing here is pushed:
// the margin account (Balances(exchange.Margin), Loans, MarginLevel), loan history and margin orders
// (QueryOrder) are read over REST, and a caller that watches them polls.

var _ exchange.Borrowing = (*Client)(nil)

// Binance margin codes.
const (
	codeExceedMaxBorrowable = -3006 // "Your borrow amount has exceed maximum borrow amount."
	codeRepayExceedsDebt    = -3015 // "Repay amount exceeds borrow amount."
	codeBalanceNotEnough    = -3041 // "Balance is not enough"
	codeNoInventory         = -3045 // "The system does not have enough asset now."
)

// marginHistory is how far back LoanHistory reads: Binance serves six months without archived=true.
const marginHistory = 180 * 24 * time.Hour

// historyPage is the page size of the margin history endpoints (their maximum).
const historyPage = 100

// MaxBorrowable is how much of asset the cross-margin account can borrow now (GET
// /sapi/v1/margin/maxBorrowable "amount": the account's limit with the system's availability).
func (c *Client) MaxBorrowable(ctx context.Context, asset string) (decimal.Decimal, error) {
	var res *binance.MaxBorrowable
	err := c.do(ctx, "margin maxBorrowable "+asset, true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.spot.NewGetMaxBorrowableService().Asset(asset).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return decimal.Zero, err
	}
	var p nums
	amount := p.dec("amount", res.Amount)
	if p.err != nil {
		return decimal.Zero, fmt.Errorf("margin maxBorrowable %s: %w", asset, p.err)
	}
	return amount, nil
}

// Borrow takes a cross-margin loan (POST /sapi/v1/margin/borrow-repay, type BORROW). A *exchange.RejectError
// means nothing was borrowed (-3006 past max borrowable and -3045 without inventory are RejectInsufficient);
// an error wrapping ErrOutcomeUnknown must be resolved with LoanHistory before borrowing again.
func (c *Client) Borrow(ctx context.Context, asset string, amount decimal.Decimal) (exchange.LoanTx, error) {
	return c.borrowRepay(ctx, binance.MarginAccountBorrow, exchange.LoanBorrow, asset, amount)
}

// Repay repays amount of asset's loan; Binance takes interest first. Errors as Borrow (-3015 more than
// owed, -3041 balance not enough). The answer's Principal is read back from the repayment record when
// Binance has it.
func (c *Client) Repay(ctx context.Context, asset string, amount decimal.Decimal) (exchange.LoanTx, error) {
	return c.borrowRepay(ctx, binance.MarginAccountRepay, exchange.LoanRepay, asset, amount)
}

func (c *Client) borrowRepay(ctx context.Context, typ binance.MarginAccountBorrowRepayType, kind exchange.LoanKind, asset string, amount decimal.Decimal) (exchange.LoanTx, error) {
	op := fmt.Sprintf("margin %s %s %s", strings.ToLower(string(typ)), amount, asset)
	if asset == "" || !amount.IsPositive() {
		return exchange.LoanTx{}, exchange.Rejected(exchange.RejectOther, 0, "%s: needs an asset and a positive amount; nothing was sent", op)
	}
	var res *binance.TransactionResponse
	info, err := c.call(ctx, true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.spot.NewMarginBorrowRepayService().Asset(asset).Amount(amount.String()).IsIsolated(false).Type(typ).
			Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return exchange.LoanTx{}, c.orderError(op, err, info)
	}
	if res.TranID == 0 {
		return exchange.LoanTx{}, fmt.Errorf("%s: %w: the answer has no tranId", op, ErrOutcomeUnknown)
	}
	tx := exchange.LoanTx{TranID: strconv.FormatInt(res.TranID, 10), Kind: kind, Asset: asset, Amount: amount, Time: time.Now().UTC()}
	// The record says when Binance booked it and, for a repayment, how much of it was principal. Best
	// effort: the borrow or repayment happened either way.
	var rows *binance.MarginBorrowRepayResponse
	if err := c.do(ctx, op+" record", true, func(ctx context.Context, a *apis) error {
		var err error
		rows, err = a.spot.NewListMarginBorrowRepayService().Type(typ).Asset(asset).TxId(res.TranID).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	}); err == nil {
		for _, r := range rows.Rows {
			if r.TxID == res.TranID {
				if got, err := loanRowTx(r, kind); err == nil {
					tx = got
				}
			}
		}
	}
	return tx, nil
}

// loanRowTx maps a borrow-repay record.
func loanRowTx(r binance.MarginBorrowRepay, kind exchange.LoanKind) (exchange.LoanTx, error) {
	var p nums
	tx := exchange.LoanTx{TranID: strconv.FormatInt(r.TxID, 10), Kind: kind, Asset: r.Asset, Time: msTime(r.Timestamp)}
	principal := p.dec("principal", r.Principal)
	if r.Amount != "" {
		tx.Amount = p.dec("amount", r.Amount)
	} else {
		tx.Amount = principal
	}
	if kind == exchange.LoanRepay {
		tx.Principal = principal
	}
	return tx, p.err
}

// HourlyInterestRate is the rate Binance will charge for the next hour on a cross-margin loan of asset
// (GET /sapi/v1/margin/next-hourly-interest-rate).
func (c *Client) HourlyInterestRate(ctx context.Context, asset string) (decimal.Decimal, error) {
	var res *binance.MarginNextHourlyInterestRate
	err := c.do(ctx, "margin next hourly interest rate "+asset, true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.spot.NewMarginNextHourlyInterestRateService().Assets(asset).Isolated(false).Do(ctx)
		return err
	})
	if err != nil {
		return decimal.Zero, err
	}
	for _, r := range *res {
		if strings.EqualFold(r.Asset, asset) {
			var p nums
			rate := p.dec("nextHourlyInterestRate", r.NextHourlyInterestRate)
			return rate, p.err
		}
	}
	return decimal.Zero, fmt.Errorf("margin next hourly interest rate: Binance answered no rate for %s: %w", asset, exchange.ErrNotFound)
}

// marginAccount reads GET /sapi/v1/margin/account.
func (c *Client) marginAccount(ctx context.Context) (*binance.MarginAccount, error) {
	var res *binance.MarginAccount
	err := c.do(ctx, "margin account", true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.spot.NewGetMarginAccountService().Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	return res, err
}

// marginBalances is the margin wallet: free, locked, borrowed and interest per asset (non-zero only).
func (c *Client) marginBalances(ctx context.Context) ([]exchange.Balance, error) {
	res, err := c.marginAccount(ctx)
	if err != nil {
		return nil, err
	}
	var p nums
	out := make([]exchange.Balance, 0, len(res.UserAssets))
	for _, u := range res.UserAssets {
		b := exchange.Balance{Venue: exchange.Margin, Asset: u.Asset, Free: p.dec("free", u.Free), Locked: p.dec("locked", u.Locked),
			Borrowed: p.dec("borrowed", u.Borrowed), Interest: p.dec("interest", u.Interest)}
		if b.Free.IsZero() && b.Locked.IsZero() && b.Borrowed.IsZero() && b.Interest.IsZero() {
			continue
		}
		out = append(out, b)
	}
	if p.err != nil {
		return nil, fmt.Errorf("margin account: %w", p.err)
	}
	return out, nil
}

// Loans lists the outstanding cross-margin loans (borrowed principal and unpaid interest) by asset.
func (c *Client) Loans(ctx context.Context) ([]exchange.Loan, error) {
	bs, err := c.marginBalances(ctx)
	if err != nil {
		return nil, err
	}
	var out []exchange.Loan
	for _, b := range bs {
		if b.Borrowed.IsPositive() || b.Interest.IsPositive() {
			out = append(out, exchange.Loan{Asset: b.Asset, Principal: b.Borrowed, Interest: b.Interest})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
	return out, nil
}

// MarginLevel is the cross-margin account's margin level as Binance reports it (999 when nothing is owed).
func (c *Client) MarginLevel(ctx context.Context) (decimal.Decimal, error) {
	res, err := c.marginAccount(ctx)
	if err != nil {
		return decimal.Zero, err
	}
	var p nums
	lvl := p.dec("marginLevel", res.MarginLevel)
	if p.err != nil {
		return decimal.Zero, fmt.Errorf("margin account: %w", p.err)
	}
	return lvl, nil
}

// LoanHistory lists borrows, repayments (GET /sapi/v1/margin/borrow-repay) and interest charges (GET
// /sapi/v1/margin/interestHistory) of asset ("" for every asset) with time ≥ since, oldest first. Binance
// answers at most 30 days per request with an asset (7 without), newest first, 100 rows a page: the range
// is walked in windows and pages. since is clamped to six months ago (what Binance keeps unarchived).
// Failed borrow/repay records are left out; pending ones are kept (they may still complete).
func (c *Client) LoanHistory(ctx context.Context, asset string, since time.Time) ([]exchange.LoanTx, error) {
	now := time.Now()
	if oldest := now.Add(-marginHistory); since.Before(oldest) {
		since = oldest
	}
	window := 30 * 24 * time.Hour
	if asset == "" {
		window = 7 * 24 * time.Hour
	}
	var out []exchange.LoanTx
	for from := since; from.Before(now); from = from.Add(window) {
		to := from.Add(window).Add(-time.Millisecond)
		for _, kind := range []exchange.LoanKind{exchange.LoanBorrow, exchange.LoanRepay} {
			txs, err := c.borrowRepayHistory(ctx, kind, asset, from, to)
			if err != nil {
				return nil, err
			}
			out = append(out, txs...)
		}
		txs, err := c.interestHistory(ctx, asset, from, to)
		if err != nil {
			return nil, err
		}
		out = append(out, txs...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func (c *Client) borrowRepayHistory(ctx context.Context, kind exchange.LoanKind, asset string, from, to time.Time) ([]exchange.LoanTx, error) {
	typ := binance.MarginAccountBorrow
	if kind == exchange.LoanRepay {
		typ = binance.MarginAccountRepay
	}
	var out []exchange.LoanTx
	for page := int64(1); ; page++ {
		var res *binance.MarginBorrowRepayResponse
		err := c.do(ctx, fmt.Sprintf("margin %s history page %d", strings.ToLower(string(typ)), page), true, func(ctx context.Context, a *apis) error {
			svc := a.spot.NewListMarginBorrowRepayService().Type(typ).StartTime(from.UnixMilli()).EndTime(to.UnixMilli()).Current(page).Size(historyPage)
			if asset != "" {
				svc.Asset(asset)
			}
			var err error
			res, err = svc.Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range res.Rows {
			if r.Status == binance.MarginAccountBorrowRepayStatusFailed {
				continue
			}
			tx, err := loanRowTx(r, kind)
			if err != nil {
				return nil, fmt.Errorf("margin %s history: %w", strings.ToLower(string(typ)), err)
			}
			out = append(out, tx)
		}
		if len(res.Rows) < historyPage || page*historyPage >= res.Total {
			return out, nil
		}
	}
}

func (c *Client) interestHistory(ctx context.Context, asset string, from, to time.Time) ([]exchange.LoanTx, error) {
	var out []exchange.LoanTx
	for page := int64(1); ; page++ {
		var res *binance.MarginInterestHistory
		err := c.do(ctx, fmt.Sprintf("margin interest history page %d", page), true, func(ctx context.Context, a *apis) error {
			svc := a.spot.NewMarginInterestHistoryService().StartTime(from.UnixMilli()).EndTime(to.UnixMilli()).Current(page).Size(historyPage)
			if asset != "" {
				svc.Asset(asset)
			}
			var err error
			res, err = svc.Do(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		var p nums
		for _, r := range res.Rows {
			if r.IsolatedSymbol != "" {
				continue
			}
			a := r.Asset
			if a == "" {
				a = r.RawAsset
			}
			out = append(out, exchange.LoanTx{TranID: strconv.FormatInt(r.TxId, 10), Kind: exchange.LoanInterest, Asset: a,
				Amount: p.dec("interest", r.Interest), Rate: p.dec("interestRate", r.InterestRate), Principal: p.dec("principal", r.Principal),
				Time: msTime(r.InterestAccuredTime)})
		}
		if p.err != nil {
			return nil, fmt.Errorf("margin interest history: %w", p.err)
		}
		if len(res.Rows) < historyPage || page*historyPage >= res.Total {
			return out, nil
		}
	}
}

// Margin orders.

// sideEffect maps carry's side effect to Binance's sideEffectType.
func sideEffect(se exchange.SideEffect) binance.SideEffectType {
	if se == exchange.NoSideEffect {
		return binance.SideEffectTypeNoSideEffect
	}
	return binance.SideEffectType(se)
}

// placeMargin sends a cross-margin order (POST /sapi/v1/margin/order) with its side effect; the FULL answer
// carries the fills.
func (c *Client) placeMargin(ctx context.Context, op string, req exchange.OrderRequest) (exchange.Order, error) {
	switch req.SideEffect {
	case exchange.NoSideEffect, exchange.AutoBorrow, exchange.AutoRepay, exchange.BorrowRepay:
	default:
		return exchange.Order{}, exchange.Rejected(exchange.RejectOther, 0, "%s: unknown side effect %q; nothing was sent", op, req.SideEffect)
	}
	if req.ReduceOnly {
		return exchange.Order{}, exchange.Rejected(exchange.RejectOther, 0, "%s: reduceOnly is for futures; nothing was sent", op)
	}
	return placeSpotLike(ctx, c, op, req, func(a *apis) *binance.CreateMarginOrderService {
		return a.spot.NewCreateMarginOrderService().SideEffectType(sideEffect(req.SideEffect))
	})
}

// queryMargin finds a margin order by client id (GET /sapi/v1/margin/order) with its fills (GET
// /sapi/v1/margin/myTrades from the order's time, filtered by order id).
func (c *Client) queryMargin(ctx context.Context, op, symbol, clientID string) (exchange.Order, error) {
	var res *binance.Order
	err := c.do(ctx, op, true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.spot.NewGetMarginOrderService().Symbol(symbol).OrigClientOrderID(clientID).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return exchange.Order{}, err
	}
	o, err := spotOrder(res, exchange.Margin)
	if err != nil {
		return exchange.Order{}, fmt.Errorf("%s: %w", op, err)
	}
	if o.ExecutedQty.IsPositive() {
		fills, err := c.marginFills(ctx, symbol, res.OrderID, o.ClientID, res.Time, o.ExecutedQty)
		o.Fills = fills
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// marginFills reads an order's trades: margin myTrades has no order filter in go-binance, so it reads the
// symbol's trades from the order's time on (by pages, as Trades does) and keeps the order's own, until they
// add up to its executed quantity.
func (c *Client) marginFills(ctx context.Context, symbol string, orderID int64, clientID string, sinceMS int64, executed decimal.Decimal) ([]exchange.Fill, error) {
	id := strconv.FormatInt(orderID, 10)
	var out []exchange.Fill
	sum := decimal.Zero
	var fromID int64
	for range maxTradePages {
		batch, next, err := c.tradesPage(ctx, exchange.Margin, symbol, time.UnixMilli(sinceMS-1000), time.Time{}, fromID)
		if err != nil {
			return out, err
		}
		for _, f := range batch {
			if f.VenueOrderID == id {
				f.ClientID = clientID
				sum = sum.Add(f.Qty)
				out = append(out, f)
			}
		}
		if sum.GreaterThanOrEqual(executed) || len(batch) < tradesPage {
			break
		}
		fromID = next
	}
	if sum.LessThan(executed) {
		return out, fmt.Errorf("margin order %d: trades add up to %s of %s executed", orderID, sum, executed)
	}
	return out, nil
}

// cancelMargin cancels an open margin order by client id (DELETE /sapi/v1/margin/order).
func (c *Client) cancelMargin(ctx context.Context, op, symbol, clientID string) error {
	return c.do(ctx, op, true, func(ctx context.Context, a *apis) error {
		_, err := a.spot.NewCancelMarginOrderService().Symbol(symbol).OrigClientOrderID(clientID).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
}

// isMarginInsufficient: margin codes that mean the account (or Binance's lending pool) lacks the funds.
func isMarginInsufficient(code int64) bool {
	return code == codeExceedMaxBorrowable || code == codeBalanceNotEnough || code == codeNoInventory
}
