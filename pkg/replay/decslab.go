package replay

import (
	"math/big"
	"math/bits"
	"reflect"
	"unsafe"

	"github.com/shopspring/decimal"
)

// Decimals without two heap allocations each.
//
// decimal.New costs two allocations (a big.Int and its one-word slice) and ~100 ns with the GC work they
// cause; a replay makes three decimals per bar point (raw price, bid, ask), which would dominate a backtest.
// decSlab carves the big.Ints and their words out of small slabs and assembles the Decimal from its two fields.
// Decimals never modify their big.Int (the library treats it as immutable and shares it, e.g. in Shift), so
// values built this way are indistinguishable from decimal.New's. The field layout is verified with reflect
// at start-up; if it ever differs (a new library version), decSlab falls back to decimal.New.

// decimalLayout mirrors decimal.Decimal: value *big.Int, exp int32.
type decimalLayout struct {
	value *big.Int
	exp   int32
}

// slabOK reports whether decimal.Decimal has exactly the layout of decimalLayout. Computed once, read-only.
var slabOK = checkLayout()

func checkLayout() bool {
	if bits.UintSize != 64 {
		return false
	}
	t, l := reflect.TypeOf(decimal.Decimal{}), reflect.TypeOf(decimalLayout{})
	if t.Size() != l.Size() || t.NumField() != 2 {
		return false
	}
	for i := range 2 {
		f, g := t.Field(i), l.Field(i)
		if f.Name != g.Name || f.Type != g.Type || f.Offset != g.Offset {
			return false
		}
	}
	return true
}

// slabSize is small so a decimal kept for long (a stored mark, say) keeps only a small slab alive: about
// 2.5 KB, the big.Ints and their words of 64 decimals in one allocation.
const slabSize = 64

// slab holds slabSize one-word big.Ints, each pointing at its own word in the same allocation.
type slab struct {
	ints  [slabSize]big.Int
	words [slabSize]big.Word
}

// decSlab hands out decimals built from int64 mantissas. Not safe for concurrent use (one per source).
type decSlab struct {
	cur  *slab
	next int
}

// dec returns m × 10^exp.
func (s *decSlab) dec(m int64, exp int32) decimal.Decimal {
	if !slabOK || m == 0 {
		return decimal.New(m, exp)
	}
	if s.cur == nil || s.next == slabSize {
		s.refill()
	}
	v, w := &s.cur.ints[s.next], &s.cur.words[s.next]
	s.next++
	u := uint64(m)
	if m < 0 {
		u = -u
		v.Neg(v) // v is +1 here: this only flips its sign flag
	}
	*w = big.Word(u) // v's one-word magnitude: no pointer written per decimal
	l := decimalLayout{value: v, exp: exp}
	return *(*decimal.Decimal)(unsafe.Pointer(&l))
}

// refill allocates the next slab and points every big.Int at its word (a one-word, non-zero magnitude).
func (s *decSlab) refill() {
	sl := new(slab)
	for i := range sl.ints {
		sl.words[i] = 1
		sl.ints[i].SetBits(sl.words[i : i+1 : i+1])
	}
	s.cur, s.next = sl, 0
}

// num returns a parsed number as a decimal.
func (s *decSlab) num(n num) decimal.Decimal {
	if n.big != nil {
		return *n.big
	}
	return s.dec(n.m, n.e)
}
