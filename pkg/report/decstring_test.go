package report

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

func TestDecStringMatchesString(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := []decimal.Decimal{decimal.Zero, decimal.New(0, -8), decimal.New(1, 0), decimal.New(-1, -8), decimal.New(120000000, -8),
		decimal.New(-5, 3), decimal.New(999999999999999999, -18), decimal.New(-999999999999999999, -9),
		decimal.New(1, -19), decimal.RequireFromString("123456789012345678901234.5"), decimal.New(math.MaxInt64, -4),
		decimal.New(math.MinInt64+1, -4), decimal.RequireFromString("0.10000000")}
	for range 20000 {
		cases = append(cases, decimal.New(r.Int64N(2e15)-1e15, -int32(r.IntN(20))), decimal.New(r.Int64()>>uint(r.IntN(60)), -int32(r.IntN(20))))
	}
	for _, d := range cases {
		if got, want := decString(d), d.String(); got != want {
			t.Fatalf("decString(%s, exp %d) = %q, want %q", d.Coefficient(), d.Exponent(), got, want)
		}
	}
}

func BenchmarkDecString(b *testing.B) {
	d := decimal.New(1209102345678, -8)
	b.Run("decString", func(b *testing.B) {
		for range b.N {
			_ = decString(d)
		}
	})
	b.Run("String", func(b *testing.B) {
		for range b.N {
			_ = d.String()
		}
	})
}
