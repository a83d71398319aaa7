package fakebinance

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

var success = map[string]any{"code": 200, "msg": "success"}

func leverageBracket(q *request) (any, error) {
	sym := upper(q.str("symbol"))
	return q.s.locked(func(st *state) (any, error) {
		syms := []string{sym}
		if sym == "" {
			syms = syms[:0]
			for s := range st.futSyms {
				syms = append(syms, s)
			}
			sort.Strings(syms)
		} else if st.futSyms[sym] == nil {
			return nil, errBadRequest(-1121, "Invalid symbol.")
		}
		out := make([]map[string]any, 0, len(syms))
		for _, s := range syms {
			var bs []map[string]any
			for i, b := range exchange.DefaultBrackets() {
				bs = append(bs, map[string]any{"bracket": i + 1, "initialLeverage": b.MaxLeverage, "notionalCap": numberOf(b.Cap),
					"notionalFloor": numberOf(b.Floor), "maintMarginRatio": numberOf(b.MMR), "cum": numberOf(b.Cum)})
			}
			out = append(out, map[string]any{"symbol": s, "brackets": bs})
		}
		return out, nil
	})
}

func futCommission(q *request) (any, error) {
	if err := q.required("symbol"); err != nil {
		return nil, err
	}
	return map[string]string{"symbol": upper(q.str("symbol")), "makerCommissionRate": q.s.opts.FuturesMaker.String(),
		"takerCommissionRate": q.s.opts.FuturesTaker.String()}, nil
}

func futAccountConfig(q *request) (any, error) {
	return q.s.locked(func(st *state) (any, error) {
		return map[string]any{"feeTier": 0, "canTrade": st.perms.EnableFutures, "canDeposit": true, "canWithdraw": st.perms.EnableWithdrawals,
			"dualSidePosition": st.dual, "updateTime": 0, "multiAssetsMargin": st.multi, "tradeGroupId": -1}, nil
	})
}

func (st *state) symbolConfigJSON(sym string) map[string]any {
	c := st.config(sym)
	mt := "CROSSED"
	if c.isolated {
		mt = "ISOLATED"
	}
	return map[string]any{"symbol": sym, "marginType": mt, "isAutoAddMargin": false, "leverage": c.leverage, "maxNotionalValue": "1000000"}
}

func futSymbolConfig(q *request) (any, error) {
	sym := upper(q.str("symbol"))
	return q.s.locked(func(st *state) (any, error) {
		if sym != "" {
			if st.futSyms[sym] == nil {
				return nil, errBadRequest(-1121, "Invalid symbol.")
			}
			return []map[string]any{st.symbolConfigJSON(sym)}, nil
		}
		set := map[string]bool{}
		for s := range st.symCfg {
			set[s] = true
		}
		for s, p := range st.positions {
			if !p.qty.IsZero() {
				set[s] = true
			}
		}
		syms := make([]string, 0, len(set))
		for s := range set {
			syms = append(syms, s)
		}
		sort.Strings(syms)
		out := make([]map[string]any, 0, len(syms))
		for _, s := range syms {
			out = append(out, st.symbolConfigJSON(s))
		}
		return out, nil
	})
}

func getPositionMode(q *request) (any, error) {
	return q.s.locked(func(st *state) (any, error) { return map[string]bool{"dualSidePosition": st.dual}, nil })
}

func (st *state) hasExposure(symbol string) bool {
	for s, p := range st.positions {
		if (symbol == "" || s == symbol) && !p.qty.IsZero() {
			return true
		}
	}
	for _, o := range st.allOrders {
		if o.venue == exchange.Futures && (symbol == "" || o.symbol == symbol) && !o.final() {
			return true
		}
	}
	return false
}

func setPositionMode(q *request) (any, error) {
	if err := q.required("dualSidePosition"); err != nil {
		return nil, err
	}
	dual := boolParam(q.str("dualSidePosition"))
	return q.s.locked(func(st *state) (any, error) {
		if dual == st.dual {
			return nil, errBadRequest(-4059, "No need to change position side.")
		}
		if st.hasExposure("") {
			return nil, errBadRequest(-4068, "The position side cannot be changed if there exists position.")
		}
		st.dual = dual
		return success, nil
	})
}

func setMarginType(q *request) (any, error) {
	if err := q.required("symbol", "marginType"); err != nil {
		return nil, err
	}
	sym, mt := upper(q.str("symbol")), q.str("marginType")
	if mt != "ISOLATED" && mt != "CROSSED" {
		return nil, errBadRequest(-1116, "Invalid marginType.")
	}
	return q.s.locked(func(st *state) (any, error) {
		if st.futSyms[sym] == nil {
			return nil, errBadRequest(-1121, "Invalid symbol.")
		}
		c := st.config(sym)
		if c.isolated == (mt == "ISOLATED") {
			return nil, errBadRequest(-4046, "No need to change margin type.")
		}
		if st.hasExposure(sym) {
			return nil, errBadRequest(-4048, "Margin type cannot be changed if there exists position.")
		}
		c.isolated = mt == "ISOLATED"
		return success, nil
	})
}

func setLeverage(q *request) (any, error) {
	if err := q.required("symbol", "leverage"); err != nil {
		return nil, err
	}
	sym := upper(q.str("symbol"))
	lev, err := q.int("leverage", 0)
	if err != nil {
		return nil, err
	}
	if lev < 1 || lev > 125 {
		return nil, errBadRequest(-4028, "Leverage %d is not valid", lev)
	}
	return q.s.locked(func(st *state) (any, error) {
		if st.futSyms[sym] == nil {
			return nil, errBadRequest(-1121, "Invalid symbol.")
		}
		st.config(sym).leverage = int(lev)
		return map[string]any{"leverage": lev, "maxNotionalValue": "1000000", "symbol": sym}, nil
	})
}

func futAccount(q *request) (any, error) {
	return q.s.locked(func(st *state) (any, error) {
		wallet, upnl, maint, initial := st.futuresTotals()
		margin := wallet.Add(upnl)
		avail := margin.Sub(initial)
		f := func(d decimal.Decimal) string { return d.StringFixed(8) }
		assets := []map[string]any{{"asset": "USDT", "walletBalance": f(wallet), "unrealizedProfit": f(upnl), "marginBalance": f(margin),
			"maintMargin": f(maint), "initialMargin": f(initial), "positionInitialMargin": f(initial), "openOrderInitialMargin": "0.00000000",
			"crossWalletBalance": f(wallet), "crossUnPnl": f(upnl), "availableBalance": f(avail), "maxWithdrawAmount": f(decimal.Max(decimal.Zero, avail)),
			"marginAvailable": true, "updateTime": st.nowMS()}}
		return map[string]any{
			"totalInitialMargin": f(initial), "totalMaintMargin": f(maint), "totalWalletBalance": f(wallet), "totalUnrealizedProfit": f(upnl),
			"totalMarginBalance": f(margin), "totalPositionInitialMargin": f(initial), "totalOpenOrderInitialMargin": "0.00000000",
			"totalCrossWalletBalance": f(wallet), "totalCrossUnPnl": f(upnl), "availableBalance": f(avail),
			"maxWithdrawAmount": f(decimal.Max(decimal.Zero, avail)), "assets": assets, "positions": st.positionsJSON(false),
		}, nil
	})
}

func futBalance(q *request) (any, error) {
	return q.s.locked(func(st *state) (any, error) {
		wallet, upnl, _, initial := st.futuresTotals()
		avail := wallet.Add(upnl).Sub(initial)
		out := []map[string]any{}
		assets := make([]string, 0, len(st.futWallet))
		for a := range st.futWallet {
			assets = append(assets, a)
		}
		sort.Strings(assets)
		for _, a := range assets {
			w := st.futWallet[a]
			av, un := w, decimal.Zero
			if a == "USDT" {
				av, un = avail, upnl
			}
			out = append(out, map[string]any{"accountAlias": "fake", "asset": a, "balance": w.StringFixed(8), "crossWalletBalance": w.StringFixed(8),
				"crossUnPnl": un.StringFixed(8), "availableBalance": av.StringFixed(8), "maxWithdrawAmount": decimal.Max(decimal.Zero, av).StringFixed(8),
				"marginAvailable": true, "updateTime": st.nowMS()})
		}
		return out, nil
	})
}

// positionsJSON lists the open positions (positionRisk fields; v2 adds leverage and marginType).
func (st *state) positionsJSON(v2 bool) []map[string]any {
	syms := make([]string, 0, len(st.positions))
	for s, p := range st.positions {
		if !p.qty.IsZero() {
			syms = append(syms, s)
		}
	}
	sort.Strings(syms)
	out := make([]map[string]any, 0, len(syms))
	brackets := exchange.DefaultBrackets()
	wallet, upnlAll, maintAll, _ := st.futuresTotals()
	for _, s := range syms {
		p := st.positions[s]
		mk := st.markPrice(s)
		notional := p.qty.Mul(mk)
		upnl := exchange.UnrealizedPnL(p.qty, p.entry, mk)
		mm, _ := exchange.MaintenanceMargin(notional.Abs(), brackets)
		lev := st.config(s).leverage
		liq, err := exchange.LiquidationPrice(exchange.LiquidationInput{Qty: p.qty, EntryPrice: p.entry, Wallet: wallet,
			OtherMaintenance: maintAll.Sub(mm), OtherUnrealized: upnlAll.Sub(upnl), Brackets: brackets})
		if err != nil {
			liq = decimal.Zero
		}
		row := map[string]any{
			"symbol": s, "positionSide": "BOTH", "positionAmt": p.qty.String(), "entryPrice": p.entry.String(), "breakEvenPrice": p.entry.String(),
			"markPrice": mk.StringFixed(8), "unRealizedProfit": upnl.StringFixed(8), "liquidationPrice": liq.StringFixed(8),
			"isolatedMargin": "0", "notional": notional.StringFixed(8), "marginAsset": "USDT", "isolatedWallet": "0",
			"initialMargin": notional.Abs().Div(decimal.NewFromInt(int64(lev))).StringFixed(8), "maintMargin": mm.StringFixed(8),
			"positionInitialMargin": notional.Abs().Div(decimal.NewFromInt(int64(lev))).StringFixed(8), "openOrderInitialMargin": "0",
			"adl": 0, "bidNotional": "0", "askNotional": "0", "updateTime": st.nowMS(),
		}
		if v2 {
			mt := "cross"
			if st.config(s).isolated {
				mt = "isolated"
			}
			row["leverage"], row["marginType"], row["isAutoAddMargin"], row["maxNotionalValue"] = json.Number(decimal.NewFromInt(int64(lev)).String()), mt, "false", "1000000"
		}
		out = append(out, row)
	}
	return out
}

func positionRisk(q *request) (any, error) {
	v2 := q.r.URL.Path == "/fapi/v2/positionRisk"
	sym := upper(q.str("symbol"))
	return q.s.locked(func(st *state) (any, error) {
		all := st.positionsJSON(v2)
		if sym == "" {
			return all, nil
		}
		out := []map[string]any{}
		for _, r := range all {
			if r["symbol"] == sym {
				out = append(out, r)
			}
		}
		return out, nil
	})
}

func futOrderJSON(o *order) map[string]any {
	return map[string]any{
		"orderId": o.id, "symbol": o.symbol, "status": o.status, "clientOrderId": o.client, "price": o.price.String(), "avgPrice": o.avgPrice().String(),
		"origQty": o.qty.String(), "executedQty": o.executed.String(), "cumQty": o.executed.String(), "cumQuote": o.quote.String(),
		"timeInForce": o.tif, "type": o.typ, "reduceOnly": o.reduceOnly, "closePosition": false, "side": o.side, "positionSide": "BOTH",
		"stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": o.typ, "priceMatch": "NONE",
		"selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0, "time": o.created, "updateTime": o.updated,
	}
}

func futNewOrder(q *request) (any, error) {
	req, err := newOrderReq(q, exchange.Futures)
	if err != nil {
		return nil, err
	}
	req.reduceOnly = boolParam(q.str("reduceOnly"))
	if req.typ == "LIMIT" && req.tif == "" {
		req.tif = "GTC"
	}
	respType := q.str("newOrderRespType")
	return q.s.locked(func(st *state) (any, error) {
		if st.dual {
			return nil, errBadRequest(-4061, "Order's position side does not match user's setting.")
		}
		req.partial = q.s.takeFaultLocked(q.r.Method, q.r.URL.Path, true)
		o, err := st.place(req)
		if err != nil {
			return nil, err
		}
		res := futOrderJSON(o)
		if respType != "RESULT" { // ACK: the order as accepted
			res["status"], res["executedQty"], res["cumQty"], res["cumQuote"], res["avgPrice"] = "NEW", "0", "0", "0", "0"
		}
		delete(res, "time")
		return res, nil
	})
}

func income(q *request) (any, error) {
	sym := upper(q.str("symbol"))
	typ := q.str("incomeType")
	start, end, limit, err := limitParams(q)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		if start < 0 && end < 0 {
			start = st.now().AddDate(0, 0, -7).UnixMilli()
		}
		out := []incomeRow{}
		for _, r := range st.income {
			if (sym == "" || r.Symbol == sym) && (typ == "" || r.IncomeType == typ) && (start < 0 || r.Time >= start) && (end < 0 || r.Time <= end) {
				out = append(out, r)
				if int64(len(out)) == limit {
					break
				}
			}
		}
		return out, nil
	})
}

func newListenKey(q *request) (any, error) {
	return q.s.locked(func(st *state) (any, error) {
		for k, ok := range st.listen {
			if ok { // Binance hands back the active key
				return map[string]string{"listenKey": k}, nil
			}
		}
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		k := hex.EncodeToString(b)
		st.listen[k] = true
		return map[string]string{"listenKey": k}, nil
	})
}

func keepListenKey(q *request) (any, error) {
	k := q.str("listenKey")
	return q.s.locked(func(st *state) (any, error) {
		if !st.listen[k] {
			return nil, errBadRequest(-1125, "This listenKey does not exist.")
		}
		return map[string]any{}, nil
	})
}

func closeListenKey(q *request) (any, error) {
	k := q.str("listenKey")
	q.s.mu.Lock()
	delete(q.s.st.listen, k)
	q.s.mu.Unlock()
	q.s.hub.dropListenKey(k)
	return map[string]any{}, nil
}
