package binance

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// A stream supervisor: go-binance dials a websocket and reads it on its own goroutine, but never
// reconnects and never notices silence. supervise keeps one stream alive until ctx ends: it dials (under
// the websocket-globals lock), watches for messages, closes the stream through its stopC when it has been
// silent too long or must restart, and redials with exponential backoff. The callbacks tell the owner when
// the stream is up (after a gap: resync over REST) and when it went down.

// wsConn is what a stream's message handlers get for one connection.
type wsConn struct {
	last    *atomic.Int64 // unix nanos of the last message
	stop    chan struct{} // closed when this connection is being torn down: never block past it
	restart chan struct{} // a handler asks for a reconnect (e.g. listenKeyExpired)
	first   chan struct{} // closed at the first message
	got     atomic.Bool
}

func newWSConn() *wsConn {
	w := &wsConn{last: new(atomic.Int64), stop: make(chan struct{}), restart: make(chan struct{}, 1), first: make(chan struct{})}
	w.last.Store(time.Now().UnixNano())
	return w
}

// touch records a message for the watchdog.
func (w *wsConn) touch() {
	w.last.Store(time.Now().UnixNano())
	if !w.got.Load() && w.got.CompareAndSwap(false, true) {
		close(w.first)
	}
}

// requestRestart asks the supervisor to reconnect.
func (w *wsConn) requestRestart() {
	select {
	case w.restart <- struct{}{}:
	default:
	}
}

type streamSpec struct {
	name    string
	silence time.Duration // 0: no watchdog
	// prepare runs before each dial, outside the globals lock (e.g. to obtain a listenKey).
	prepare func(ctx context.Context) error
	// start dials the stream (a go-binance Ws*Serve call); its handlers must call conn.touch per message.
	start func(conn *wsConn) (doneC, stopC chan struct{}, err error)
	// up is called once a connection is live: at its first message, or right after the dial with
	// upOnDial (quiet streams such as user data). gap is false only for the first connection when no
	// outage preceded it.
	up       func(ctx context.Context, gap bool)
	upOnDial bool
	// down is called once per outage: the stream dropped, went silent, or could not be dialled.
	down func(reason string)
	// every, when set, runs each interval while connected (listenKey keepalive); an error restarts.
	every    time.Duration
	periodic func(ctx context.Context) error
}

type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	// ±20% jitter so many clients do not reconnect in lockstep.
	j := time.Duration(float64(b.cur) * (0.8 + 0.4*rand.Float64()))
	return j
}

func (b *backoff) reset() { b.cur = 0 }

func (c *Client) supervise(ctx context.Context, s streamSpec) {
	bo := backoff{min: c.cfg.ReconnectMin, max: c.cfg.ReconnectMax}
	isUp, hadGap := true, false // the owner starts out treating the stream as up
	markDown := func(reason string) {
		if isUp {
			isUp, hadGap = false, true
			s.down(reason)
			c.streamTrouble(s.name, reason)
		}
	}
	for ctx.Err() == nil {
		if s.prepare != nil {
			if err := s.prepare(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				c.log.Warn().Err(err).Str("stream", s.name).Msg("binance stream: preparing failed; retrying")
				markDown("prepare failed: " + err.Error())
				if !sleepCtx(ctx, bo.next()) {
					return
				}
				continue
			}
		}
		conn := newWSConn()
		doneC, stopC, err := c.startWS(func() (chan struct{}, chan struct{}, error) { return s.start(conn) })
		if err != nil {
			c.log.Warn().Err(err).Str("stream", s.name).Msg("binance stream: connect failed; retrying")
			markDown("connect failed: " + err.Error())
			if !sleepCtx(ctx, bo.next()) {
				return
			}
			continue
		}
		c.log.Debug().Str("stream", s.name).Bool("gap", hadGap).Msg("binance stream connected")
		live := func() {
			isUp = true
			s.up(ctx, hadGap)
			hadGap = false
		}
		if s.upOnDial {
			live()
		}
		connected := time.Now()
		reason := c.watch(ctx, s, conn, doneC, stopC, live)
		if reason == "" {
			return
		}
		c.log.Warn().Str("stream", s.name).Str("reason", reason).Msg("binance stream lost; reconnecting")
		markDown(reason)
		if time.Since(connected) > 4*c.cfg.ReconnectMax {
			bo.reset()
		}
		if !sleepCtx(ctx, bo.next()) {
			return
		}
	}
}

// watch returns why the connection ended, or "" when ctx ended. The connection is closed either way.
func (c *Client) watch(ctx context.Context, s streamSpec, conn *wsConn, doneC, stopC chan struct{}, live func()) string {
	closeConn := func() {
		close(conn.stop)
		close(stopC)
		<-doneC
	}
	tickEvery := time.Hour
	if s.silence > 0 {
		tickEvery = max(s.silence/5, 5*time.Millisecond)
	}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	var periodic <-chan time.Time
	if s.every > 0 && s.periodic != nil {
		t := time.NewTicker(s.every)
		defer t.Stop()
		periodic = t.C
	}
	first := conn.first
	if s.upOnDial {
		first = nil
	}
	for {
		select {
		case <-first:
			first = nil
			live()
		case <-ctx.Done():
			closeConn()
			return ""
		case <-doneC:
			close(conn.stop)
			return "disconnected"
		case <-conn.restart:
			closeConn()
			return "restart requested"
		case <-periodic:
			if err := s.periodic(ctx); err != nil && ctx.Err() == nil {
				closeConn()
				return "keepalive failed: " + err.Error()
			}
		case <-tick.C:
			if s.silence > 0 && time.Since(time.Unix(0, conn.last.Load())) > s.silence {
				closeConn()
				return "silent for " + s.silence.String()
			}
		}
	}
}
