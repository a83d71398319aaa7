package fakebinance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// The Go API that drives the fake, and the same operations over HTTP under /_fake/ (for a test that
// drives a fake another process talks to; see control).

// SetBook sets the best bid and ask of a market, fills resting orders it crosses and pushes the book
// ticker to subscribers.
func (s *Server) SetBook(venue exchange.Venue, symbol string, bid, bidQty, ask, askQty decimal.Decimal) error {
	symbol = upper(symbol)
	_, err := s.locked(func(st *state) (any, error) {
		if st.symbol(venue, symbol) == nil {
			return nil, fmt.Errorf("fakebinance: no %s symbol %s", venue, symbol)
		}
		if bid.IsNegative() || ask.IsNegative() || (ask.IsPositive() && bid.GreaterThan(ask)) {
			return nil, fmt.Errorf("fakebinance: book %s/%s is crossed or negative", bid, ask)
		}
		k := bookKey{venue, symbol}
		prev := st.books[k]
		b := &book{bid: bid, bidQty: bidQty, ask: ask, askQty: askQty, updateID: 1}
		if prev != nil {
			b.updateID = prev.updateID + 1
		}
		st.books[k] = b
		st.crossResting(venue, symbol)
		if venue == exchange.Spot {
			st.crossResting(exchange.Margin, symbol) // margin orders trade the spot book
		}
		return nil, nil
	})
	if err == nil {
		s.hub.publish("bookTicker", venue, symbol)
	}
	return err
}

// SetMark sets a perpetual's mark, index, running funding estimate and (if not zero) next funding time,
// and pushes it to markPrice subscribers.
func (s *Server) SetMark(symbol string, markPx, index, rate decimal.Decimal, next time.Time) error {
	symbol = upper(symbol)
	_, err := s.locked(func(st *state) (any, error) {
		if st.futSyms[symbol] == nil {
			return nil, fmt.Errorf("fakebinance: no futures symbol %s", symbol)
		}
		m, ok := st.marks[symbol]
		if !ok {
			m = &mark{next: nextBoundary(st.now(), st.interval(symbol))}
			st.marks[symbol] = m
		}
		m.mark, m.index, m.rate = markPx, index, rate
		if !next.IsZero() {
			m.next = next
		}
		return nil, nil
	})
	if err == nil {
		s.hub.publish("markPrice", exchange.Futures, symbol)
	}
	return err
}

// Settlement is what Settle did.
type Settlement struct {
	Symbol      string          `json:"symbol"`
	Rate        decimal.Decimal `json:"rate"`
	Mark        decimal.Decimal `json:"mark"`
	FundingTime int64           `json:"funding_time"`
	Paid        bool            `json:"paid"` // a position existed and an income row was written
	TranID      int64           `json:"tran_id,omitempty"`
	Amount      decimal.Decimal `json:"amount"`
	NextFunding int64           `json:"next_funding_time"`
}

// Settle settles a symbol's funding now at rate and mark (zero: the current mark): the position (if
// any) receives −qty × mark × rate into the futures wallet as a FUNDING_FEE income row with a tranId,
// the rate joins /fapi/v1/fundingRate, the schedule rolls one interval ahead, and ACCOUNT_UPDATE (reason
// FUNDING_FEE) and the new mark price are pushed.
func (s *Server) Settle(symbol string, rate, markPx decimal.Decimal) (Settlement, error) {
	symbol = upper(symbol)
	res, err := s.locked(func(st *state) (any, error) {
		row, paid, err := st.settle(symbol, rate, markPx)
		if err != nil {
			return nil, err
		}
		m := st.marks[symbol]
		out := Settlement{Symbol: symbol, Rate: rate, Mark: m.mark, FundingTime: st.funding[symbol][len(st.funding[symbol])-1].FundingTime, Paid: paid, NextFunding: m.next.UnixMilli()}
		if paid {
			out.TranID = row.TranID
			out.Amount = decimal.RequireFromString(row.Income)
		}
		return out, nil
	})
	if err != nil {
		return Settlement{}, err
	}
	s.hub.publish("markPrice", exchange.Futures, symbol)
	return res.(Settlement), nil
}

// SetBalance sets the free balance of an asset in a wallet (spot, futures or margin).
func (s *Server) SetBalance(venue exchange.Venue, asset string, free decimal.Decimal) error {
	asset = upper(asset)
	_, err := s.locked(func(st *state) (any, error) {
		switch venue {
		case exchange.Spot:
			st.bal(st.spot, asset).free = free
		case exchange.Margin:
			st.bal(st.margin, asset).free = free
		case exchange.Futures:
			st.futWallet[asset] = free
		default:
			return nil, fmt.Errorf("fakebinance: unknown venue %q", venue)
		}
		return nil, nil
	})
	return err
}

// SetPosition sets a one-way futures position (qty signed) and its entry price.
func (s *Server) SetPosition(symbol string, qty, entry decimal.Decimal) error {
	symbol = upper(symbol)
	_, err := s.locked(func(st *state) (any, error) {
		if st.futSyms[symbol] == nil {
			return nil, fmt.Errorf("fakebinance: no futures symbol %s", symbol)
		}
		p := st.pos(symbol)
		p.qty, p.entry = qty, entry
		return nil, nil
	})
	return err
}

// SetPermissions sets what the key may do (apiRestrictions).
func (s *Server) SetPermissions(p Permissions) {
	s.mu.Lock()
	s.st.perms = p
	s.mu.Unlock()
}

// SetPositionMode puts the futures account in hedge (dual) or one-way mode.
func (s *Server) SetPositionMode(dual bool) {
	s.mu.Lock()
	s.st.dual = dual
	s.mu.Unlock()
}

// OrderState is the fake's view of an order.
type OrderState struct {
	Venue       exchange.Venue  `json:"venue"`
	OrderID     int64           `json:"order_id"`
	ClientID    string          `json:"client_id"`
	Symbol      string          `json:"symbol"`
	Side        string          `json:"side"`
	Type        string          `json:"type"`
	TimeInForce string          `json:"time_in_force"`
	Status      string          `json:"status"`
	Qty         decimal.Decimal `json:"qty"`
	Price       decimal.Decimal `json:"price"`
	Executed    decimal.Decimal `json:"executed"`
	CumQuote    decimal.Decimal `json:"cum_quote"`
	ReduceOnly  bool            `json:"reduce_only"`
}

// TradeState is one execution.
type TradeState struct {
	Venue    exchange.Venue  `json:"venue"`
	TradeID  int64           `json:"trade_id"`
	OrderID  int64           `json:"order_id"`
	Symbol   string          `json:"symbol"`
	Side     string          `json:"side"`
	Price    decimal.Decimal `json:"price"`
	Qty      decimal.Decimal `json:"qty"`
	Fee      decimal.Decimal `json:"fee"`
	FeeAsset string          `json:"fee_asset"`
	Maker    bool            `json:"maker"`
	Realized decimal.Decimal `json:"realized_pnl"`
}

// BalanceState is one wallet balance.
type BalanceState struct {
	Venue  exchange.Venue  `json:"venue"`
	Asset  string          `json:"asset"`
	Free   decimal.Decimal `json:"free"`
	Locked decimal.Decimal `json:"locked"`
}

// PositionState is one futures position.
type PositionState struct {
	Symbol   string          `json:"symbol"`
	Qty      decimal.Decimal `json:"qty"`
	Entry    decimal.Decimal `json:"entry"`
	Leverage int             `json:"leverage"`
	Isolated bool            `json:"isolated"`
}

// Snapshot is the fake's whole state, for assertions (GET /_fake/state).
type Snapshot struct {
	Time          time.Time       `json:"time"`
	Balances      []BalanceState  `json:"balances"`
	Positions     []PositionState `json:"positions"`
	Orders        []OrderState    `json:"orders"`
	Trades        []TradeState    `json:"trades"`
	Income        []incomeRow     `json:"income"`
	Transfers     []transferRow   `json:"transfers"`
	Loans         []Loan          `json:"loans"` // cross-margin loans (rest_margin.go)
	Faults        []Fault         `json:"faults"`
	DualSide      bool            `json:"dual_side_position"`
	Permissions   Permissions     `json:"permissions"`
	WSConnections map[Group]int   `json:"ws_connections"`
	Requests      int             `json:"requests"`
}

// State returns a snapshot of the fake.
func (s *Server) State() Snapshot {
	ws := map[Group]int{}
	for _, g := range Groups() {
		ws[g] = s.WSConnections(g)
	}
	faults := s.Faults()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	snap := Snapshot{Time: st.now(), Faults: faults, DualSide: st.dual, Permissions: st.perms, WSConnections: ws, Requests: len(s.requests),
		Income: append([]incomeRow(nil), st.income...), Transfers: append([]transferRow(nil), st.transfers...), Loans: st.loanStates()}
	for _, w := range []struct {
		v exchange.Venue
		m map[string]*balance
	}{{exchange.Spot, st.spot}, {exchange.Margin, st.margin}} {
		for a, b := range w.m {
			snap.Balances = append(snap.Balances, BalanceState{Venue: w.v, Asset: a, Free: b.free, Locked: b.locked})
		}
	}
	for a, b := range st.futWallet {
		snap.Balances = append(snap.Balances, BalanceState{Venue: exchange.Futures, Asset: a, Free: b})
	}
	sort.Slice(snap.Balances, func(i, j int) bool {
		if snap.Balances[i].Venue != snap.Balances[j].Venue {
			return snap.Balances[i].Venue < snap.Balances[j].Venue
		}
		return snap.Balances[i].Asset < snap.Balances[j].Asset
	})
	for sym, p := range st.positions {
		if !p.qty.IsZero() {
			c := st.config(sym)
			snap.Positions = append(snap.Positions, PositionState{Symbol: sym, Qty: p.qty, Entry: p.entry, Leverage: c.leverage, Isolated: c.isolated})
		}
	}
	sort.Slice(snap.Positions, func(i, j int) bool { return snap.Positions[i].Symbol < snap.Positions[j].Symbol })
	for _, o := range st.allOrders {
		snap.Orders = append(snap.Orders, orderState(o))
	}
	for _, t := range st.trades {
		snap.Trades = append(snap.Trades, TradeState{Venue: t.venue, TradeID: t.id, OrderID: t.orderID, Symbol: t.symbol, Side: t.side, Price: t.price,
			Qty: t.qty, Fee: t.fee, FeeAsset: t.feeAsset, Maker: t.maker, Realized: t.realized})
	}
	return snap
}

func orderState(o *order) OrderState {
	return OrderState{Venue: o.venue, OrderID: o.id, ClientID: o.client, Symbol: o.symbol, Side: o.side, Type: o.typ, TimeInForce: o.tif,
		Status: o.status, Qty: o.qty, Price: o.price, Executed: o.executed, CumQuote: o.quote, ReduceOnly: o.reduceOnly}
}

// Order returns the latest order with a client id, if any.
func (s *Server) Order(venue exchange.Venue, symbol, clientID string) (OrderState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.orders[orderKey{venue, upper(symbol), clientID}]
	if !ok {
		return OrderState{}, false
	}
	return orderState(o), true
}

// Balance returns a wallet balance (futures: the wallet balance in Free).
func (s *Server) Balance(venue exchange.Venue, asset string) BalanceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	asset = upper(asset)
	switch venue {
	case exchange.Futures:
		return BalanceState{Venue: venue, Asset: asset, Free: s.st.futWallet[asset]}
	case exchange.Margin:
		b := s.st.bal(s.st.margin, asset)
		return BalanceState{Venue: venue, Asset: asset, Free: b.free, Locked: b.locked}
	}
	b := s.st.bal(s.st.spot, asset)
	return BalanceState{Venue: venue, Asset: asset, Free: b.free, Locked: b.locked}
}

// control serves the HTTP control API (no authentication: the fake listens on loopback):
//
//	POST   /_fake/book         {"venue":"spot","symbol":"BTCUSDT","bid":"60000","bid_qty":"2","ask":"60001","ask_qty":"2"}
//	POST   /_fake/mark         {"symbol":"BTCUSDT","mark":"60000","index":"60010","rate":"0.0001","next_funding_time":1783900800000}
//	POST   /_fake/settle       {"symbol":"BTCUSDT","rate":"0.0001","mark":"60000"}          → Settlement
//	POST   /_fake/balance      {"venue":"futures","asset":"USDT","free":"10000"}
//	POST   /_fake/position     {"symbol":"BTCUSDT","qty":"-0.5","entry":"60000"}
//	POST   /_fake/permissions  {"enableWithdrawals":false,"enableReading":true,…}
//	POST   /_fake/position_mode {"dual":false}
//	POST   /_fake/fault        {"kind":"timeout","method":"POST","path":"/fapi/v1/order","times":1,"delay":"2s","execute":true}
//	DELETE /_fake/fault        (clears every REST fault)
//	POST   /_fake/ws           {"action":"drop|silence|unsilence|refuse|accept","groups":["spot","futures-market"]}
//	POST   /_fake/time         {"offset":"-3s"}
//	POST   /_fake/interest     {"hours":1}                                                  → []InterestCharge
//	POST   /_fake/interest_rate {"asset":"BTC","rate":"0.0000025"}
//	POST   /_fake/borrow_limit {"asset":"BTC","limit":"1.5"}
//	GET    /_fake/state        → Snapshot
//	GET    /_fake/urls         → URLs
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	reply := func(v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		if v == nil {
			v = map[string]bool{"ok": true}
		}
		_ = json.NewEncoder(w).Encode(v)
	}
	decode := func(v any) error {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("bad JSON body: %w", err)
		}
		return nil
	}
	op := strings.TrimPrefix(r.URL.Path, "/_fake/")
	switch r.Method + " " + op {
	case "GET state":
		reply(s.State(), nil)
	case "GET urls":
		reply(s.URLs(), nil)
	case "POST book":
		var b struct {
			Venue  exchange.Venue  `json:"venue"`
			Symbol string          `json:"symbol"`
			Bid    decimal.Decimal `json:"bid"`
			BidQty decimal.Decimal `json:"bid_qty"`
			Ask    decimal.Decimal `json:"ask"`
			AskQty decimal.Decimal `json:"ask_qty"`
		}
		if err := decode(&b); err != nil {
			reply(nil, err)
			return
		}
		reply(nil, s.SetBook(b.Venue, b.Symbol, b.Bid, b.BidQty, b.Ask, b.AskQty))
	case "POST mark":
		var m struct {
			Symbol string          `json:"symbol"`
			Mark   decimal.Decimal `json:"mark"`
			Index  decimal.Decimal `json:"index"`
			Rate   decimal.Decimal `json:"rate"`
			Next   int64           `json:"next_funding_time"`
		}
		if err := decode(&m); err != nil {
			reply(nil, err)
			return
		}
		var next time.Time
		if m.Next > 0 {
			next = time.UnixMilli(m.Next)
		}
		reply(nil, s.SetMark(m.Symbol, m.Mark, m.Index, m.Rate, next))
	case "POST settle":
		var m struct {
			Symbol string          `json:"symbol"`
			Rate   decimal.Decimal `json:"rate"`
			Mark   decimal.Decimal `json:"mark"`
		}
		if err := decode(&m); err != nil {
			reply(nil, err)
			return
		}
		reply(s.Settle(m.Symbol, m.Rate, m.Mark))
	case "POST balance":
		var b struct {
			Venue exchange.Venue  `json:"venue"`
			Asset string          `json:"asset"`
			Free  decimal.Decimal `json:"free"`
		}
		if err := decode(&b); err != nil {
			reply(nil, err)
			return
		}
		reply(nil, s.SetBalance(b.Venue, b.Asset, b.Free))
	case "POST position":
		var p struct {
			Symbol string          `json:"symbol"`
			Qty    decimal.Decimal `json:"qty"`
			Entry  decimal.Decimal `json:"entry"`
		}
		if err := decode(&p); err != nil {
			reply(nil, err)
			return
		}
		reply(nil, s.SetPosition(p.Symbol, p.Qty, p.Entry))
	case "POST permissions":
		var p Permissions
		if err := decode(&p); err != nil {
			reply(nil, err)
			return
		}
		s.SetPermissions(p)
		reply(nil, nil)
	case "POST position_mode":
		var p struct {
			Dual bool `json:"dual"`
		}
		if err := decode(&p); err != nil {
			reply(nil, err)
			return
		}
		s.SetPositionMode(p.Dual)
		reply(nil, nil)
	case "POST fault":
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			reply(nil, fmt.Errorf("bad JSON body: %w", err))
			return
		}
		reply(nil, s.InjectFault(f))
	case "DELETE fault":
		s.ClearFaults()
		reply(nil, nil)
	case "POST ws":
		var a struct {
			Action string  `json:"action"`
			Groups []Group `json:"groups"`
		}
		if err := decode(&a); err != nil {
			reply(nil, err)
			return
		}
		switch a.Action {
		case "drop":
			s.DropWS(a.Groups...)
		case "silence", "unsilence":
			s.SilenceWS(a.Action == "silence", a.Groups...)
		case "refuse", "accept":
			s.RefuseWS(a.Action == "refuse", a.Groups...)
		default:
			reply(nil, fmt.Errorf("unknown ws action %q: use drop, silence, unsilence, refuse or accept", a.Action))
			return
		}
		reply(nil, nil)
	case "POST time":
		var t struct {
			Offset string `json:"offset"`
		}
		if err := decode(&t); err != nil {
			reply(nil, err)
			return
		}
		d, err := time.ParseDuration(t.Offset)
		if err != nil {
			reply(nil, err)
			return
		}
		s.SetTimeOffset(d)
		reply(nil, nil)
	case "POST interest":
		var h struct {
			Hours int `json:"hours"`
		}
		if err := decode(&h); err != nil {
			reply(nil, err)
			return
		}
		reply(s.ChargeInterest(h.Hours), nil)
	case "POST interest_rate":
		var b struct {
			Asset string          `json:"asset"`
			Rate  decimal.Decimal `json:"rate"`
		}
		if err := decode(&b); err != nil {
			reply(nil, err)
			return
		}
		reply(nil, s.SetInterestRate(b.Asset, b.Rate))
	case "POST borrow_limit":
		var b struct {
			Asset string          `json:"asset"`
			Limit decimal.Decimal `json:"limit"`
		}
		if err := decode(&b); err != nil {
			reply(nil, err)
			return
		}
		s.SetBorrowLimit(b.Asset, b.Limit)
		reply(nil, nil)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("no control endpoint %s %s", r.Method, r.URL.Path)})
	}
}

// AddFundingIncome appends a FUNDING_FEE income row at a given time (history to page through) and returns
// its tranId. It does not touch the wallet.
func (s *Server) AddFundingIncome(symbol string, amount decimal.Decimal, at time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	id := st.nextID()
	st.income = append(st.income, incomeRow{Symbol: upper(symbol), IncomeType: "FUNDING_FEE", Income: amount.StringFixed(8), Asset: "USDT",
		Info: "FUNDING_FEE", Time: at.UnixMilli(), TranID: id})
	sort.SliceStable(st.income, func(i, j int) bool { return st.income[i].Time < st.income[j].Time })
	return id
}

// ShiftTrades moves the times of the recorded trades of symbol on venue by d (negative: into the past), to
// exercise reads of older history.
func (s *Server) ShiftTrades(venue exchange.Venue, symbol string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.st.trades {
		if t.venue == venue && t.symbol == symbol {
			t.time += d.Milliseconds()
		}
	}
}
