package fakebinance

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// request is one REST call's parameters (query and form merged).
type request struct {
	s *Server
	r *http.Request
	p url.Values
}

func (q *request) str(k string) string { return q.p.Get(k) }

func (q *request) dec(k string) (decimal.Decimal, error) {
	v := q.p.Get(k)
	if v == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Zero, errBadRequest(-1100, "Illegal characters found in parameter '%s'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.", k)
	}
	return d, nil
}

func (q *request) int(k string, def int64) (int64, error) {
	v := q.p.Get(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errBadRequest(-1100, "Illegal characters found in parameter '%s'.", k)
	}
	return n, nil
}

// timeParams reads startTime and endTime (-1 when absent).
func timeParams(q *request) (start, end int64, err error) {
	if start, err = q.int("startTime", -1); err != nil {
		return
	}
	end, err = q.int("endTime", -1)
	return
}

// limitParams reads startTime, endTime and limit (default 100, 1 to 1000).
func limitParams(q *request) (start, end, limit int64, err error) {
	if start, end, err = timeParams(q); err != nil {
		return
	}
	if limit, err = q.int("limit", 100); err != nil {
		return
	}
	return start, end, min(max(limit, 1), 1000), nil
}

func (q *request) required(keys ...string) error {
	for _, k := range keys {
		if q.p.Get(k) == "" {
			return errBadRequest(-1102, "Mandatory parameter '%s' was not sent, was empty/null, or malformed.", k)
		}
	}
	return nil
}

// locked runs fn on the state under the lock, then pushes the user-data messages it queued.
func (s *Server) locked(fn func(st *state) (any, error)) (any, error) {
	s.mu.Lock()
	res, err := fn(s.st)
	out := s.st.takeOutbox()
	s.mu.Unlock()
	s.hub.publishUser(out)
	return res, err
}

func getTime(q *request) (any, error) {
	return map[string]int64{"serverTime": q.s.now().UnixMilli()}, nil
}

// symbolsParam reads symbol= or symbols=["A","B"].
func symbolsParam(q *request) ([]string, error) {
	if s := q.str("symbol"); s != "" {
		return []string{upper(s)}, nil
	}
	if s := q.str("symbols"); s != "" {
		var list []string
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, errBadRequest(-1100, "Illegal characters found in parameter 'symbols'.")
		}
		for i := range list {
			list[i] = upper(list[i])
		}
		return list, nil
	}
	return nil, nil
}

func spotExchangeInfo(q *request) (any, error) {
	want, err := symbolsParam(q)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		info := st.spotInfo
		info.ServerTime = st.nowMS()
		if want != nil {
			info.Symbols = nil
			for _, w := range want {
				si, ok := st.spotSyms[w]
				if !ok {
					return nil, errBadRequest(-1121, "Invalid symbol.")
				}
				info.Symbols = append(info.Symbols, si.raw)
			}
		}
		b, err := json.Marshal(info)
		return json.RawMessage(b), err
	})
}

func futExchangeInfo(q *request) (any, error) {
	return json.RawMessage(q.s.st.futRaw), nil // immutable after start
}

func fundingInfo(q *request) (any, error) {
	return json.RawMessage(q.s.st.fundRaw), nil
}

type spotTicker struct {
	Symbol   string `json:"symbol"`
	BidPrice string `json:"bidPrice"`
	BidQty   string `json:"bidQty"`
	AskPrice string `json:"askPrice"`
	AskQty   string `json:"askQty"`
}

type futTicker struct {
	Symbol       string `json:"symbol"`
	BidPrice     string `json:"bidPrice"`
	BidQty       string `json:"bidQty"`
	AskPrice     string `json:"askPrice"`
	AskQty       string `json:"askQty"`
	Time         int64  `json:"time"`
	LastUpdateID int64  `json:"lastUpdateId"`
}

func spotBookTicker(q *request) (any, error) {
	want, err := symbolsParam(q)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		syms := want
		if syms == nil {
			for s := range st.spotSyms {
				syms = append(syms, s)
			}
			sort.Strings(syms)
		}
		out := make([]spotTicker, 0, len(syms))
		for _, s := range syms {
			if st.spotSyms[s] == nil {
				return nil, errBadRequest(-1121, "Invalid symbol.")
			}
			b := st.bookOf(exchange.Spot, s)
			out = append(out, spotTicker{Symbol: s, BidPrice: b.bid.StringFixed(8), BidQty: b.bidQty.StringFixed(8), AskPrice: b.ask.StringFixed(8), AskQty: b.askQty.StringFixed(8)})
		}
		if q.str("symbol") != "" {
			return out[0], nil
		}
		return out, nil
	})
}

func futBookTicker(q *request) (any, error) {
	sym := upper(q.str("symbol"))
	return q.s.locked(func(st *state) (any, error) {
		syms := []string{sym}
		if sym == "" {
			syms = syms[:0]
			for s := range st.futSyms {
				syms = append(syms, s)
			}
			sort.Strings(syms)
		}
		out := make([]futTicker, 0, len(syms))
		for _, s := range syms {
			if st.futSyms[s] == nil {
				return nil, errBadRequest(-1121, "Invalid symbol.")
			}
			b := st.bookOf(exchange.Futures, s)
			out = append(out, futTicker{Symbol: s, BidPrice: b.bid.String(), BidQty: b.bidQty.String(), AskPrice: b.ask.String(), AskQty: b.askQty.String(),
				Time: st.nowMS(), LastUpdateID: b.updateID})
		}
		if sym != "" {
			return out[0], nil
		}
		return out, nil
	})
}

type premium struct {
	Symbol          string `json:"symbol"`
	MarkPrice       string `json:"markPrice"`
	IndexPrice      string `json:"indexPrice"`
	EstimatedSettle string `json:"estimatedSettlePrice"`
	LastFundingRate string `json:"lastFundingRate"`
	InterestRate    string `json:"interestRate"`
	NextFundingTime int64  `json:"nextFundingTime"`
	Time            int64  `json:"time"`
}

func (st *state) premiumOf(sym string, m *mark) premium {
	return premium{Symbol: sym, MarkPrice: m.mark.StringFixed(8), IndexPrice: m.index.StringFixed(8), EstimatedSettle: m.index.StringFixed(8),
		LastFundingRate: m.rate.StringFixed(8), InterestRate: m.interest.StringFixed(8), NextFundingTime: m.next.UnixMilli(), Time: st.nowMS()}
}

func premiumIndex(q *request) (any, error) {
	sym := upper(q.str("symbol"))
	return q.s.locked(func(st *state) (any, error) {
		if sym != "" {
			m, ok := st.marks[sym]
			if !ok {
				return nil, errBadRequest(-1121, "Invalid symbol.")
			}
			return st.premiumOf(sym, m), nil
		}
		syms := make([]string, 0, len(st.marks))
		for s := range st.marks {
			syms = append(syms, s)
		}
		sort.Strings(syms)
		out := make([]premium, 0, len(syms))
		for _, s := range syms {
			out = append(out, st.premiumOf(s, st.marks[s]))
		}
		return out, nil
	})
}

func fundingRate(q *request) (any, error) {
	sym := upper(q.str("symbol"))
	start, end, limit, err := limitParams(q)
	if err != nil {
		return nil, err
	}
	return q.s.locked(func(st *state) (any, error) {
		var rows []fundingRow
		for s, rs := range st.funding {
			if sym == "" || s == sym {
				rows = append(rows, rs...)
			}
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].FundingTime < rows[j].FundingTime })
		out := make([]fundingRow, 0)
		for _, r := range rows {
			if (start < 0 || r.FundingTime >= start) && (end < 0 || r.FundingTime <= end) {
				out = append(out, r)
			}
		}
		if int64(len(out)) > limit {
			if start < 0 {
				out = out[int64(len(out))-limit:]
			} else {
				out = out[:limit]
			}
		}
		return out, nil
	})
}

// AddFundingRates appends settled rates to a symbol's /fapi/v1/fundingRate history (e.g. to exercise
// paging). rows: fundingTime (ms) → rate.
func (s *Server) AddFundingRates(symbol string, times []int64, rates []decimal.Decimal, markPx decimal.Decimal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range times {
		s.st.funding[symbol] = append(s.st.funding[symbol], fundingRow{Symbol: symbol, FundingTime: t, FundingRate: rates[i].String(), MarkPrice: markPx.StringFixed(8)})
	}
	sort.SliceStable(s.st.funding[symbol], func(i, j int) bool { return s.st.funding[symbol][i].FundingTime < s.st.funding[symbol][j].FundingTime })
}

func numberOf(d decimal.Decimal) json.Number { return json.Number(d.String()) }

func boolParam(v string) bool { return strings.EqualFold(v, "true") }
