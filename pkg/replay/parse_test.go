package replay

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseNum(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"10631.59", "10631.59"}, {"0.00012359", "0.00012359"}, {"-0.00012383", "-0.00012383"}, {"10675.0", "10675"},
		{"4568.532999999999", "4568.532999999999"}, {"1e-05", "0.00001"}, {"2.5E3", "2500"}, {"0", "0"}, {"+7", "7"},
		{"123456789012345678901234.5", "123456789012345678901234.5"}, {"000.000100", "0.0001"},
	} {
		n, err := parseNum([]byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if !n.dec().Equal(decimal.RequireFromString(c.want)) {
			t.Errorf("%s → %s, want %s", c.in, n.dec(), c.want)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "12a", "1e", "1e+", "--1", "0x10"} {
		if _, err := parseNum([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEpochNanos(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{1704067200000, 1704067200000 * 1e6},       // ms
		{1704067200000000, 1704067200000 * 1e6},    // µs (spot archive since 2025)
		{1704067200000000000, 1704067200000 * 1e6}, // ns
	} {
		if got := epochNanos(c.in); got != c.want {
			t.Errorf("%d → %d, want %d", c.in, got, c.want)
		}
	}
}

// Decimals from the slab are indistinguishable from decimal.New's.
func TestDecSlab(t *testing.T) {
	if !slabOK {
		t.Log("decimal.Decimal layout differs: the slab falls back to decimal.New")
	}
	var s decSlab
	rng := rand.New(rand.NewPCG(3, 4))
	var kept []decimal.Decimal
	var want []decimal.Decimal
	for i := range 300 * slabSize {
		m := rng.Int64() >> uint(rng.IntN(63))
		if i%3 == 0 {
			m = -m
		}
		e := int32(rng.IntN(20)) - 12
		got, w := s.dec(m, e), decimal.New(m, e)
		if !got.Equal(w) || got.String() != w.String() || got.Exponent() != e || got.Coefficient().Cmp(w.Coefficient()) != 0 {
			t.Fatalf("dec(%d, %d) = %s, want %s", m, e, got, w)
		}
		kept, want = append(kept, got), append(want, w)
	}
	for i := range kept { // values stay intact after later allocations and arithmetic
		if !kept[i].Equal(want[i]) || !kept[i].Add(kept[i]).Equal(want[i].Mul(decimal.NewFromInt(2))) {
			t.Fatalf("value %d changed: %s, want %s", i, kept[i], want[i])
		}
	}
}
