package binance

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Balances returns a wallet's non-zero balances. Futures: Total is the wallet balance and Free the part
// available for new positions (never more than the wallet). Margin: the cross-margin wallet with each
// asset's Borrowed principal and unpaid Interest (margin.go).
func (c *Client) Balances(ctx context.Context, venue exchange.Venue) ([]exchange.Balance, error) {
	switch venue {
	case exchange.Spot:
		var res *binance.Account
		err := c.do(ctx, "spot account", true, func(ctx context.Context, a *apis) error {
			var err error
			res, err = a.spot.NewGetAccountService().OmitZeroBalances(true).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return nil, err
		}
		var p nums
		out := make([]exchange.Balance, 0, len(res.Balances))
		for _, b := range res.Balances {
			bal := exchange.Balance{Venue: exchange.Spot, Asset: b.Asset, Free: p.dec("free", b.Free), Locked: p.dec("locked", b.Locked)}
			if !bal.Total().IsZero() {
				out = append(out, bal)
			}
		}
		return out, p.err
	case exchange.Futures:
		var res []*futures.Balance
		err := c.do(ctx, "futures balance", true, func(ctx context.Context, a *apis) error {
			var err error
			res, err = a.fut.NewGetBalanceService().Do(ctx, futures.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return nil, err
		}
		var p nums
		out := make([]exchange.Balance, 0, len(res))
		for _, b := range res {
			if b == nil {
				continue
			}
			wallet, avail := p.dec("balance", b.Balance), p.dec("availableBalance", b.AvailableBalance)
			free := decimal.Min(decimal.Max(avail, decimal.Zero), wallet)
			if wallet.IsZero() {
				continue
			}
			out = append(out, exchange.Balance{Venue: exchange.Futures, Asset: b.Asset, Free: free, Locked: wallet.Sub(free)})
		}
		return out, p.err
	case exchange.Margin:
		return c.marginBalances(ctx)
	}
	return nil, fmt.Errorf("binance: balances of venue %q are not supported yet", venue)
}

// Positions returns the open USDⓈ-M positions (one-way mode), with leverage and margin type from
// /fapi/v1/symbolConfig.
func (c *Client) Positions(ctx context.Context) ([]exchange.Position, error) {
	var risks []*futures.PositionRiskV3
	err := c.do(ctx, "futures positionRisk", true, func(ctx context.Context, a *apis) error {
		var err error
		risks, err = a.fut.NewGetPositionRiskV3Service().Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return nil, err
	}
	var p nums
	out := make([]exchange.Position, 0, len(risks))
	for _, r := range risks {
		if r == nil {
			continue
		}
		pos := exchange.Position{
			Symbol: r.Symbol, Qty: p.dec("positionAmt", r.PositionAmt), EntryPrice: p.dec("entryPrice", r.EntryPrice), MarkPrice: p.dec("markPrice", r.MarkPrice),
			UnrealizedPnL: p.dec("unRealizedProfit", r.UnRealizedProfit), IsolatedWallet: p.dec("isolatedWallet", r.IsolatedWallet),
			LiquidationPrice: p.dec("liquidationPrice", r.LiquidationPrice), Time: msTime(r.UpdateTime),
		}
		if !pos.Qty.IsZero() {
			out = append(out, pos)
		}
	}
	if p.err != nil {
		return nil, fmt.Errorf("futures positionRisk: %w", p.err)
	}
	if len(out) == 0 {
		return out, nil
	}
	var cfgs []*futures.SymbolConfig
	err = c.do(ctx, "futures symbolConfig", true, func(ctx context.Context, a *apis) error {
		var err error
		cfgs, err = a.fut.NewGetSymbolConfigService().Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return nil, err
	}
	bySymbol := make(map[string]*futures.SymbolConfig, len(cfgs))
	for _, s := range cfgs {
		if s != nil {
			bySymbol[s.Symbol] = s
		}
	}
	for i := range out {
		if s, ok := bySymbol[out[i].Symbol]; ok {
			out[i].Leverage = s.Leverage
			out[i].Isolated = s.MarginType == string(futures.MarginTypeIsolated)
		} else {
			out[i].Isolated = out[i].IsolatedWallet.IsPositive()
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
	return out, nil
}

// FuturesAccount returns the USDⓈ-M account summary (/fapi/v3/account).
func (c *Client) FuturesAccount(ctx context.Context) (exchange.FuturesAccount, error) {
	var res *futures.AccountV3
	err := c.do(ctx, "futures account", true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.fut.NewGetAccountV3Service().Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return exchange.FuturesAccount{}, err
	}
	var p nums
	acc := exchange.FuturesAccount{
		WalletBalance: p.dec("totalWalletBalance", res.TotalWalletBalance), UnrealizedPnL: p.dec("totalUnrealizedProfit", res.TotalUnrealizedProfit),
		MarginBalance: p.dec("totalMarginBalance", res.TotalMarginBalance), MaintenanceMargin: p.dec("totalMaintMargin", res.TotalMaintMargin),
		AvailableBalance: p.dec("availableBalance", res.AvailableBalance), Time: time.Now().UTC(),
	}
	if p.err != nil {
		return exchange.FuturesAccount{}, fmt.Errorf("futures account: %w", p.err)
	}
	return acc, nil
}

// LeverageBrackets returns a symbol's notional brackets. go-binance decodes them as float64; they are
// converted to decimals through their shortest round-tripping form, which is the JSON literal.
func (c *Client) LeverageBrackets(ctx context.Context, symbol string) ([]exchange.Bracket, error) {
	var res []*futures.LeverageBracket
	op := "leverageBracket " + symbol
	err := c.do(ctx, op, true, func(ctx context.Context, a *apis) error {
		var err error
		res, err = a.fut.NewGetLeverageBracketService().Symbol(symbol).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, lb := range res {
		if lb == nil || lb.Symbol != symbol {
			continue
		}
		var p nums
		out := make([]exchange.Bracket, 0, len(lb.Brackets))
		for _, b := range lb.Brackets {
			out = append(out, exchange.Bracket{
				Floor: p.float("notionalFloor", b.NotionalFloor), Cap: p.float("notionalCap", b.NotionalCap), MaxLeverage: b.InitialLeverage,
				MMR: p.float("maintMarginRatio", b.MaintMarginRatio), Cum: p.float("cum", b.Cum),
			})
		}
		if p.err != nil {
			return nil, fmt.Errorf("%s: %w", op, p.err)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Floor.LessThan(out[j].Floor) })
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no brackets in the answer", op)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: %w", op, exchange.ErrNotFound)
}

// Commission returns the account's rates for a symbol: spot /api/v3/account/commission (standard plus
// tax), futures /fapi/v1/commissionRate.
func (c *Client) Commission(ctx context.Context, venue exchange.Venue, symbol string) (exchange.Fees, error) {
	var p nums
	switch venue {
	case exchange.Spot:
		var res *binance.CommissionRatesResponse
		err := c.do(ctx, "spot commission "+symbol, true, func(ctx context.Context, a *apis) error {
			var err error
			res, err = a.spot.NewGetCommissionRatesService().Symbol(symbol).Do(ctx, binance.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return exchange.Fees{}, err
		}
		f := exchange.Fees{
			Maker: p.dec("standardCommission.maker", res.StandardCommission.Maker).Add(p.dec("taxCommission.maker", res.TaxCommission.Maker)),
			Taker: p.dec("standardCommission.taker", res.StandardCommission.Taker).Add(p.dec("taxCommission.taker", res.TaxCommission.Taker)),
		}
		return f, p.err
	case exchange.Futures:
		var res *futures.CommissionRate
		err := c.do(ctx, "futures commissionRate "+symbol, true, func(ctx context.Context, a *apis) error {
			var err error
			res, err = a.fut.NewCommissionRateService().Symbol(symbol).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
			return err
		})
		if err != nil {
			return exchange.Fees{}, err
		}
		return exchange.Fees{Maker: p.dec("makerCommissionRate", res.MakerCommissionRate), Taker: p.dec("takerCommissionRate", res.TakerCommissionRate)}, p.err
	}
	return exchange.Fees{}, fmt.Errorf("binance: commission on venue %q is not supported yet", venue)
}

// SetupSymbol puts the futures account in one-way position mode and sets the symbol's margin type and
// leverage. Binance's "no need to change" answers (-4059, -4046) are success.
func (c *Client) SetupSymbol(ctx context.Context, symbol string, leverage int, isolated bool) error {
	if err := c.ensureOneWay(ctx); err != nil {
		return err
	}
	mt := futures.MarginTypeCrossed
	if isolated {
		mt = futures.MarginTypeIsolated
	}
	err := c.do(ctx, "set margin type "+symbol, true, func(ctx context.Context, a *apis) error {
		err := a.fut.NewChangeMarginTypeService().Symbol(symbol).MarginType(mt).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		if apiCode(err) == codeNoNeedMargin {
			return nil
		}
		return err
	})
	if err != nil {
		if apiCode(err) == -4048 {
			return fmt.Errorf("%w: close the %s position or its open orders before changing its margin type to %s", err, symbol, mt)
		}
		return err
	}
	if leverage <= 0 {
		return fmt.Errorf("set leverage %s: leverage %d must be at least 1", symbol, leverage)
	}
	return c.do(ctx, "set leverage "+symbol, true, func(ctx context.Context, a *apis) error {
		res, err := a.fut.NewChangeLeverageService().Symbol(symbol).Leverage(leverage).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		if err == nil && res != nil && res.Leverage != leverage {
			return fmt.Errorf("Binance set leverage %d instead of %d", res.Leverage, leverage)
		}
		return err
	})
}

// ensureOneWay switches the futures account to one-way position mode if it is in hedge mode.
func (c *Client) ensureOneWay(ctx context.Context) error {
	var dual bool
	err := c.do(ctx, "futures position mode", true, func(ctx context.Context, a *apis) error {
		res, err := a.fut.NewGetPositionModeService().Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		if err == nil {
			dual = res.DualSidePosition
		}
		return err
	})
	if err != nil || !dual {
		return err
	}
	c.log.Info().Msg("binance: futures account is in hedge mode; switching to one-way position mode")
	err = c.do(ctx, "set one-way position mode", true, func(ctx context.Context, a *apis) error {
		err := a.fut.NewChangePositionModeService().DualSide(false).Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		if apiCode(err) == codeNoNeedPosSide {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: carry needs one-way position mode; close all futures positions and open orders, or switch to one-way mode in Binance → Futures → Preferences → Position Mode", err)
	}
	return nil
}

func formatID(id int64) string { return strconv.FormatInt(id, 10) }
