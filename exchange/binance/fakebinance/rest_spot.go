package fakebinance

import (
	"sort"

	"github.com/carry-trading/carry/exchange"
)

func spotAccount(q *request) (any, error) {
	omitZero := boolParam(q.str("omitZeroBalances"))
	return q.s.locked(func(st *state) (any, error) {
		assets := make([]string, 0, len(st.spot))
		for a := range st.spot {
			assets = append(assets, a)
		}
		sort.Strings(assets)
		bals := make([]map[string]string, 0, len(assets))
		for _, a := range assets {
			b := st.spot[a]
			if omitZero && b.free.IsZero() && b.locked.IsZero() {
				continue
			}
			bals = append(bals, map[string]string{"asset": a, "free": b.free.StringFixed(8), "locked": b.locked.StringFixed(8)})
		}
		return map[string]any{
			"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
			"commissionRates": map[string]string{"maker": st.opts.SpotMaker.String(), "taker": st.opts.SpotTaker.String(), "buyer": "0", "seller": "0"},
			"canTrade":        st.perms.EnableSpotAndMargin, "canWithdraw": st.perms.EnableWithdrawals, "canDeposit": true, "brokered": false,
			"requireSelfTradePrevention": false, "preventSor": false, "updateTime": st.nowMS(), "accountType": "SPOT",
			"balances": bals, "permissions": []string{"SPOT"}, "uid": 354937868,
		}, nil
	})
}

func spotCommission(q *request) (any, error) {
	if err := q.required("symbol"); err != nil {
		return nil, err
	}
	sym := upper(q.str("symbol"))
	return q.s.locked(func(st *state) (any, error) {
		if st.spotSyms[sym] == nil {
			return nil, errBadRequest(-1121, "Invalid symbol.")
		}
		zero := map[string]string{"maker": "0", "taker": "0", "buyer": "0", "seller": "0"}
		return map[string]any{
			"symbol":             sym,
			"standardCommission": map[string]string{"maker": st.opts.SpotMaker.String(), "taker": st.opts.SpotTaker.String(), "buyer": "0", "seller": "0"},
			"taxCommission":      zero, "specialCommission": zero,
			"discount": map[string]any{"enabledForAccount": true, "enabledForSymbol": true, "discountAsset": "BNB", "discount": "0.75000000"},
		}, nil
	})
}

func spotOrderJSON(o *order) map[string]any {
	return map[string]any{
		"symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client, "price": o.price.StringFixed(8),
		"origQty": o.qty.StringFixed(8), "executedQty": o.executed.StringFixed(8), "cummulativeQuoteQty": o.quote.StringFixed(8),
		"status": o.status, "timeInForce": o.tif, "type": o.typ, "side": o.side, "stopPrice": "0.00000000", "icebergQty": "0.00000000",
		"time": o.created, "updateTime": o.updated, "isWorking": !o.final(), "workingTime": o.created, "origQuoteOrderQty": "0.00000000",
		"selfTradePreventionMode": "EXPIRE_MAKER",
	}
}

func spotNewOrder(q *request) (any, error) {
	if err := q.required("symbol", "side", "type"); err != nil {
		return nil, err
	}
	qty, err := q.dec("quantity")
	if err != nil {
		return nil, err
	}
	price, err := q.dec("price")
	if err != nil {
		return nil, err
	}
	req := orderReq{venue: exchange.Spot, symbol: upper(q.str("symbol")), side: q.str("side"), typ: q.str("type"), tif: q.str("timeInForce"),
		client: q.str("newClientOrderId"), qty: qty, price: price}
	if req.typ == "LIMIT" && req.tif == "" {
		return nil, errBadRequest(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
	}
	respType := q.str("newOrderRespType")
	if respType == "" {
		respType = "FULL" // Binance's default for MARKET and LIMIT orders
	}
	return q.s.locked(func(st *state) (any, error) {
		req.partial = q.s.takeFaultLocked(q.r.Method, q.r.URL.Path, true)
		o, err := st.place(req)
		if err != nil {
			return nil, err
		}
		if respType == "ACK" {
			return map[string]any{"symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client, "transactTime": o.updated}, nil
		}
		res := spotOrderJSON(o)
		delete(res, "time")
		delete(res, "updateTime")
		delete(res, "isWorking")
		delete(res, "stopPrice")
		delete(res, "icebergQty")
		res["transactTime"] = o.updated
		if respType == "FULL" {
			fills := []map[string]any{}
			for _, t := range st.trades {
				if t.venue == exchange.Spot && t.orderID == o.id {
					fills = append(fills, map[string]any{"price": t.price.StringFixed(8), "qty": t.qty.StringFixed(8), "commission": t.fee.StringFixed(8),
						"commissionAsset": t.feeAsset, "tradeId": t.id})
				}
			}
			res["fills"] = fills
		}
		return res, nil
	})
}

func (st *state) findOrder(venue exchange.Venue, q *request) (*order, error) {
	sym := upper(q.str("symbol"))
	if client := q.str("origClientOrderId"); client != "" {
		if o, ok := st.orders[orderKey{venue, sym, client}]; ok {
			return o, nil
		}
	} else if id, err := q.int("orderId", 0); err != nil {
		return nil, err
	} else if id > 0 {
		for _, o := range st.allOrders {
			if o.venue == venue && o.id == id && o.symbol == sym {
				return o, nil
			}
		}
	} else {
		return nil, errBadRequest(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	}
	return nil, errBadRequest(-2013, "Order does not exist.")
}

func spotGetOrder(q *request) (any, error) {
	if err := q.required("symbol"); err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		o, err := st.findOrder(exchange.Spot, q)
		if err != nil {
			return nil, err
		}
		return spotOrderJSON(o), nil
	})
}

func spotCancelOrder(q *request) (any, error) {
	if err := q.required("symbol"); err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		o, err := st.findOrder(exchange.Spot, q)
		if err != nil {
			return nil, errBadRequest(-2011, "Unknown order sent.")
		}
		if _, err := st.cancel(exchange.Spot, o.symbol, o.client); err != nil {
			return nil, err
		}
		res := spotOrderJSON(o)
		res["origClientOrderId"] = o.client
		res["clientOrderId"] = q.str("newClientOrderId")
		res["transactTime"] = o.updated
		return res, nil
	})
}

func spotMyTrades(q *request) (any, error) {
	if err := q.required("symbol"); err != nil {
		return nil, err
	}
	sym := upper(q.str("symbol"))
	orderID, err := q.int("orderId", 0)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		out := []map[string]any{}
		for _, t := range st.trades {
			if t.venue != exchange.Spot || t.symbol != sym || (orderID > 0 && t.orderID != orderID) {
				continue
			}
			out = append(out, map[string]any{"symbol": t.symbol, "id": t.id, "orderId": t.orderID, "orderListId": -1, "price": t.price.StringFixed(8),
				"qty": t.qty.StringFixed(8), "quoteQty": t.qty.Mul(t.price).StringFixed(8), "commission": t.fee.StringFixed(8), "commissionAsset": t.feeAsset,
				"time": t.time, "isBuyer": t.side == "BUY", "isMaker": t.maker, "isBestMatch": true})
		}
		return out, nil
	})
}
