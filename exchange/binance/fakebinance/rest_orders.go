package fakebinance

import (
	"fmt"
	"time"

	"github.com/carry-trading/carry/exchange"
)

// The order endpoints the spot (/api/v3), cross-margin (/sapi/v1/margin) and USDⓈ-M (/fapi/v1) APIs share:
// reading a new order's parameters, the answers, GET and DELETE …/order, and the trade lists (myTrades,
// userTrades).

// orderJSON is an order as GET …/order answers it on its venue.
func orderJSON(o *order) map[string]any {
	if o.venue == exchange.Futures {
		return futOrderJSON(o)
	}
	return spotOrderJSON(o)
}

// newOrderReq reads the parameters every new order has.
func newOrderReq(q *request, venue exchange.Venue) (orderReq, error) {
	if err := q.required("symbol", "side", "type"); err != nil {
		return orderReq{}, err
	}
	qty, err := q.dec("quantity")
	if err != nil {
		return orderReq{}, err
	}
	price, err := q.dec("price")
	if err != nil {
		return orderReq{}, err
	}
	return orderReq{venue: venue, symbol: upper(q.str("symbol")), side: q.str("side"), typ: q.str("type"), tif: q.str("timeInForce"),
		client: q.str("newClientOrderId"), qty: qty, price: price}, nil
}

// spotOrderReq reads a spot or margin new order (a LIMIT order needs its timeInForce) and its
// newOrderRespType (Binance's default for MARKET and LIMIT orders is FULL).
func spotOrderReq(q *request, venue exchange.Venue) (req orderReq, respType string, err error) {
	if req, err = newOrderReq(q, venue); err != nil {
		return req, "", err
	}
	if req.typ == "LIMIT" && req.tif == "" {
		return req, "", errBadRequest(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
	}
	respType = q.str("newOrderRespType")
	if respType == "" {
		respType = "FULL"
	}
	return req, respType, nil
}

// spotOrderAnswer is the answer to a new spot or margin order: ACK the ids, RESULT the order, FULL the
// order with its fills. A margin order that borrowed says how much.
func (st *state) spotOrderAnswer(o *order, respType string) map[string]any {
	if respType == "ACK" {
		res := map[string]any{"symbol": o.symbol, "orderId": o.id, "clientOrderId": o.client, "transactTime": o.updated}
		if o.venue == exchange.Margin {
			res["isIsolated"] = false
		} else {
			res["orderListId"] = -1
		}
		return res
	}
	res := spotOrderJSON(o)
	for _, k := range []string{"time", "updateTime", "isWorking", "stopPrice", "icebergQty"} {
		delete(res, k)
	}
	res["transactTime"] = o.updated
	if o.borrowed.IsPositive() {
		res["marginBuyBorrowAmount"], res["marginBuyBorrowAsset"] = o.borrowed.StringFixed(8), o.borrowAsset
	}
	if respType == "FULL" {
		fills := []map[string]any{}
		for _, t := range st.trades {
			if t.venue == o.venue && t.orderID == o.id {
				fills = append(fills, map[string]any{"price": t.price.StringFixed(8), "qty": t.qty.StringFixed(8), "commission": t.fee.StringFixed(8),
					"commissionAsset": t.feeAsset, "tradeId": t.id})
			}
		}
		res["fills"] = fills
	}
	return res
}

// findOrder finds the order a request names by origClientOrderId or orderId; unknown is the endpoint's own
// answer for an order that does not exist (query -2013, cancel -2011). A request naming neither is -1102.
func (st *state) findOrder(venue exchange.Venue, q *request, unknown error) (*order, error) {
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
	return nil, unknown
}

// orderRequest serves a request about one existing order of a venue: the symbol is required, the order is
// found by findOrder (unknown when it does not exist), and fn answers under the state lock.
func orderRequest(venue exchange.Venue, unknown error, fn func(q *request, st *state, o *order) (any, error)) func(*request) (any, error) {
	return func(q *request) (any, error) {
		if err := q.required("symbol"); err != nil {
			return nil, err
		}
		return q.s.locked(func(st *state) (any, error) {
			o, err := st.findOrder(venue, q, unknown)
			if err != nil {
				return nil, err
			}
			return fn(q, st, o)
		})
	}
}

// getOrder serves GET …/order on a venue.
func getOrder(venue exchange.Venue) func(*request) (any, error) {
	return orderRequest(venue, errBadRequest(-2013, "Order does not exist."), func(_ *request, _ *state, o *order) (any, error) {
		return orderJSON(o), nil
	})
}

// cancelOrder serves DELETE …/order on a venue. A margin order's unused auto-borrow is repaid
// (autoRepayAtCancel).
func cancelOrder(venue exchange.Venue) func(*request) (any, error) {
	return orderRequest(venue, errBadRequest(-2011, "Unknown order sent."), func(q *request, st *state, o *order) (any, error) {
		if _, err := st.cancel(venue, o.symbol, o.client); err != nil {
			return nil, err
		}
		res := orderJSON(o)
		switch venue {
		case exchange.Futures:
			delete(res, "time")
			return res, nil
		case exchange.Margin:
			st.returnUnusedBorrow(o, st.symbol(exchange.Spot, o.symbol))
			res["orderId"] = fmt.Sprint(o.id) // a string in this answer, as Binance documents it (and go-binance reads it)
		}
		res["origClientOrderId"] = o.client
		res["clientOrderId"] = q.str("newClientOrderId")
		res["transactTime"] = o.updated
		return res, nil
	})
}

// tradeQuery is a trade-list request (spot and margin myTrades, futures userTrades): a symbol, optionally an
// orderId, a startTime/endTime window or a fromId, and a limit (default 500, at most 1000).
type tradeQuery struct {
	venue                              exchange.Venue
	symbol                             string
	orderID, start, end, fromID, limit int64
}

func readTradeQuery(q *request, venue exchange.Venue) (tradeQuery, error) {
	if err := q.required("symbol"); err != nil {
		return tradeQuery{}, err
	}
	tq := tradeQuery{venue: venue, symbol: upper(q.str("symbol"))}
	for _, p := range []struct {
		key string
		dst *int64
	}{{"orderId", &tq.orderID}, {"startTime", &tq.start}, {"endTime", &tq.end}, {"fromId", &tq.fromID}, {"limit", &tq.limit}} {
		n, err := q.int(p.key, 0)
		if err != nil {
			return tradeQuery{}, err
		}
		*p.dst = n
	}
	if tq.limit <= 0 {
		tq.limit = 500
	}
	tq.limit = min(tq.limit, 1000)
	return tq, nil
}

// Binance's time windows on trade lists: futures userTrades spans at most 7 days (only startTime: the 7 days
// from it; neither: the last 7 days; fromId excludes both), spot and margin myTrades at most 24 hours when
// both ends are sent. A query by orderId is not windowed.
const (
	futuresTradeWindow = 7 * 24 * time.Hour
	spotTradeWindow    = 24 * time.Hour
)

// window applies those rules to a query at nowMS.
func (tq *tradeQuery) window(nowMS int64) error {
	if tq.orderID > 0 {
		return nil
	}
	if tq.venue != exchange.Futures {
		if tq.start > 0 && tq.end > 0 && tq.end-tq.start > spotTradeWindow.Milliseconds() {
			return errBadRequest(-1127, "More than 24 hours between startTime and endTime.")
		}
		return nil
	}
	if tq.fromID > 0 {
		if tq.start > 0 || tq.end > 0 {
			return errBadRequest(-1128, "Combination of optional parameters invalid.")
		}
		return nil
	}
	span := futuresTradeWindow.Milliseconds()
	switch {
	case tq.start == 0 && tq.end == 0:
		tq.start = nowMS - span
	case tq.end == 0:
		tq.end = tq.start + span
	case tq.start == 0:
		tq.start = tq.end - span
	}
	if tq.end-tq.start > span {
		return errBadRequest(-1127, "Lookup interval is too big.")
	}
	return nil
}

// tradesOf returns the trades a query selects, oldest first.
func (st *state) tradesOf(tq tradeQuery) []*trade {
	var out []*trade
	for _, t := range st.trades {
		if t.venue != tq.venue || t.symbol != tq.symbol || (tq.orderID > 0 && t.orderID != tq.orderID) ||
			(tq.start > 0 && t.time < tq.start) || (tq.end > 0 && t.time > tq.end) || (tq.fromID > 0 && t.id < tq.fromID) {
			continue
		}
		if int64(len(out)) >= tq.limit {
			break
		}
		out = append(out, t)
	}
	return out
}

// listTrades serves a venue's trade list: GET /api/v3/myTrades, /sapi/v1/margin/myTrades or
// /fapi/v1/userTrades.
func listTrades(venue exchange.Venue) func(*request) (any, error) {
	return func(q *request) (any, error) {
		if venue == exchange.Margin {
			if err := isolated(q); err != nil {
				return nil, err
			}
		}
		tq, err := readTradeQuery(q, venue)
		if err != nil {
			return nil, err
		}
		return q.s.locked(func(st *state) (any, error) {
			if err := tq.window(st.nowMS()); err != nil {
				return nil, err
			}
			out := []map[string]any{}
			for _, t := range st.tradesOf(tq) {
				out = append(out, tradeJSON(t))
			}
			return out, nil
		})
	}
}

// tradeJSON is a row of a venue's trade list.
func tradeJSON(t *trade) map[string]any {
	if t.venue == exchange.Futures {
		return map[string]any{"buyer": t.side == "BUY", "commission": t.fee.String(), "commissionAsset": t.feeAsset, "id": t.id,
			"maker": t.maker, "orderId": t.orderID, "price": t.price.String(), "qty": t.qty.String(), "quoteQty": t.qty.Mul(t.price).String(),
			"realizedPnl": t.realized.String(), "side": t.side, "positionSide": "BOTH", "symbol": t.symbol, "time": t.time}
	}
	row := map[string]any{"symbol": t.symbol, "id": t.id, "orderId": t.orderID, "orderListId": -1, "price": t.price.StringFixed(8),
		"qty": t.qty.StringFixed(8), "quoteQty": t.qty.Mul(t.price).StringFixed(8), "commission": t.fee.StringFixed(8), "commissionAsset": t.feeAsset,
		"time": t.time, "isBuyer": t.side == "BUY", "isMaker": t.maker, "isBestMatch": true}
	if t.venue == exchange.Margin {
		delete(row, "orderListId")
		row["isIsolated"] = false
	}
	return row
}
