package fakebinance

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Cross margin: /sapi/v1/margin/… orders (with sideEffectType, matched against the spot book), borrow-repay,
// maxBorrowable, next-hourly-interest-rate, interestHistory and the margin account.
//
// Loans charge one hour of simple interest when taken (type ON_BORROW) and one more each time the hour is
// charged: ChargeInterest (POST /_fake/interest), never by the wall clock, so a test never sees a charge it
// did not ask for. Repayments pay interest first. Max borrowable follows Cross Margin Classic: the whole
// debt may reach net equity × (leverage − 1) at spot mids (leverage 3), capped by SetBorrowLimit. A margin
// order with MARGIN_BUY/AUTO_BORROW_REPAY borrows the shortfall of what it spends when placed (-3006 past
// max borrowable) and, when it ends with an unfilled remainder, repays what that remainder did not use
// (Binance's autoRepayAtCancel, default true); AUTO_REPAY/AUTO_BORROW_REPAY repay the debt of the asset
// received from each fill (net of fee), interest first.

// DefaultHourlyInterest is the fake's hourly rate of an asset without SetInterestRate.
var DefaultHourlyInterest = decimal.New(1, -5)

const marginLeverage = 3

// marginBook is the cross-margin account's loans and their history.
type marginBook struct {
	loans     map[string]*fakeLoan
	rates     map[string]decimal.Decimal
	limits    map[string]decimal.Decimal
	loanRows  []loanRow
	interests []interestRow
}

type fakeLoan struct{ principal, interest decimal.Decimal }

// loanRow is a row of GET /sapi/v1/margin/borrow-repay.
type loanRow struct {
	Kind           string `json:"-"` // BORROW or REPAY
	Type           string `json:"type"`
	IsolatedSymbol string `json:"isolatedSymbol"`
	Amount         string `json:"amount"`
	Asset          string `json:"asset"`
	Interest       string `json:"interest"`
	Principal      string `json:"principal"`
	Status         string `json:"status"`
	Timestamp      int64  `json:"timestamp"`
	TxID           int64  `json:"txId"`
}

// interestRow is a row of GET /sapi/v1/margin/interestHistory.
type interestRow struct {
	TxID                int64  `json:"txId"`
	InterestAccuredTime int64  `json:"interestAccuredTime"`
	Asset               string `json:"asset"`
	RawAsset            string `json:"rawAsset"`
	Principal           string `json:"principal"`
	Interest            string `json:"interest"`
	InterestRate        string `json:"interestRate"`
	Type                string `json:"type"`
	IsolatedSymbol      string `json:"isolatedSymbol"`
}

func addMarginRoutes(add func(method, path string, sec security, fn func(*request) (any, error))) {
	add("POST", "/sapi/v1/margin/order", secSigned, marginNewOrder)
	add("GET", "/sapi/v1/margin/order", secSigned, getOrder(exchange.Margin))
	add("DELETE", "/sapi/v1/margin/order", secSigned, cancelOrder(exchange.Margin))
	add("GET", "/sapi/v1/margin/myTrades", secSigned, listTrades(exchange.Margin))
	add("GET", "/sapi/v1/margin/maxBorrowable", secSigned, maxBorrowable)
	add("POST", "/sapi/v1/margin/borrow-repay", secSigned, borrowRepay)
	add("GET", "/sapi/v1/margin/borrow-repay", secSigned, listBorrowRepay)
	add("GET", "/sapi/v1/margin/next-hourly-interest-rate", secSigned, nextHourlyRate)
	add("GET", "/sapi/v1/margin/interestHistory", secSigned, interestHistory)
	add("GET", "/sapi/v1/margin/account", secSigned, marginAccount)
}

func (st *state) margins() *marginBook {
	if st.mg == nil {
		st.mg = &marginBook{loans: map[string]*fakeLoan{}, rates: map[string]decimal.Decimal{}, limits: map[string]decimal.Decimal{}}
	}
	return st.mg
}

// walletOf is the wallet spot-book orders of a venue use.
func (st *state) walletOf(v exchange.Venue) map[string]*balance {
	if v == exchange.Margin {
		return st.margin
	}
	return st.spot
}

func (st *state) rate(asset string) decimal.Decimal {
	if r, ok := st.margins().rates[asset]; ok {
		return r
	}
	return DefaultHourlyInterest
}

func hourOf(principal, rate decimal.Decimal) decimal.Decimal { return principal.Mul(rate).RoundCeil(8) }

func isolated(q *request) error {
	if boolParam(q.str("isIsolated")) {
		return errBadRequest(-1100, "fakebinance: isolated margin is not simulated (send isIsolated=FALSE)")
	}
	return nil
}

// price of an asset in USDT: the mid of its spot book (USDT itself is 1).
func (st *state) usdtPrice(asset string) decimal.Decimal {
	if asset == "USDT" {
		return decimal.NewFromInt(1)
	}
	b := st.bookOf(exchange.Spot, asset+"USDT")
	if !b.bid.IsPositive() || !b.ask.IsPositive() {
		return decimal.Zero
	}
	return b.bid.Add(b.ask).Div(decimal.NewFromInt(2))
}

// marginTotals values the margin account in USDT.
func (st *state) marginTotals() (assets, debt decimal.Decimal) {
	mg := st.margins()
	for a, b := range st.margin {
		assets = assets.Add(b.free.Add(b.locked).Mul(st.usdtPrice(a)))
	}
	for a, l := range mg.loans {
		debt = debt.Add(l.principal.Add(l.interest).Mul(st.usdtPrice(a)))
	}
	return assets, debt
}

func (st *state) maxBorrowable(asset string) (amount, limit decimal.Decimal) {
	px := st.usdtPrice(asset)
	assets, debt := st.marginTotals()
	capacity := assets.Sub(debt).Mul(decimal.NewFromInt(marginLeverage - 1)).Sub(debt)
	if px.IsPositive() && capacity.IsPositive() {
		amount = capacity.Div(px).RoundFloor(8)
	}
	mg := st.margins()
	limit = amount
	if l, ok := mg.limits[asset]; ok {
		held := decimal.Zero
		if ln := mg.loans[asset]; ln != nil {
			held = ln.principal
		}
		limit = l
		amount = decimal.Min(amount, decimal.Max(decimal.Zero, l.Sub(held)))
	}
	return amount, limit
}

// borrow books a loan and its ON_BORROW interest; typ is MANUAL or AUTO.
func (st *state) borrow(asset string, amount decimal.Decimal, typ string) int64 {
	mg := st.margins()
	l := mg.loans[asset]
	if l == nil {
		l = &fakeLoan{}
		mg.loans[asset] = l
	}
	rate := st.rate(asset)
	charge := hourOf(amount, rate)
	l.principal = l.principal.Add(amount)
	l.interest = l.interest.Add(charge)
	b := st.bal(st.margin, asset)
	b.free = b.free.Add(amount)
	id := st.nextID()
	now := st.nowMS()
	mg.loanRows = append(mg.loanRows, loanRow{Kind: "BORROW", Type: typ, Amount: amount.StringFixed(8), Asset: asset, Interest: "0",
		Principal: amount.StringFixed(8), Status: "CONFIRMED", Timestamp: now, TxID: id})
	mg.interests = append(mg.interests, interestRow{TxID: st.nextID(), InterestAccuredTime: now, Asset: asset, RawAsset: asset,
		Principal: amount.StringFixed(8), Interest: charge.StringFixed(8), InterestRate: rate.String(), Type: "ON_BORROW"})
	return id
}

// repay books a repayment from the margin wallet, interest first; typ is MANUAL or AUTO.
func (st *state) repay(asset string, amount decimal.Decimal, typ string) int64 {
	mg := st.margins()
	l := mg.loans[asset]
	payI := decimal.Min(amount, l.interest)
	payP := amount.Sub(payI)
	l.interest = l.interest.Sub(payI)
	l.principal = l.principal.Sub(payP)
	if !l.principal.IsPositive() && !l.interest.IsPositive() {
		delete(mg.loans, asset)
	}
	b := st.bal(st.margin, asset)
	b.free = b.free.Sub(amount)
	id := st.nextID()
	mg.loanRows = append(mg.loanRows, loanRow{Kind: "REPAY", Type: typ, Amount: amount.StringFixed(8), Asset: asset, Interest: payI.StringFixed(8),
		Principal: payP.StringFixed(8), Status: "CONFIRMED", Timestamp: st.nowMS(), TxID: id})
	return id
}

func (st *state) debt(asset string) decimal.Decimal {
	if l := st.margins().loans[asset]; l != nil {
		return l.principal.Add(l.interest)
	}
	return decimal.Zero
}

// chargeHour charges one hour of interest on every outstanding principal.
func (st *state) chargeHour() []interestRow {
	mg := st.margins()
	assets := make([]string, 0, len(mg.loans))
	for a := range mg.loans {
		assets = append(assets, a)
	}
	sort.Strings(assets)
	var out []interestRow
	now := st.nowMS()
	for _, a := range assets {
		l := mg.loans[a]
		if !l.principal.IsPositive() {
			continue
		}
		rate := st.rate(a)
		charge := hourOf(l.principal, rate)
		l.interest = l.interest.Add(charge)
		row := interestRow{TxID: st.nextID(), InterestAccuredTime: now, Asset: a, RawAsset: a, Principal: l.principal.StringFixed(8),
			Interest: charge.StringFixed(8), InterestRate: rate.String(), Type: "PERIODIC"}
		mg.interests = append(mg.interests, row)
		out = append(out, row)
	}
	return out
}

// autoRepay repays, after a fill of an AUTO_REPAY/AUTO_BORROW_REPAY margin order, the debt of the asset the
// fill delivered, from what it delivered (net of fee).
func (st *state) autoRepay(o *order, t *trade, si *symbolInfo) {
	if o.venue != exchange.Margin || (o.sideEffect != "AUTO_REPAY" && o.sideEffect != "AUTO_BORROW_REPAY") {
		return
	}
	asset, got := si.base, t.qty.Sub(t.fee)
	if o.side == "SELL" {
		asset, got = si.quote, t.qty.Mul(t.price).Sub(t.fee)
	}
	if pay := decimal.Min(got, st.debt(asset)); pay.IsPositive() {
		st.repay(asset, pay, "AUTO")
	}
}

// placeMargin places a margin order: auto-borrow first (undone if the order is refused), then matching,
// then autoRepayAtCancel for an unfilled remainder.
func (st *state) placeMargin(req orderReq, sideEffect string) (*order, error) {
	si := st.symbol(exchange.Spot, req.symbol)
	if si == nil {
		return nil, errBadRequest(-1121, "Invalid symbol.")
	}
	var borrowed decimal.Decimal
	var borrowAsset string
	if sideEffect == "MARGIN_BUY" || sideEffect == "AUTO_BORROW_REPAY" {
		b := st.bookOf(exchange.Spot, req.symbol)
		borrowAsset = si.base
		need := req.qty
		if req.side == "BUY" {
			borrowAsset = si.quote
			px := req.price
			if req.typ == "MARKET" {
				px = b.ask
			}
			need = req.qty.Mul(px)
		}
		if short := need.Sub(st.bal(st.margin, borrowAsset).free).RoundCeil(8); short.IsPositive() {
			maxAmt, _ := st.maxBorrowable(borrowAsset)
			if short.GreaterThan(maxAmt) {
				return nil, errBadRequest(-3006, "Your borrow amount has exceed maximum borrow amount.")
			}
			borrowed = short
		}
	}
	// Snapshot what a refused order must leave untouched.
	mg := st.margins()
	before := struct {
		loan             *fakeLoan
		free             decimal.Decimal
		rows, interests  int
		hadLoan, hadFree bool
	}{rows: len(mg.loanRows), interests: len(mg.interests)}
	if borrowed.IsPositive() {
		if l, ok := mg.loans[borrowAsset]; ok {
			cp := *l
			before.loan, before.hadLoan = &cp, true
		}
		b := st.bal(st.margin, borrowAsset)
		before.free = b.free
		st.borrow(borrowAsset, borrowed, "AUTO")
	}
	req.sideEffect = sideEffect
	o, err := st.place(req)
	if err != nil {
		if borrowed.IsPositive() {
			if before.hadLoan {
				mg.loans[borrowAsset] = before.loan
			} else {
				delete(mg.loans, borrowAsset)
			}
			st.bal(st.margin, borrowAsset).free = before.free
			mg.loanRows, mg.interests = mg.loanRows[:before.rows], mg.interests[:before.interests]
		}
		return nil, err
	}
	o.borrowed, o.borrowAsset = borrowed, borrowAsset
	if o.final() {
		st.returnUnusedBorrow(o, si)
	}
	return o, nil
}

// returnUnusedBorrow repays, for a margin order that just became final with a remainder, what its
// auto-borrow was for the remainder (autoRepayAtCancel). Called once: at placement or at the cancel.
func (st *state) returnUnusedBorrow(o *order, si *symbolInfo) {
	if !o.borrowed.IsPositive() {
		return
	}
	rem := o.qty.Sub(o.executed)
	if !rem.IsPositive() {
		return
	}
	unused := rem
	if o.side == "BUY" {
		unused = rem.Mul(o.price)
		if o.typ == "MARKET" {
			unused = rem.Mul(st.bookOf(exchange.Spot, o.symbol).ask)
		}
	}
	pay := decimal.Min(decimal.Min(unused, o.borrowed), decimal.Min(st.bal(st.margin, o.borrowAsset).free, st.debt(o.borrowAsset)))
	if pay.IsPositive() {
		st.repay(o.borrowAsset, pay, "AUTO")
	}
}

func marginNewOrder(q *request) (any, error) {
	if err := isolated(q); err != nil {
		return nil, err
	}
	req, respType, err := spotOrderReq(q, exchange.Margin)
	if err != nil {
		return nil, err
	}
	se := q.str("sideEffectType")
	switch se {
	case "":
		se = "NO_SIDE_EFFECT"
	case "NO_SIDE_EFFECT", "MARGIN_BUY", "AUTO_REPAY", "AUTO_BORROW_REPAY":
	default:
		return nil, errBadRequest(-1100, "Illegal characters found in parameter 'sideEffectType'.")
	}
	return q.s.locked(func(st *state) (any, error) {
		req.partial = q.s.takeFaultLocked(q.r.Method, q.r.URL.Path, true)
		o, err := st.placeMargin(req, se)
		if err != nil {
			return nil, err
		}
		return st.spotOrderAnswer(o, respType), nil
	})
}

func maxBorrowable(q *request) (any, error) {
	if err := q.required("asset"); err != nil {
		return nil, err
	}
	if q.str("isolatedSymbol") != "" {
		return nil, errBadRequest(-1100, "fakebinance: isolated margin is not simulated")
	}
	asset := upper(q.str("asset"))
	return q.s.locked(func(st *state) (any, error) {
		if !st.marginAsset(asset) {
			return nil, errBadRequest(-3027, "Not a valid margin asset.")
		}
		amount, limit := st.maxBorrowable(asset)
		return map[string]string{"amount": amount.StringFixed(8), "borrowLimit": limit.StringFixed(8)}, nil
	})
}

// marginAsset: USDT or the base of a spot symbol against USDT.
func (st *state) marginAsset(asset string) bool {
	return asset == "USDT" || st.spotSyms[asset+"USDT"] != nil
}

func borrowRepay(q *request) (any, error) {
	if err := q.required("asset", "amount", "type"); err != nil {
		return nil, err
	}
	if err := isolated(q); err != nil {
		return nil, err
	}
	asset := upper(q.str("asset"))
	amount, err := q.dec("amount")
	if err != nil {
		return nil, err
	}
	if !amount.IsPositive() {
		return nil, errBadRequest(-1100, "Illegal characters found in parameter 'amount'.")
	}
	typ := q.str("type")
	return q.s.locked(func(st *state) (any, error) {
		if !st.perms.EnableMargin {
			return nil, &apiError{status: http.StatusUnauthorized, code: -2015, msg: "Invalid API-key, IP, or permissions for action."}
		}
		if !st.marginAsset(asset) {
			return nil, errBadRequest(-3027, "Not a valid margin asset.")
		}
		switch typ {
		case "BORROW":
			if maxAmt, _ := st.maxBorrowable(asset); amount.GreaterThan(maxAmt) {
				return nil, errBadRequest(-3006, "Your borrow amount has exceed maximum borrow amount.")
			}
			return map[string]int64{"tranId": st.borrow(asset, amount, "MANUAL")}, nil
		case "REPAY":
			if amount.GreaterThan(st.debt(asset)) {
				return nil, errBadRequest(-3015, "Repay amount exceeds borrow amount.")
			}
			if st.bal(st.margin, asset).free.LessThan(amount) {
				return nil, errBadRequest(-3041, "Balance is not enough")
			}
			return map[string]int64{"tranId": st.repay(asset, amount, "MANUAL")}, nil
		}
		return nil, errBadRequest(-1100, "Illegal characters found in parameter 'type'.")
	})
}

// pageParams reads startTime, endTime, current and size (max 100).
func pageParams(q *request) (start, end, current, size int64, err error) {
	if start, end, err = timeParams(q); err != nil {
		return
	}
	if current, err = q.int("current", 1); err != nil {
		return
	}
	if size, err = q.int("size", 10); err != nil {
		return
	}
	return start, end, max(current, 1), min(max(size, 1), 100), nil
}

func page[T any](rows []T, current, size int64) map[string]any {
	res := map[string]any{"total": len(rows), "rows": []T{}}
	if from := (current - 1) * size; from < int64(len(rows)) {
		res["rows"] = rows[from:min(from+size, int64(len(rows)))]
	}
	return res
}

func listBorrowRepay(q *request) (any, error) {
	if err := q.required("type"); err != nil {
		return nil, err
	}
	typ := q.str("type")
	if typ != "BORROW" && typ != "REPAY" {
		return nil, errBadRequest(-1100, "Illegal characters found in parameter 'type'.")
	}
	asset := upper(q.str("asset"))
	txID, err := q.int("txId", 0)
	if err != nil {
		return nil, err
	}
	start, end, current, size, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		var rows []loanRow
		for _, r := range st.margins().loanRows {
			if r.Kind != typ || (asset != "" && r.Asset != asset) || (txID > 0 && r.TxID != txID) ||
				(start >= 0 && r.Timestamp < start) || (end >= 0 && r.Timestamp > end) {
				continue
			}
			rows = append(rows, r)
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Timestamp > rows[j].Timestamp }) // newest first
		return page(rows, current, size), nil
	})
}

func nextHourlyRate(q *request) (any, error) {
	if err := q.required("assets"); err != nil {
		return nil, err
	}
	if err := isolated(q); err != nil {
		return nil, err
	}
	assets := strings.Split(q.str("assets"), ",")
	return q.s.locked(func(st *state) (any, error) {
		out := []map[string]string{}
		for _, a := range assets {
			a = upper(a)
			if !st.marginAsset(a) {
				return nil, errBadRequest(-3027, "Not a valid margin asset.")
			}
			out = append(out, map[string]string{"asset": a, "nextHourlyInterestRate": st.rate(a).StringFixed(8)})
		}
		return out, nil
	})
}

func interestHistory(q *request) (any, error) {
	if q.str("isolatedSymbol") != "" {
		return nil, errBadRequest(-1100, "fakebinance: isolated margin is not simulated")
	}
	asset := upper(q.str("asset"))
	start, end, current, size, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		var rows []interestRow
		for _, r := range st.margins().interests {
			if (asset != "" && r.Asset != asset) || (start >= 0 && r.InterestAccuredTime < start) || (end >= 0 && r.InterestAccuredTime > end) {
				continue
			}
			rows = append(rows, r)
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].InterestAccuredTime > rows[j].InterestAccuredTime })
		return page(rows, current, size), nil
	})
}

// marginLevelOf is assets ÷ debt, "999" without debt (as Binance reports).
func (st *state) marginLevelOf() decimal.Decimal {
	assets, debt := st.marginTotals()
	if !debt.IsPositive() {
		return decimal.NewFromInt(999)
	}
	return assets.DivRound(debt, 8)
}

func marginAccount(q *request) (any, error) {
	return q.s.locked(func(st *state) (any, error) {
		mg := st.margins()
		names := map[string]bool{}
		for a := range st.margin {
			names[a] = true
		}
		for a := range mg.loans {
			names[a] = true
		}
		list := make([]string, 0, len(names))
		for a := range names {
			list = append(list, a)
		}
		sort.Strings(list)
		assets, debt := st.marginTotals()
		btc := st.usdtPrice("BTC")
		inBTC := func(x decimal.Decimal) string {
			if !btc.IsPositive() {
				return "0.00000000"
			}
			return x.DivRound(btc, 8).StringFixed(8)
		}
		users := []map[string]string{}
		for _, a := range list {
			b := st.bal(st.margin, a)
			p, i := decimal.Zero, decimal.Zero
			if l := mg.loans[a]; l != nil {
				p, i = l.principal, l.interest
			}
			users = append(users, map[string]string{"asset": a, "borrowed": p.StringFixed(8), "free": b.free.StringFixed(8), "interest": i.StringFixed(8),
				"locked": b.locked.StringFixed(8), "netAsset": b.free.Add(b.locked).Sub(p).Sub(i).StringFixed(8)})
		}
		return map[string]any{
			"created": true, "borrowEnabled": st.perms.EnableMargin, "marginLevel": st.marginLevelOf().StringFixed(8),
			"collateralMarginLevel": st.marginLevelOf().StringFixed(8), "totalAssetOfBtc": inBTC(assets), "totalLiabilityOfBtc": inBTC(debt),
			"totalNetAssetOfBtc": inBTC(assets.Sub(debt)), "totalCollateralValueInUSDT": assets.StringFixed(8), "tradeEnabled": st.perms.EnableSpotAndMargin,
			"transferInEnabled": true, "transferOutEnabled": true, "accountType": "MARGIN_1", "userAssets": users,
		}, nil
	})
}

// Control: interest, rates, limits.

// ChargeInterest charges one hour of interest on every outstanding loan principal (type PERIODIC rows in
// /sapi/v1/margin/interestHistory) hours times, and returns the rows.
func (s *Server) ChargeInterest(hours int) []InterestCharge {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []InterestCharge
	for range max(hours, 1) {
		for _, r := range s.st.chargeHour() {
			out = append(out, InterestCharge{TxID: r.TxID, Asset: r.Asset, Principal: decimal.RequireFromString(r.Principal),
				Rate: decimal.RequireFromString(r.InterestRate), Interest: decimal.RequireFromString(r.Interest), Time: r.InterestAccuredTime})
		}
	}
	return out
}

// InterestCharge is one hourly charge made by ChargeInterest.
type InterestCharge struct {
	TxID      int64           `json:"tx_id"`
	Asset     string          `json:"asset"`
	Principal decimal.Decimal `json:"principal"`
	Rate      decimal.Decimal `json:"rate"`
	Interest  decimal.Decimal `json:"interest"`
	Time      int64           `json:"time"`
}

// SetInterestRate sets an asset's hourly interest rate (default DefaultHourlyInterest).
func (s *Server) SetInterestRate(asset string, rate decimal.Decimal) error {
	if rate.IsNegative() {
		return fmt.Errorf("fakebinance: negative interest rate %s", rate)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.margins().rates[upper(asset)] = rate
	return nil
}

// SetBorrowLimit caps an asset's borrowed principal (maxBorrowable's borrowLimit).
func (s *Server) SetBorrowLimit(asset string, limit decimal.Decimal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.margins().limits[upper(asset)] = limit
}

// Loan is an outstanding loan of the fake's margin account.
type Loan struct {
	Asset     string          `json:"asset"`
	Principal decimal.Decimal `json:"principal"`
	Interest  decimal.Decimal `json:"interest"`
}

// Loans returns the outstanding loans by asset.
func (s *Server) Loans() []Loan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.loanStates()
}

func (st *state) loanStates() []Loan {
	mg := st.margins()
	out := make([]Loan, 0, len(mg.loans))
	for a, l := range mg.loans {
		out = append(out, Loan{Asset: a, Principal: l.principal, Interest: l.interest})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
	return out
}

// MarginLevel is the margin account's level as /sapi/v1/margin/account reports it.
func (s *Server) MarginLevel() decimal.Decimal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.marginLevelOf()
}
