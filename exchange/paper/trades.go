package paper

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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
	// Time order, then trade id order (the venue's ids are decimal sequence numbers: a shorter id is older).
	slices.SortFunc(out, func(a, b exchange.Fill) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(len(a.TradeID), len(b.TradeID)), strings.Compare(a.TradeID, b.TradeID))
	})
	return out, nil
}
