package paper_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
)

func TestFaultHooks(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	quote(v, exchange.Spot, "BTCUSDT", "60000", "60000.01")
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000.1")

	t.Run("reject", func(t *testing.T) {
		v.Faults().RejectNext(exchange.Futures, -2019, "Margin is insufficient.")
		_, err := v.PlaceOrder(ctx, market("rej", exchange.Futures, "BTCUSDT", exchange.Sell, "0.01"))
		var re *exchange.RejectError
		if !errors.As(err, &re) || re.Code != -2019 || re.Kind != exchange.RejectInsufficient {
			t.Fatalf("got %v", err)
		}
		if _, err := v.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "rej"); !errors.Is(err, exchange.ErrNotFound) {
			t.Fatalf("a rejected order exists: %v", err)
		}
		// One-shot: the same order goes through now.
		if o := place(t, v, market("rej", exchange.Futures, "BTCUSDT", exchange.Sell, "0.01")); o.Status != exchange.StatusFilled {
			t.Fatalf("after the reject: %+v", o)
		}
	})

	t.Run("partial", func(t *testing.T) {
		v.Faults().PartialNext(exchange.Spot, 0.5)
		o := place(t, v, market("part", exchange.Spot, "BTCUSDT", exchange.Buy, "0.10011"))
		if o.Status != exchange.StatusExpired || !o.ExecutedQty.Equal(d("0.05005")) {
			t.Fatalf("partial fill: %+v", o)
		}
		eq(t, "BTC", balance(t, v, exchange.Spot, "BTC").Free, d("0.05005").Mul(d("0.999")))
		q, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "part")
		if err != nil || !q.ExecutedQty.Equal(d("0.05005")) || q.Status != exchange.StatusExpired {
			t.Fatalf("query %+v %v", q, err)
		}
	})

	t.Run("timeout but executed", func(t *testing.T) {
		v.Faults().TimeoutNext(exchange.Futures)
		_, err := v.PlaceOrder(ctx, market("tmo", exchange.Futures, "BTCUSDT", exchange.Sell, "0.01"))
		if err == nil || exchange.IsRejected(err) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, paper.ErrTimeout) {
			t.Fatalf("want an unknown-outcome timeout, got %v", err)
		}
		q, err := v.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "tmo")
		if err != nil || q.Status != exchange.StatusFilled || len(q.Fills) != 1 {
			t.Fatalf("the timed-out order must have executed: %+v %v", q, err)
		}
		ps, _ := v.Positions(ctx)
		eq(t, "short includes the timed-out order", ps[0].Qty, d("-0.02"))
	})

	t.Run("lost", func(t *testing.T) {
		before := balance(t, v, exchange.Spot, "USDT")
		v.Faults().LoseNext(exchange.Spot)
		_, err := v.PlaceOrder(ctx, market("lost", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01"))
		if err == nil || exchange.IsRejected(err) || !errors.Is(err, paper.ErrLost) {
			t.Fatalf("want an unknown-outcome loss, got %v", err)
		}
		if _, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "lost"); !errors.Is(err, exchange.ErrNotFound) {
			t.Fatalf("the lost order exists: %v", err)
		}
		eq(t, "USDT unchanged", balance(t, v, exchange.Spot, "USDT").Free, before.Free)
	})

	t.Run("delay", func(t *testing.T) {
		v.Faults().DelayNext(exchange.Spot, 30*time.Millisecond)
		start := time.Now()
		place(t, v, market("slow", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01"))
		if el := time.Since(start); el < 30*time.Millisecond {
			t.Fatalf("delayed order returned after %s", el)
		}
		// A context that ends during the delay abandons the order.
		v.Faults().DelayNext(exchange.Spot, time.Second)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		_, err := v.PlaceOrder(cctx, market("slow2", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01"))
		if !errors.Is(err, context.DeadlineExceeded) || exchange.IsRejected(err) {
			t.Fatalf("got %v", err)
		}
		if _, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "slow2"); !errors.Is(err, exchange.ErrNotFound) {
			t.Fatalf("abandoned order exists: %v", err)
		}
	})

	t.Run("hooks are per venue and queue", func(t *testing.T) {
		v.Faults().RejectNext(exchange.Spot, -1013, "Filter failure: LOT_SIZE")
		v.Faults().RejectNext(exchange.Spot, -2010, "Account has insufficient balance")
		place(t, v, market("fut-ok", exchange.Futures, "BTCUSDT", exchange.Buy, "0.01"))
		var re *exchange.RejectError
		if _, err := v.PlaceOrder(ctx, market("q1", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01")); !errors.As(err, &re) || re.Kind != exchange.RejectFilter {
			t.Fatalf("first: %v", err)
		}
		if _, err := v.PlaceOrder(ctx, market("q2", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01")); !errors.As(err, &re) || re.Kind != exchange.RejectInsufficient {
			t.Fatalf("second: %v", err)
		}
		place(t, v, market("q3", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01"))
	})
}
