// Package clock is the time source: the wall clock in paper and live mode, a simulated clock driven by
// replayed events in backtests. Code that needs "now" takes a Clock instead of calling time.Now.
package clock

import (
	"sync/atomic"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Wall is the real clock.
type Wall struct{}

// Now is time.Now in UTC.
func (Wall) Now() time.Time { return time.Now().UTC() }

// Sim is a simulated clock, moved forward by the event loop. Safe for concurrent readers.
type Sim struct {
	nanos atomic.Int64
}

// NewSim starts a simulated clock at t.
func NewSim(t time.Time) *Sim {
	s := &Sim{}
	s.nanos.Store(t.UnixNano())
	return s
}

// Now returns the simulated time (UTC).
func (s *Sim) Now() time.Time { return time.Unix(0, s.nanos.Load()).UTC() }

// Set moves the clock to t; it never moves backwards.
func (s *Sim) Set(t time.Time) {
	n := t.UnixNano()
	for {
		cur := s.nanos.Load()
		if n <= cur || s.nanos.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Advance moves the clock forward by d.
func (s *Sim) Advance(d time.Duration) { s.nanos.Add(int64(d)) }
