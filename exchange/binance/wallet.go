package binance

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/adshao/go-binance/v2"

	"github.com/carry-trading/carry/exchange"
)

// Transfer moves an asset between the account's wallets (POST /sapi/v1/asset/transfer). Binance takes no
// client id for it, so a lost answer (an error wrapping ErrOutcomeUnknown) must be resolved with
// Transfers; a *exchange.RejectError means nothing moved.
func (c *Client) Transfer(ctx context.Context, req exchange.TransferRequest) (exchange.Transfer, error) {
	op := fmt.Sprintf("transfer %s %s %s", req.Kind, req.Amount, req.Asset)
	if !req.Kind.Valid() {
		return exchange.Transfer{}, exchange.Rejected(exchange.RejectOther, 0, "%s: unknown transfer kind; nothing was sent", op)
	}
	if !req.Amount.IsPositive() {
		return exchange.Transfer{}, exchange.Rejected(exchange.RejectOther, 0, "%s: amount must be positive; nothing was sent", op)
	}
	var res *binance.CreateUserUniversalTransferResponse
	info, err := c.call(ctx, true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.spot.NewUserUniversalTransferService().Type(binance.UserUniversalTransferType(req.Kind)).
			Asset(req.Asset).Amount(req.Amount.String()).Do(ctx)
		return err
	})
	if err != nil {
		return exchange.Transfer{}, c.orderError(op, err, info)
	}
	if res.ID == 0 {
		return exchange.Transfer{}, fmt.Errorf("%s: %w: the answer has no tranId", op, ErrOutcomeUnknown)
	}
	return exchange.Transfer{TranID: strconv.FormatInt(res.ID, 10), Kind: req.Kind, Asset: req.Asset, Amount: req.Amount, Time: time.Now().UTC()}, nil
}

// Transfers lists completed or pending (not failed) moves of one kind since a time, oldest first, paging
// 100 rows per request.
func (c *Client) Transfers(ctx context.Context, kind exchange.TransferKind, since time.Time) ([]exchange.Transfer, error) {
	const size = 100
	var out []exchange.Transfer
	for page := 1; ; page++ {
		var res *binance.UserUniversalTransferResponse
		err := c.do(ctx, fmt.Sprintf("transfer history %s page %d", kind, page), true, func(ctx context.Context, a *apis) error {
			var err error
			res, err = a.spot.NewListUserUniversalTransferService().Type(binance.UserUniversalTransferType(kind)).
				StartTime(since.UnixMilli()).Current(page).Size(size).Do(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		var p nums
		for _, r := range res.Results {
			if r == nil || r.Status == binance.UserUniversalTransferStatusTypeFailed || r.Timestamp < since.UnixMilli() {
				continue
			}
			out = append(out, exchange.Transfer{TranID: strconv.FormatInt(r.TranId, 10), Kind: exchange.TransferKind(r.Type), Asset: r.Asset,
				Amount: p.dec("amount", r.Amount), Time: msTime(r.Timestamp)})
		}
		if p.err != nil {
			return nil, fmt.Errorf("transfer history: %w", p.err)
		}
		if len(res.Results) < size || int64(page*size) >= res.Total {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}
