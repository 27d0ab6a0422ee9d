package insights

import (
	"math/big"

	"github.com/ledgerform/ledgerform/engine/statement"
)

// roundDiv returns a / b rounded half away from zero; b > 0.
func roundDiv(a, b int64) int64 {
	q, r := a/b, a%b
	if r < 0 {
		r = -r
	}
	if 2*r >= b {
		if a < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// roundRat returns r rounded half away from zero to the given number of
// decimals, as an integer count of 10^-places.
func roundRat(r *big.Rat, places int) int64 {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	num := new(big.Int).Mul(r.Num(), scale)
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if m.Lsh(m, 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return q.Int64()
}

var pow10 = [...]float64{1, 10, 100, 1000, 10000}

// fixed returns r rounded to places decimals, as the nearest float64 (which
// encoding/json writes back as exactly those decimals).
func fixed(r *big.Rat, places int) *float64 {
	f := float64(roundRat(r, places)) / pow10[places]
	return &f
}

// ratio returns num / den to 4 decimals, or nil when den is 0.
func ratio(num, den int64) *float64 {
	if den == 0 {
		return nil
	}
	return fixed(big.NewRat(num, den), 4)
}

// perMonth returns total / n to 2 decimals (an average count), or nil when
// n is 0.
func perMonth(total, n int) *float64 {
	if n == 0 {
		return nil
	}
	return fixed(big.NewRat(int64(total), int64(n)), 2)
}

func money(m int64) *statement.Money {
	v := statement.Money(m)
	return &v
}

// avgMoney returns total / n rounded to the cent, or nil when n is 0.
func avgMoney(total int64, n int) *statement.Money {
	if n == 0 {
		return nil
	}
	return money(roundDiv(total, int64(n)))
}

func intp(n int) *int { return &n }

func sum(ys []int64) int64 {
	var s int64
	for _, y := range ys {
		s += y
	}
	return s
}

// trend is the trend of monthly totals ys (see the package doc): the slope
// of the weighted least-squares line, divided by the mean. Nil when there
// are fewer than two months or the mean is 0.
func trend(ys []int64) *float64 {
	n := len(ys)
	total := sum(ys)
	if n < 2 || total == 0 {
		return nil
	}
	var sw, swx, swxx, swy, swxy big.Int
	for i, y := range ys {
		w := int64(1)
		if i >= n-3 {
			w = 2
		}
		bx, by, bw := big.NewInt(int64(i)), big.NewInt(y), big.NewInt(w)
		sw.Add(&sw, bw)
		swx.Add(&swx, new(big.Int).Mul(bw, bx))
		swxx.Add(&swxx, new(big.Int).Mul(bw, new(big.Int).Mul(bx, bx)))
		swy.Add(&swy, new(big.Int).Mul(bw, by))
		swxy.Add(&swxy, new(big.Int).Mul(bw, new(big.Int).Mul(bx, by)))
	}
	num := new(big.Int).Sub(new(big.Int).Mul(&sw, &swxy), new(big.Int).Mul(&swx, &swy))
	den := new(big.Int).Sub(new(big.Int).Mul(&sw, &swxx), new(big.Int).Mul(&swx, &swx))
	// slope / mean = (num / den) / (total / n) = num·n / (den·total)
	r := new(big.Rat).SetFrac(num.Mul(num, big.NewInt(int64(n))), den.Mul(den, big.NewInt(total)))
	return fixed(r, 4)
}

// stability is max(0, 1 − d/m) for the mean m and the mean absolute
// deviation d of ys (see the package doc); nil when ys is empty or m is 0.
func stability(ys []int64) *float64 {
	n := int64(len(ys))
	total := sum(ys)
	if n == 0 || total == 0 {
		return nil
	}
	// d/m = Σ|n·y − total| / (n·total)
	var dev big.Int
	for _, y := range ys {
		d := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(n), big.NewInt(y)), big.NewInt(total))
		dev.Add(&dev, d.Abs(d))
	}
	r := new(big.Rat).SetFrac(&dev, new(big.Int).Mul(big.NewInt(n), big.NewInt(total)))
	r.Sub(big.NewRat(1, 1), r)
	if r.Sign() < 0 {
		r.SetInt64(0)
	}
	return fixed(r, 4)
}
