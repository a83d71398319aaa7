package replay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/replay"
)

const shipped = "../../testdata/binance"

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func shippedOptions() replay.Options {
	return replay.Options{SpotSpread: d("0.0001"), PerpSpread: d("0.0001"),
		SpotTicks: map[string]decimal.Decimal{"BTCUSDT": d("0.01")}, PerpTicks: map[string]decimal.Decimal{"BTCUSDT": d("0.1")}}
}

// t2024 is 2024-01-01 00:00 UTC plus an offset.
func t2024(off time.Duration) time.Time {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(off)
}

// collect reads a whole replay.
func collect(t testing.TB, dir string, opts replay.Options) []exchange.Event {
	t.Helper()
	f, err := replay.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	defer f.Close()
	return drain(t, f)
}

// drain reads an open replay to its end (its Gaps and Quotes then describe the whole of it).
func drain(t testing.TB, f *replay.Feed) []exchange.Event {
	t.Helper()
	var out []exchange.Event
	for {
		ev, err := f.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d events: %v", len(out), err)
		}
		out = append(out, ev)
	}
}

// readAll returns the error a replay ends with (nil at io.EOF) and the events before it.
func readAll(dir string, opts replay.Options) ([]exchange.Event, error) {
	f, err := replay.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []exchange.Event
	for {
		ev, err := f.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

// writeFiles creates files in a temporary directory: name → lines.
func writeFiles(t testing.TB, files map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, lines := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// describe prints an event compactly for failure messages.
func describe(ev exchange.Event) string {
	s := fmt.Sprintf("%s %s %s %s", ev.Time.Format("01-02 15:04:05.000"), ev.Kind, ev.Venue, ev.Symbol)
	switch ev.Kind {
	case exchange.EventQuote:
		s += fmt.Sprintf(" %s/%s", ev.Quote.Bid, ev.Quote.Ask)
	case exchange.EventMark:
		s += fmt.Sprintf(" mark %s index %s est %s", ev.Mark.Mark, ev.Mark.Index, ev.Mark.EstimatedRate)
	case exchange.EventFunding:
		s += fmt.Sprintf(" rate %s mark %s", ev.Funding.Rate, ev.Funding.MarkPrice)
	}
	return s
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }
