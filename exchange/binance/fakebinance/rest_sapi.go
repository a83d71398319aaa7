package fakebinance

import (
	"net/http"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

func apiRestrictions(q *request) (any, error) {
	return q.s.locked(func(st *state) (any, error) {
		p := st.perms
		return map[string]any{"ipRestrict": p.IPRestrict, "createTime": 1700000000000, "enableWithdrawals": p.EnableWithdrawals,
			"enableInternalTransfer": false, "permitsUniversalTransfer": p.PermitsUniversalTransfer, "enableVanillaOptions": false,
			"enableReading": p.EnableReading, "enableFutures": p.EnableFutures, "enableMargin": p.EnableMargin,
			"enableSpotAndMarginTrading": p.EnableSpotAndMargin, "enablePortfolioMarginTrading": false}, nil
	})
}

// newTransfer is POST /sapi/v1/asset/transfer between the spot, USDⓈ-M futures and cross-margin wallets.
func newTransfer(q *request) (any, error) {
	if err := q.required("type", "asset", "amount"); err != nil {
		return nil, err
	}
	kind := exchange.TransferKind(q.str("type"))
	asset := upper(q.str("asset"))
	amount, err := q.dec("amount")
	if err != nil {
		return nil, err
	}
	if !kind.Valid() {
		return nil, errBadRequest(-1100, "Illegal characters found in parameter 'type'.")
	}
	if !amount.IsPositive() {
		return nil, errBadRequest(-1100, "Illegal characters found in parameter 'amount'.")
	}
	return q.s.locked(func(st *state) (any, error) {
		if !st.perms.PermitsUniversalTransfer {
			return nil, &apiError{status: http.StatusUnauthorized, code: -2015, msg: "Invalid API-key, IP, or permissions for action."}
		}
		if !st.debit(kind.From(), asset, amount) {
			return nil, errBadRequest(-5013, "Asset transfer failed: insufficient balance")
		}
		st.credit(kind.To(), asset, amount)
		id := st.nextID()
		st.transfers = append(st.transfers, transferRow{Asset: asset, Amount: amount.StringFixed(8), Type: string(kind), Status: "CONFIRMED", TranID: id, Timestamp: st.nowMS()})
		if kind.From() == exchange.Futures || kind.To() == exchange.Futures {
			st.accountUpdate(exchange.Futures, nil, "DEPOSIT")
		}
		return map[string]int64{"tranId": id}, nil
	})
}

func (st *state) debit(v exchange.Venue, asset string, amount decimal.Decimal) bool {
	switch v {
	case exchange.Spot, exchange.Margin:
		m := st.spot
		if v == exchange.Margin {
			m = st.margin
		}
		b := st.bal(m, asset)
		if b.free.LessThan(amount) {
			return false
		}
		b.free = b.free.Sub(amount)
		return true
	case exchange.Futures:
		if asset == "USDT" && st.available().LessThan(amount) || st.futWallet[asset].LessThan(amount) {
			return false
		}
		st.futWallet[asset] = st.futWallet[asset].Sub(amount)
		return true
	}
	return false
}

func (st *state) credit(v exchange.Venue, asset string, amount decimal.Decimal) {
	switch v {
	case exchange.Spot:
		b := st.bal(st.spot, asset)
		b.free = b.free.Add(amount)
	case exchange.Margin:
		b := st.bal(st.margin, asset)
		b.free = b.free.Add(amount)
	case exchange.Futures:
		st.futWallet[asset] = st.futWallet[asset].Add(amount)
	}
}

func listTransfers(q *request) (any, error) {
	if err := q.required("type"); err != nil {
		return nil, err
	}
	typ := q.str("type")
	start, end, current, size, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		var rows []transferRow
		for _, t := range st.transfers {
			if t.Type == typ && (start < 0 || t.Timestamp >= start) && (end < 0 || t.Timestamp <= end) {
				rows = append(rows, t)
			}
		}
		// Binance lists the newest first.
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Timestamp > rows[j].Timestamp })
		res := map[string]any{"total": len(rows)}
		from := (current - 1) * size
		if from < int64(len(rows)) {
			res["rows"] = rows[from:min(from+size, int64(len(rows)))]
		}
		return res, nil
	})
}
