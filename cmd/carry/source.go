package main

import (
	"context"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy"
)

// liveSource turns a live feed into the engine's source, adding clock ticks (timers, periodic work) and a
// tick whenever an operator command is announced.
type liveSource struct {
	events chan feedResult
	ticker *time.Ticker
	notify <-chan struct{}
}

type feedResult struct {
	ev  exchange.Event
	err error
}

func newLiveSource(ctx context.Context, feed strategy.Source, every time.Duration, notify <-chan struct{}) *liveSource {
	s := &liveSource{events: make(chan feedResult, 1024), ticker: time.NewTicker(every), notify: notify}
	go func() {
		for {
			ev, err := feed.Next(ctx)
			select {
			case s.events <- feedResult{ev, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *liveSource) Next(ctx context.Context) (exchange.Event, error) {
	select {
	case r := <-s.events:
		return r.ev, r.err
	case t := <-s.ticker.C:
		return exchange.Event{Kind: exchange.EventTick, Time: t.UTC()}, nil
	case <-s.notify:
		return exchange.Event{Kind: exchange.EventTick, Time: time.Now().UTC()}, nil
	case <-ctx.Done():
		return exchange.Event{}, ctx.Err()
	}
}

func (s *liveSource) Close() { s.ticker.Stop() }
