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

// spotOrderJSON is a spot or margin order as GET …/order answers it.
func spotOrderJSON(o *order) map[string]any {
	res := map[string]any{
		"symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client, "price": o.price.StringFixed(8),
		"origQty": o.qty.StringFixed(8), "executedQty": o.executed.StringFixed(8), "cummulativeQuoteQty": o.quote.StringFixed(8),
		"status": o.status, "timeInForce": o.tif, "type": o.typ, "side": o.side, "stopPrice": "0.00000000", "icebergQty": "0.00000000",
		"time": o.created, "updateTime": o.updated, "isWorking": !o.final(), "workingTime": o.created, "origQuoteOrderQty": "0.00000000",
		"selfTradePreventionMode": "EXPIRE_MAKER",
	}
	if o.venue == exchange.Margin {
		res["isIsolated"] = false
	}
	return res
}

func spotNewOrder(q *request) (any, error) {
	req, respType, err := spotOrderReq(q, exchange.Spot)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		req.partial = q.s.takeFaultLocked(q.r.Method, q.r.URL.Path, true)
		o, err := st.place(req)
		if err != nil {
			return nil, err
		}
		return st.spotOrderAnswer(o, respType), nil
	})
}
