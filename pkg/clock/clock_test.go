package clock

import (
	"testing"
	"time"
)

func TestSimNeverGoesBack(t *testing.T) {
	t0 := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSim(t0)
	s.Set(t0.Add(time.Hour))
	s.Set(t0) // ignored
	if got := s.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Now = %s", got)
	}
	s.Advance(time.Minute)
	if got := s.Now(); !got.Equal(t0.Add(61 * time.Minute)) {
		t.Fatalf("after Advance Now = %s", got)
	}
}
