package binance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/adshao/go-binance/v2/futures"

	"github.com/carry-trading/carry/exchange"
)

// UserEventKind says which part of a UserEvent is set.
type UserEventKind uint8

// User event kinds.
const (
	UserNone UserEventKind = iota
	// UserOrder: an order changed. Order is its state after the change; Fill is set (HasFill) when the change
	// was an execution.
	UserOrder
	// UserAccount: balances and/or positions changed. Reason is Binance's (futures ACCOUNT_UPDATE "m":
	// ORDER, FUNDING_FEE, DEPOSIT, WITHDRAW, …; "MARGIN_CALL"; spot "ACCOUNT_POSITION"). A FUNDING_FEE update
	// carries no tranId: read FundingPayments to record the payment.
	UserAccount
	// UserResync: the venue's stream is (re)connected. Anything may have happened while it was not:
	// reconcile open orders, balances and positions over REST.
	UserResync
	// UserDown: the venue's stream is down; events may be missed until the next UserResync.
	UserDown
)

var userEventNames = [...]string{"none", "order", "account", "resync", "down"}

func (k UserEventKind) String() string {
	if int(k) < len(userEventNames) {
		return userEventNames[k]
	}
	return "unknown"
}

// UserEvent is one item of the account's user-data stream.
type UserEvent struct {
	Kind    UserEventKind
	Venue   exchange.Venue
	Time    time.Time
	Order   exchange.Order // UserOrder; Order.Fills is empty, the execution (if any) is Fill
	Fill    exchange.Fill  // UserOrder with HasFill
	HasFill bool
	// UserAccount: spot balances are free/locked; futures balances carry the wallet balance in Free.
	Balances  []exchange.Balance
	Positions []exchange.Position // UserAccount (futures)
	Reason    string              // UserAccount: why; UserDown: what happened
}

// UserData starts the account's user-data streams (spot through the WebSocket API signature
// subscription, futures through a listenKey kept alive every KeepAlive) and returns their events. The
// channel is closed when ctx ends and both streams have stopped. Each stream sends UserResync when it
// connects and after every reconnect, and UserDown when it is lost.
func (c *Client) UserData(ctx context.Context) (<-chan UserEvent, error) {
	if !c.cfg.HasKey() {
		return nil, fmt.Errorf("binance user data: %w", ErrNoCredentials)
	}
	u := &userStream{c: c, out: make(chan UserEvent, 256)}
	// Fail fast on a bad key: the first listenKey is made here, not in the retry loop.
	key, err := u.newListenKey(ctx)
	if err != nil {
		return nil, err
	}
	u.listenKey = key
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.supervise(ctx, u.spotSpec())
	}()
	go func() {
		defer wg.Done()
		c.supervise(ctx, u.futuresSpec())
		u.closeListenKey()
	}()
	go func() {
		wg.Wait()
		close(u.out)
	}()
	return u.out, nil
}

type userStream struct {
	c         *Client
	out       chan UserEvent
	listenKey string // used only on the futures supervisor goroutine
}

func (u *userStream) send(ctx context.Context, stop <-chan struct{}, ev UserEvent) {
	select {
	case u.out <- ev:
	case <-stop:
	case <-ctx.Done():
	}
}

func (u *userStream) spotSpec() streamSpec {
	s := streamSpec{name: "spot user data", silence: u.c.cfg.UserDataSilence, upOnDial: true}
	s.start = func(conn *wsConn) (chan struct{}, chan struct{}, error) {
		cfg := u.c.cfg
		offset := u.c.api.Load().spot.TimeOffset
		return binance.WsUserDataServeSignature(cfg.APIKey, cfg.APISecret, common.KeyTypeHmac, offset, func(e *binance.WsUserDataEvent) {
			conn.touch()
			if e != nil && e.Event == "" {
				// go-binance hands on an error answer to the subscription as an event without a type.
				u.c.log.Error().Msg("binance spot user data: the subscription was refused (check the API key); reconnecting")
				conn.requestRestart()
				return
			}
			if ev, ok := spotUserEvent(e); ok {
				u.send(context.Background(), conn.stop, ev)
			}
		}, func(err error) {
			u.c.log.Debug().Err(err).Msg("binance spot user data: websocket error")
		})
	}
	s.up = func(ctx context.Context, gap bool) {
		// go-binance swallows the subscription's answer, so the adapter cannot see the moment the
		// subscription is live: give it SubscribeGrace before telling the consumer to reconcile.
		sleepCtx(ctx, u.c.cfg.SubscribeGrace)
		u.send(ctx, nil, UserEvent{Kind: UserResync, Venue: exchange.Spot, Time: time.Now().UTC()})
	}
	s.down = func(reason string) {
		u.send(context.Background(), u.downStop(), UserEvent{Kind: UserDown, Venue: exchange.Spot, Time: time.Now().UTC(), Reason: reason})
	}
	return s
}

// downStop bounds a UserDown send: a consumer that stopped reading must not block a reconnect forever.
func (u *userStream) downStop() <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(u.c.cfg.HTTPTimeout, func() { close(ch) })
	return ch
}

func (u *userStream) futuresSpec() streamSpec {
	s := streamSpec{name: "futures user data", silence: u.c.cfg.UserDataSilence, every: u.c.cfg.KeepAlive, upOnDial: true}
	s.prepare = func(ctx context.Context) error {
		if u.listenKey != "" {
			return nil
		}
		key, err := u.newListenKey(ctx)
		if err == nil {
			u.listenKey = key
		}
		return err
	}
	s.start = func(conn *wsConn) (chan struct{}, chan struct{}, error) {
		return futures.WsUserDataServe(u.listenKey, func(e *futures.WsUserDataEvent) {
			conn.touch()
			if e == nil {
				return
			}
			if e.Event == futures.UserDataEventTypeListenKeyExpired {
				conn.requestRestart() // down() drops the key; the next connection asks for a new one
				return
			}
			for _, ev := range futuresUserEvents(e) {
				u.send(context.Background(), conn.stop, ev)
			}
		}, func(err error) {
			u.c.log.Debug().Err(err).Msg("binance futures user data: websocket error")
		})
	}
	s.periodic = func(ctx context.Context) error {
		err := u.c.do(ctx, "futures listenKey keepalive", true, func(ctx context.Context, a *apis) error {
			return a.fut.NewKeepaliveUserStreamService().ListenKey(u.listenKey).Do(ctx)
		})
		if err != nil {
			u.listenKey = ""
		}
		return err
	}
	s.up = func(ctx context.Context, gap bool) {
		u.send(ctx, nil, UserEvent{Kind: UserResync, Venue: exchange.Futures, Time: time.Now().UTC()})
	}
	s.down = func(reason string) {
		u.listenKey = "" // a new connection asks Binance for the key again (it returns the same one while valid)
		u.send(context.Background(), u.downStop(), UserEvent{Kind: UserDown, Venue: exchange.Futures, Time: time.Now().UTC(), Reason: reason})
	}
	return s
}

func (u *userStream) newListenKey(ctx context.Context) (string, error) {
	var key string
	err := u.c.do(ctx, "futures listenKey", true, func(ctx context.Context, a *apis) error {
		var err error
		key, err = a.fut.NewStartUserStreamService().Do(ctx)
		return err
	})
	if err == nil && key == "" {
		err = fmt.Errorf("futures listenKey: empty key in the answer")
	}
	return key, err
}

func (u *userStream) closeListenKey() {
	if u.listenKey == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), u.c.cfg.HTTPTimeout)
	defer cancel()
	_ = u.c.do(ctx, "close futures listenKey", true, func(ctx context.Context, a *apis) error {
		return a.fut.NewCloseUserStreamService().ListenKey(u.listenKey).Do(ctx)
	})
}

func spotUserEvent(e *binance.WsUserDataEvent) (UserEvent, bool) {
	if e == nil {
		return UserEvent{}, false
	}
	t := msTime(e.Time)
	switch e.Event {
	case binance.UserDataEventTypeExecutionReport:
		o := &e.OrderUpdate
		var p nums
		id := o.ClientOrderId
		if o.ExecutionType == "CANCELED" && o.OrigCustomOrderId != "" {
			id = o.OrigCustomOrderId // a cancel carries the cancel request's id in "c", ours in "C"
		}
		ev := UserEvent{Kind: UserOrder, Venue: exchange.Spot, Time: t, Order: exchange.Order{
			ClientID: id, VenueOrderID: formatID(o.Id), Venue: exchange.Spot, Symbol: o.Symbol, Side: exchange.Side(o.Side),
			Type: spotType(o.Type, string(o.TimeInForce)), Status: orderStatus(o.Status), Qty: p.dec("q", o.Volume), Price: p.dec("p", o.Price),
			ExecutedQty: p.dec("z", o.FilledVolume), CumQuote: p.dec("Z", o.FilledQuoteVolume), Time: msTime(o.TransactionTime),
		}}
		if o.ExecutionType == "TRADE" {
			ev.HasFill = true
			ev.Fill = exchange.Fill{Venue: exchange.Spot, Symbol: o.Symbol, TradeID: formatID(o.TradeId), ClientID: id, VenueOrderID: ev.Order.VenueOrderID,
				Side: ev.Order.Side, Qty: p.dec("l", o.LatestVolume), Price: p.dec("L", o.LatestPrice), Fee: p.dec("n", o.FeeCost), FeeAsset: o.FeeAsset,
				Maker: o.IsMaker, Time: msTime(o.TransactionTime)}
		}
		return ev, p.err == nil
	case binance.UserDataEventTypeOutboundAccountPosition:
		var p nums
		ev := UserEvent{Kind: UserAccount, Venue: exchange.Spot, Time: t, Reason: "ACCOUNT_POSITION"}
		for _, b := range e.AccountUpdate.WsAccountUpdates {
			ev.Balances = append(ev.Balances, exchange.Balance{Venue: exchange.Spot, Asset: b.Asset, Free: p.dec("f", b.Free), Locked: p.dec("l", b.Locked)})
		}
		return ev, p.err == nil
	}
	return UserEvent{}, false
}

func futuresUserEvents(e *futures.WsUserDataEvent) []UserEvent {
	t := msTime(e.Time)
	var p nums
	switch e.Event {
	case futures.UserDataEventTypeOrderTradeUpdate:
		o := &e.OrderTradeUpdate
		exec := p.dec("z", o.AccumulatedFilledQty)
		ev := UserEvent{Kind: UserOrder, Venue: exchange.Futures, Time: t, Order: exchange.Order{
			ClientID: o.ClientOrderID, VenueOrderID: formatID(o.ID), Venue: exchange.Futures, Symbol: o.Symbol, Side: exchange.Side(o.Side),
			Type: futuresType(o.Type, o.TimeInForce), Status: orderStatus(string(o.Status)), Qty: p.dec("q", o.OriginalQty), Price: p.dec("p", o.OriginalPrice),
			// Binance sends no cumulative quote on this stream: average price × executed quantity.
			ExecutedQty: exec, CumQuote: p.dec("ap", o.AveragePrice).Mul(exec), Time: msTime(o.TradeTime),
		}}
		if o.ExecutionType == futures.OrderExecutionTypeTrade {
			ev.HasFill = true
			ev.Fill = exchange.Fill{Venue: exchange.Futures, Symbol: o.Symbol, TradeID: formatID(o.TradeID), ClientID: o.ClientOrderID, VenueOrderID: ev.Order.VenueOrderID,
				Side: ev.Order.Side, Qty: p.dec("l", o.LastFilledQty), Price: p.dec("L", o.LastFilledPrice), Fee: p.dec("n", o.Commission), FeeAsset: o.CommissionAsset,
				RealizedPnL: p.dec("rp", o.RealizedPnL), Maker: o.IsMaker, Time: msTime(o.TradeTime)}
		}
		if p.err != nil {
			return nil
		}
		return []UserEvent{ev}
	case futures.UserDataEventTypeAccountUpdate:
		a := &e.AccountUpdate
		ev := UserEvent{Kind: UserAccount, Venue: exchange.Futures, Time: t, Reason: string(a.Reason)}
		for _, b := range a.Balances {
			ev.Balances = append(ev.Balances, exchange.Balance{Venue: exchange.Futures, Asset: b.Asset, Free: p.dec("wb", b.Balance)})
		}
		ev.Positions = wsPositions(&p, a.Positions, t)
		if p.err != nil {
			return nil
		}
		return []UserEvent{ev}
	case futures.UserDataEventTypeMarginCall:
		ev := UserEvent{Kind: UserAccount, Venue: exchange.Futures, Time: t, Reason: "MARGIN_CALL"}
		ev.Positions = wsPositions(&p, e.MarginCallPositions, t)
		if p.err != nil {
			return nil
		}
		return []UserEvent{ev}
	}
	return nil
}

func wsPositions(p *nums, ps []futures.WsPosition, t time.Time) []exchange.Position {
	out := make([]exchange.Position, 0, len(ps))
	for _, w := range ps {
		if w.Side != "" && w.Side != futures.PositionSideTypeBoth {
			continue // hedge-mode legs: carry runs one-way mode
		}
		out = append(out, exchange.Position{Symbol: w.Symbol, Qty: p.dec("pa", w.Amount), EntryPrice: p.dec("ep", w.EntryPrice),
			MarkPrice: p.dec("mp", w.MarkPrice), UnrealizedPnL: p.dec("up", w.UnrealizedPnL), Isolated: w.MarginType == "isolated" || w.MarginType == futures.MarginTypeIsolated,
			IsolatedWallet: p.dec("iw", w.IsolatedWallet), Time: t})
	}
	return out
}
