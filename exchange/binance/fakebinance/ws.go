package fakebinance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/carry-trading/carry/exchange"
)

// Group is a family of websocket connections that faults act on.
type Group string

// Websocket groups, by the route a client connects to.
const (
	WSSpot          Group = "spot"           // /ws/<stream>, /stream?streams=
	WSSpotUser      Group = "spot-user"      // /ws-api/v3 (userDataStream.subscribe.signature)
	WSFuturesPublic Group = "futures-public" // /futures/public/ws|stream (bookTicker, depth)
	WSFuturesMarket Group = "futures-market" // /futures/market/ws|stream (markPrice, …)
	WSFuturesUser   Group = "futures-user"   // /futures/private/ws?listenKey=
)

// Groups lists every websocket group.
func Groups() []Group {
	return []Group{WSSpot, WSSpotUser, WSFuturesPublic, WSFuturesMarket, WSFuturesUser}
}

type hub struct {
	s  *Server
	up websocket.Upgrader
	wg sync.WaitGroup

	mu       sync.Mutex
	conns    map[*wsConn]struct{}
	silent   map[Group]bool
	refuse   map[Group]bool
	accepted map[Group]int
	closed   bool
}

type sub struct {
	name, symbol, kind string // name as requested (echoed in combined streams); kind "bookTicker", "markPrice"
}

type wsConn struct {
	group      Group
	ws         *websocket.Conn
	subs       []sub
	combined   bool
	listenKey  string
	subscribed atomic.Bool
	send       chan []byte
	done       chan struct{}
	once       sync.Once
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

func newHub(s *Server) *hub {
	return &hub{s: s, conns: map[*wsConn]struct{}{}, silent: map[Group]bool{}, refuse: map[Group]bool{}, accepted: map[Group]int{},
		up: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}}
}

// route maps a websocket request to its group and subscriptions.
func (h *hub) route(r *http.Request) (Group, []sub, bool, string, error) {
	p := r.URL.Path
	streams := func(list string) []sub {
		var out []sub
		for _, n := range strings.Split(list, "/") {
			if n == "" {
				continue
			}
			sym, kind, _ := strings.Cut(n, "@")
			kind, _, _ = strings.Cut(kind, "@") // markPrice@1s → markPrice
			out = append(out, sub{name: n, symbol: strings.ToUpper(sym), kind: kind})
		}
		return out
	}
	switch {
	case p == "/ws-api/v3":
		return WSSpotUser, nil, false, "", nil
	case strings.HasPrefix(p, "/ws/"):
		return WSSpot, streams(strings.TrimPrefix(p, "/ws/")), false, "", nil
	case p == "/stream":
		return WSSpot, streams(r.URL.Query().Get("streams")), true, "", nil
	case p == "/futures/private/ws":
		return WSFuturesUser, nil, false, r.URL.Query().Get("listenKey"), nil
	}
	for _, g := range []struct {
		prefix string
		group  Group
	}{{"/futures/public", WSFuturesPublic}, {"/futures/market", WSFuturesMarket}, {"/futures", WSFuturesMarket}} {
		rest, ok := strings.CutPrefix(p, g.prefix)
		if !ok {
			continue
		}
		var subs []sub
		combined := false
		switch {
		case strings.HasPrefix(rest, "/ws/"):
			name := strings.TrimPrefix(rest, "/ws/")
			if g.prefix == "/futures" && h.validKey(name) { // the legacy /ws/<listenKey> route
				return WSFuturesUser, nil, false, name, nil
			}
			subs = streams(name)
		case rest == "/stream":
			subs, combined = streams(r.URL.Query().Get("streams")), true
		default:
			return "", nil, false, "", fmt.Errorf("no websocket route %s", p)
		}
		for _, s := range subs {
			public := s.kind == "bookTicker" || strings.HasPrefix(s.kind, "depth")
			if (g.group == WSFuturesPublic && !public) || (g.group == WSFuturesMarket && g.prefix != "/futures" && public) {
				return "", nil, false, "", fmt.Errorf("stream %s is not served on %s (Binance routes bookTicker/depth to /public, the rest to /market)", s.name, g.prefix)
			}
		}
		group := g.group
		if g.prefix == "/futures" && len(subs) > 0 && subs[0].kind == "bookTicker" {
			group = WSFuturesPublic
		}
		return group, subs, combined, "", nil
	}
	return "", nil, false, "", fmt.Errorf("no websocket route %s", p)
}

func (h *hub) validKey(k string) bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.st.listen[k]
}

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	group, subs, combined, key, err := h.route(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if group == WSFuturesUser && !h.validKey(key) {
		http.Error(w, `{"code":-1125,"msg":"This listenKey does not exist."}`, http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	refused, closed := h.refuse[group], h.closed
	h.mu.Unlock()
	if refused || closed {
		http.Error(w, "websocket refused (fault injected)", http.StatusServiceUnavailable)
		return
	}
	// Register under the hub lock taken before the handshake: once the client sees the connection open,
	// every later publish includes it (a user event is never lost between "connected" and "registered").
	h.mu.Lock()
	ws, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		h.mu.Unlock()
		return
	}
	c := &wsConn{group: group, ws: ws, subs: subs, combined: combined, listenKey: key, send: make(chan []byte, 1024), done: make(chan struct{})}
	if h.closed {
		h.mu.Unlock()
		_ = ws.Close()
		return
	}
	h.conns[c] = struct{}{}
	h.accepted[group]++
	h.wg.Add(2)
	h.mu.Unlock()
	go h.writer(c)
	go h.reader(c)
	// A new market subscriber gets the current state at once, as Binance's streams start promptly.
	h.s.mu.Lock()
	var msgs [][]byte
	for _, s := range c.subs {
		if m := h.marketMsg(c, s); m != nil {
			msgs = append(msgs, m)
		}
	}
	h.s.mu.Unlock()
	for _, m := range msgs {
		h.enqueue(c, m)
	}
}

func (h *hub) writer(c *wsConn) {
	defer h.wg.Done()
	defer h.remove(c)
	for {
		select {
		case <-c.done:
			return
		case m := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
				c.close()
				return
			}
		}
	}
}

func (h *hub) reader(c *wsConn) {
	defer h.wg.Done()
	defer c.close()
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if c.group == WSSpotUser {
			if resp := h.wsAPI(c, msg); resp != nil {
				h.enqueueAlways(c, resp)
			}
		}
	}
}

func (h *hub) remove(c *wsConn) {
	c.close()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// enqueue sends unless the group is silenced (connection open, nothing delivered) or the client is too
// slow (the message is dropped, as a real stream would disconnect it).
func (h *hub) enqueue(c *wsConn, m []byte) {
	h.mu.Lock()
	silent := h.silent[c.group]
	h.mu.Unlock()
	if silent {
		return
	}
	h.enqueueAlways(c, m)
}

func (h *hub) enqueueAlways(c *wsConn, m []byte) {
	select {
	case c.send <- m:
	case <-c.done:
	default:
	}
}

func (h *hub) list(groups ...Group) []*wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		for _, g := range groups {
			if c.group == g {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// marketMsg builds the current message for a subscription. Caller holds s.mu.
func (h *hub) marketMsg(c *wsConn, s sub) []byte {
	st := h.s.st
	now := st.nowMS()
	var data any
	switch {
	case c.group == WSSpot && s.kind == "bookTicker":
		if st.spotSyms[s.symbol] == nil {
			return nil
		}
		b := st.bookOf(exchange.Spot, s.symbol)
		data = map[string]any{"u": b.updateID, "s": s.symbol, "b": b.bid.StringFixed(8), "B": b.bidQty.StringFixed(8), "a": b.ask.StringFixed(8), "A": b.askQty.StringFixed(8)}
	case (c.group == WSFuturesPublic || c.group == WSFuturesMarket) && s.kind == "bookTicker":
		if st.futSyms[s.symbol] == nil {
			return nil
		}
		b := st.bookOf(exchange.Futures, s.symbol)
		data = map[string]any{"e": "bookTicker", "u": b.updateID, "E": now, "T": now, "s": s.symbol, "b": b.bid.String(), "B": b.bidQty.String(), "a": b.ask.String(), "A": b.askQty.String()}
	case c.group == WSFuturesMarket && s.kind == "markPrice":
		m, ok := st.marks[s.symbol]
		if !ok {
			return nil
		}
		data = map[string]any{"e": "markPriceUpdate", "E": now, "s": s.symbol, "p": m.mark.StringFixed(8), "i": m.index.StringFixed(8),
			"P": m.index.StringFixed(8), "r": m.rate.StringFixed(8), "T": m.next.UnixMilli()}
	default:
		return nil
	}
	if c.combined {
		data = map[string]any{"stream": s.name, "data": data}
	}
	b, _ := json.Marshal(data)
	return b
}

// publish pushes the current state of (venue, symbol) streams of a kind to their subscribers.
func (h *hub) publish(kind string, venue exchange.Venue, symbol string) {
	groups := []Group{WSSpot}
	if venue == exchange.Futures {
		groups = []Group{WSFuturesPublic, WSFuturesMarket}
	}
	conns := h.list(groups...)
	type out struct {
		c *wsConn
		m []byte
	}
	var msgs []out
	h.s.mu.Lock()
	for _, c := range conns {
		for _, s := range c.subs {
			if s.kind == kind && s.symbol == symbol {
				if m := h.marketMsg(c, s); m != nil {
					msgs = append(msgs, out{c, m})
				}
			}
		}
	}
	h.s.mu.Unlock()
	for _, o := range msgs {
		h.enqueue(o.c, o.m)
	}
}

// ticker pushes every market subscription each interval.
func (h *hub) ticker(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		conns := h.list(WSSpot, WSFuturesPublic, WSFuturesMarket)
		msgs := make([][][]byte, len(conns))
		h.s.mu.Lock()
		for i, c := range conns {
			for _, s := range c.subs {
				if m := h.marketMsg(c, s); m != nil {
					msgs[i] = append(msgs[i], m)
				}
			}
		}
		h.s.mu.Unlock()
		for i, c := range conns {
			for _, m := range msgs[i] {
				h.enqueue(c, m)
			}
		}
	}
}

// publishUser delivers user-data messages: spot to WebSocket API subscribers, futures to listenKey streams.
func (h *hub) publishUser(msgs []outMsg) {
	if len(msgs) == 0 {
		return
	}
	spot, fut := h.list(WSSpotUser), h.list(WSFuturesUser)
	for _, m := range msgs {
		if m.venue == exchange.Spot {
			wrapped := []byte(`{"subscriptionId":0,"event":` + string(m.payload) + `}`)
			for _, c := range spot {
				if c.subscribed.Load() {
					h.enqueue(c, wrapped)
				}
			}
			continue
		}
		for _, c := range fut {
			h.enqueue(c, m.payload)
		}
	}
}

func (h *hub) dropListenKey(k string) {
	for _, c := range h.list(WSFuturesUser) {
		if c.listenKey == k {
			c.close()
		}
	}
}

// wsAPI answers a spot WebSocket API request (only the user-data subscription methods).
func (h *hub) wsAPI(c *wsConn, msg []byte) []byte {
	var req struct {
		ID     any            `json:"id"`
		Method string         `json:"method"`
		Params map[string]any `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	answer := func(status int, result any, code int, text string) []byte {
		res := map[string]any{"id": req.ID, "status": status}
		if status == 200 {
			res["result"] = result
		} else {
			res["error"] = map[string]any{"code": code, "msg": text}
		}
		b, _ := json.Marshal(res)
		return b
	}
	if err := dec.Decode(&req); err != nil {
		return answer(400, nil, -1100, "malformed request")
	}
	switch req.Method {
	case "userDataStream.subscribe.signature":
		param := func(k string) string {
			if v, ok := req.Params[k]; ok && v != nil {
				return fmt.Sprint(v) // strings as they are, numbers as json.Number literals
			}
			return ""
		}
		vals := url.Values{}
		for k := range req.Params {
			if k != "signature" {
				vals.Set(k, param(k))
			}
		}
		if param("apiKey") != h.s.opts.APIKey {
			return answer(401, nil, -2015, "Invalid API-key, IP, or permissions for action.")
		}
		if !h.s.validSignature(vals.Encode(), param("signature")) {
			return answer(400, nil, -1022, "Signature for this request is not valid.")
		}
		if err := h.s.checkTimestamp(param("timestamp"), param("recvWindow")); err != nil {
			return answer(400, nil, -1021, "Timestamp for this request is outside of the recvWindow.")
		}
		c.subscribed.Store(true)
		return answer(200, map[string]int{"subscriptionId": 0}, 0, "")
	case "userDataStream.unsubscribe":
		c.subscribed.Store(false)
		return answer(200, map[string]any{}, 0, "")
	case "ping":
		return answer(200, map[string]any{}, 0, "")
	}
	return answer(400, nil, -1100, "fakebinance: unsupported method "+req.Method)
}

// DropWS closes every connection of the groups (all groups when none is given): clients see a dropped
// stream.
func (s *Server) DropWS(groups ...Group) {
	if len(groups) == 0 {
		groups = Groups()
	}
	for _, c := range s.hub.list(groups...) {
		c.close()
	}
}

// SilenceWS keeps the groups' connections open but stops delivering anything on them (on) or resumes
// (off).
func (s *Server) SilenceWS(on bool, groups ...Group) {
	if len(groups) == 0 {
		groups = Groups()
	}
	s.hub.mu.Lock()
	for _, g := range groups {
		s.hub.silent[g] = on
	}
	s.hub.mu.Unlock()
}

// RefuseWS makes new connections to the groups fail (503) while on.
func (s *Server) RefuseWS(on bool, groups ...Group) {
	if len(groups) == 0 {
		groups = Groups()
	}
	s.hub.mu.Lock()
	for _, g := range groups {
		s.hub.refuse[g] = on
	}
	s.hub.mu.Unlock()
}

// WSConnections counts the open websocket connections of a group.
func (s *Server) WSConnections(g Group) int { return len(s.hub.list(g)) }

// WSAccepted counts the websocket connections a group has accepted since the start.
func (s *Server) WSAccepted(g Group) int {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.hub.accepted[g]
}

func (h *hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

func (h *hub) wait() { h.wg.Wait() }
