package replay

import (
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Ranks order events at the same instant: spot, then perp (each perp quote followed by its mark), then funding.
const (
	rankSpot = iota
	rankPerp
	rankFunding
)

// exhausted is the head time of a source with nothing left.
const exhausted = math.MaxInt64

// source is one time-ordered stream: the klines of one market or the settlements of one symbol.
type source interface {
	// head is the time (Unix ns) of the next event, exhausted when there is none.
	head() int64
	// take writes the next event into ev (all of it) and reads ahead. raw and rawF are the bar price behind
	// a quote (the index for spot, the mark for perp). An error names the file and line of a corrupt row;
	// the event written with it is still valid.
	take(ev *exchange.Event) (raw decimal.Decimal, rawF float64, err error)
	// gaps are the stretches of missing data read so far.
	gaps() []Gap
	close()
}

// Gap is a stretch of missing data in one market: no bar (klines) or no settlement (funding) between From
// and To. A replay never invents prices or rates there: the market is suspended, or funding is not paid.
type Gap struct {
	Symbol string
	Market string // "spot klines", "perp klines" or "funding"
	From   time.Time
	To     time.Time
}

// entry is a source in the merge heap, keyed by (time, rank, symbol).
type entry struct {
	ns   int64
	rank int
	sym  int
	src  source
}

func (a *entry) less(b *entry) bool {
	if a.ns != b.ns {
		return a.ns < b.ns
	}
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.sym < b.sym
}

// srcHeap is a binary min-heap of non-exhausted sources (the k-way merge).
type srcHeap []entry

func (h srcHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && h[r].less(&h[l]) {
			j = r
		}
		if !h[j].less(&h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

func (h srcHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// settleMark is a step the feed reads but does not emit: the open of a perp bar after a gap, the price a
// settlement at that instant is paid at, while the market is not yet quoted again (it comes back at the
// bar's close).
const settleMark exchange.EventKind = 255

// step is one pending event of a kline source: no pointers, so queuing it costs no GC write barriers.
type step struct {
	ns   int64
	kind exchange.EventKind
	pt   int8 // quote point 0..3
}

// steps is a small FIFO of steps.
type steps struct {
	buf  [8]step
	head int
	n    int
}

func (q *steps) push(s step) {
	q.buf[(q.head+q.n)%len(q.buf)] = s
	q.n++
}

func (q *steps) pop() step {
	s := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return s
}
