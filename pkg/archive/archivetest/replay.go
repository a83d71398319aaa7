package archivetest

import (
	"context"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/replay"
)

// Replayed is what a replay of a laid-out directory read.
type Replayed struct {
	Hours       map[exchange.Venue]int // per venue, the hours with a quote (the bars read)
	Funding     int                    // funding events
	First, Last time.Time              // the first and last events' times
}

// Replay replays dir with opts to the end, as a backtest would read what was fetched, and counts what it
// read. A replay error fails the test.
func Replay(t testing.TB, dir string, opts replay.Options) Replayed {
	t.Helper()
	feed, err := replay.Open(dir, opts)
	if err != nil {
		t.Fatalf("replay.Open: %v", err)
	}
	defer feed.Close()
	r := Replayed{Hours: map[exchange.Venue]int{}}
	seen := map[exchange.Venue]map[time.Time]bool{}
	for {
		ev, err := feed.Next(context.Background())
		if replay.IsEOF(err) {
			break
		}
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if r.First.IsZero() {
			r.First = ev.Time
		}
		r.Last = ev.Time
		switch ev.Kind {
		case exchange.EventQuote:
			if seen[ev.Venue] == nil {
				seen[ev.Venue] = map[time.Time]bool{}
			}
			if h := ev.Time.Truncate(time.Hour); !seen[ev.Venue][h] {
				seen[ev.Venue][h] = true
				r.Hours[ev.Venue]++
			}
		case exchange.EventFunding:
			r.Funding++
		}
	}
	return r
}
