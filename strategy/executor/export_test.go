package executor

import (
	"context"
	"fmt"

	"github.com/carry-trading/carry/strategy/pair"
)

// CheckKnown compares what the executor remembers of each pair with journal j: the pair as committed
// (GetPair) and the holdings of its fills (Fills). It returns how many pairs it remembers.
func (e *Executor) CheckKnown(ctx context.Context, j Journal) (int, error) {
	for id, k := range e.known {
		if k.havePair {
			p, err := j.GetPair(ctx, id)
			if err != nil {
				return 0, err
			}
			if err := samePair(k.pair, p); err != nil {
				return 0, fmt.Errorf("pair %d: remembered %w", id, err)
			}
		}
		if k.haveLegs {
			fills, err := j.Fills(ctx, e.account.ID, id)
			if err != nil {
				return 0, err
			}
			dir, sym := k.pair.Direction, k.pair.Symbol
			if !k.havePair {
				p, err := j.GetPair(ctx, id)
				if err != nil {
					return 0, err
				}
				dir, sym = p.Direction, p.Symbol
			}
			l := holdings(fills, dir, e.markets[sym].Spot.Base)
			if l.String() != k.legs.String() {
				return 0, fmt.Errorf("pair %d: remembered holdings %s, the journal's fills add up to %s", id, k.legs, l)
			}
		}
	}
	return len(e.known), nil
}

// samePair compares two pairs field by field, decimals by value and times by instant.
func samePair(a, b pair.Pair) error {
	norm := func(p pair.Pair) string {
		p.CreatedAt, p.UpdatedAt, p.OpenedAt, p.ClosedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC(), p.OpenedAt.UTC(), p.ClosedAt.UTC()
		return fmt.Sprintf("%+v", p)
	}
	if x, y := norm(a), norm(b); x != y {
		return fmt.Errorf("%s, the journal holds %s", x, y)
	}
	return nil
}

func (l legs) String() string {
	return fmt.Sprintf("spot %s perp %s spot cost %s/%s perp cost %s/%s", l.spot, l.perp, l.spotCost, l.spotBase, l.perpCost, l.perpBase)
}
