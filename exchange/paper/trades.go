package paper

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/carry-trading/carry/exchange"
)

// Trades returns every fill of symbol on venue with time ≥ since, oldest first: carry's own orders and the
// venue's (a liquidation closes the position with an autoclose- order, as Binance does).
func (v *Venue) Trades(_ context.Context, venue exchange.Venue, symbol string, since time.Time) ([]exchange.Fill, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return nil, fmt.Errorf("paper %s %s trades: %w", venue, symbol, v.brokenErr())
	}
	var out []exchange.Fill
	for k, os := range v.st.orders {
		if k.venue != venue || os.o.Symbol != symbol {
			continue
		}
		for _, f := range os.o.Fills {
			if !f.Time.Before(since) {
				out = append(out, f)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		a, _ := strconv.ParseInt(out[i].TradeID, 10, 64)
		b, _ := strconv.ParseInt(out[j].TradeID, 10, 64)
		return a < b
	})
	return out, nil
}
