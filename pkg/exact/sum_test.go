package exact_test

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/exact"
)

// randDigits is a decimal with a random sign, 1 to maxDigits digits and exponent −20..+3.
func randDigits(r *rand.Rand, maxDigits int) decimal.Decimal {
	digits := 1 + r.IntN(maxDigits)
	v := new(big.Int)
	for range digits {
		v.Mul(v, big.NewInt(10))
		v.Add(v, big.NewInt(int64(r.IntN(10))))
	}
	if r.IntN(2) == 0 {
		v.Neg(v)
	}
	return decimal.NewFromBigInt(v, int32(r.IntN(24))-20)
}

// A Sum equals decimal arithmetic on the same terms: exactly, and rounded the way decimal.Round rounds. Wide
// terms (up to 30 digits) take the big.Int path, narrow ones (up to 18) the 128-bit one until it overflows.
func TestSumEqualsDecimalArithmetic(t *testing.T) {
	for _, maxDigits := range []int{30, 18, 12, 6} {
		checkAgainstDecimal(t, maxDigits)
	}
}

func checkAgainstDecimal(t *testing.T, maxDigits int) {
	randDec := func(r *rand.Rand) decimal.Decimal { return randDigits(r, maxDigits) }
	r := rand.New(rand.NewPCG(1, uint64(maxDigits)))
	var s, o exact.Sum
	for i := range 20_000 {
		s.Reset()
		want := decimal.Zero
		for range r.IntN(6) {
			a, b := randDec(r), randDec(r)
			switch r.IntN(5) {
			case 3:
				bid, ask := randDec(r), randDec(r)
				s.AddMulMid(a, bid, ask)
				want = want.Add(a.Mul(bid.Add(ask).Mul(decimal.New(5, -1))))
			case 4:
				var o exact.Sum
				o.AddMul(a, b)
				s.AddSum(&o)
				want = want.Add(a.Mul(b))
			case 0:
				s.Add(a)
				want = want.Add(a)
			case 1:
				s.AddMul(a, b)
				want = want.Add(a.Mul(b))
			default:
				s.SubMul(a, b)
				want = want.Sub(a.Mul(b))
			}
		}
		if got := s.Decimal(); !got.Equal(want) {
			t.Fatalf("digits %d, case %d: sum %s, decimal %s", maxDigits, i, got, want)
		}
		places := int32(r.IntN(20)) - 2
		if got, w := s.Round(places), want.Round(places); got.String() != w.String() || got.Exponent() != w.Exponent() {
			t.Fatalf("case %d: Round(%d) of %s: %s (exp %d), decimal %s (exp %d)", i, places, want, got, got.Exponent(), w, w.Exponent())
		}
		o.Reset()
		other := randDec(r)
		o.Add(other)
		if got, w := s.Cmp(&o), want.Cmp(other); got != w {
			t.Fatalf("case %d: Cmp(%s, %s) = %d, want %d", i, want, other, got, w)
		}
		if s.Sign() != want.Sign() {
			t.Fatalf("case %d: Sign of %s = %d", i, want, s.Sign())
		}
	}
}

// Half-way cases round away from zero, as decimal.Round does.
func TestSumRoundsHalfAwayFromZero(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0.000000005", "0.00000001"}, {"-0.000000005", "-0.00000001"}, {"0.0000000049", "0"}, {"-0.0000000049", "0"},
		{"12345.123456785", "12345.12345679"}, {"7", "7"},
	} {
		var s exact.Sum
		s.Add(decimal.RequireFromString(c.in))
		if got := s.Round(8); !got.Equal(decimal.RequireFromString(c.want)) || got.Exponent() != -8 {
			t.Errorf("Round(8) of %s = %s (exp %d), want %s at exp -8", c.in, got, got.Exponent(), c.want)
		}
	}
}

// After the first use, a valuation of a few products allocates only its result.
func TestSumReusesItsIntegers(t *testing.T) {
	cash, qty, px, entry, mark := decimal.RequireFromString("10234.12345678"), decimal.RequireFromString("0.01499"),
		decimal.RequireFromString("43210.555"), decimal.RequireFromString("43000.1"), decimal.RequireFromString("43211.2")
	var s exact.Sum
	value := func() {
		s.Reset()
		s.Add(cash)
		s.AddMul(qty, px)
		s.AddMul(qty.Neg(), mark)
		s.SubMul(qty.Neg(), entry)
	}
	value()
	neg := qty.Neg()
	allocs := testing.AllocsPerRun(100, func() {
		s.Reset()
		s.Add(cash)
		s.AddMul(qty, px)
		s.AddMul(neg, mark)
		s.SubMul(neg, entry)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per valuation, want 0", allocs)
	}
}

// BenchmarkSumValuation is one equity sample of the backtest recorder: cash, a base holding at the spot mid,
// a perp's unrealised PnL, rounded to 8 places; and the same with decimal arithmetic.
func BenchmarkSumValuation(b *testing.B) {
	cash, qty := decimal.RequireFromString("10234.1234567812345678"), decimal.RequireFromString("0.21599999")
	bid, ask := decimal.RequireFromString("43210.55"), decimal.RequireFromString("43214.87")
	perp, entry, mark := decimal.RequireFromString("-0.216"), decimal.RequireFromString("43000.123456789012"), decimal.RequireFromString("43211.2")
	b.Run("exact.Sum", func(b *testing.B) {
		var s, c exact.Sum
		c.Add(cash) // the recorder loads its cash once per change
		b.ReportAllocs()
		for b.Loop() {
			s.Reset()
			s.AddSum(&c)
			s.AddMulMid(qty, bid, ask)
			s.AddMul(perp, mark)
			s.SubMul(perp, entry)
			_ = s.Round(8)
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		half := decimal.New(5, -1)
		for b.Loop() {
			eq := cash.Add(qty.Mul(bid.Add(ask).Mul(half))).Add(perp.Mul(mark.Sub(entry)))
			_ = eq.Round(8)
		}
	})
}
