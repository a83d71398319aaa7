package replay_test

import (
	"context"
	"io"
	"testing"

	"github.com/carry-trading/carry/pkg/replay"
)

// BenchmarkReplay replays the shipped BTCUSDT data (spot and perp 1h klines, funding) with 1 bp spreads and
// Binance's ticks, reporting events per second.
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		f, err := replay.Open(shipped, shippedOptions())
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := f.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
		f.Close()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
