package eval

import (
	"cmp"
	"math"
)

// Pearson returns Pearson's correlation coefficient of x and y (equal lengths), computed in two
// passes around the means; NaN when it is undefined (fewer than two points, a constant x or y, or
// lengths that differ).
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return max(-1, min(1, sxy/math.Sqrt(sxx*syy)))
}

// KendallTau returns Kendall's rank correlation τ-b of x and y (equal lengths), which accounts for
// ties as scipy.stats.kendalltau does by default:
//
//	τ_b = (C − D) / sqrt((P − T_x)(P − T_y))
//
// over the P = n(n−1)/2 pairs of points, C concordant and D discordant, T_x (T_y) tied in x (y). NaN
// when undefined (fewer than two points, all x or all y tied, or lengths that differ). It compares
// every pair: O(n²), meant for the few thousand points of an evaluation.
func KendallTau(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN()
	}
	var conc, disc, tx, ty int64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			dx, dy := cmp.Compare(x[i], x[j]), cmp.Compare(y[i], y[j])
			switch {
			case dx == 0 && dy == 0:
				tx++
				ty++
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case dx == dy:
				conc++
			default:
				disc++
			}
		}
	}
	pairs := int64(n) * int64(n-1) / 2
	den := math.Sqrt(float64(pairs-tx)) * math.Sqrt(float64(pairs-ty))
	if den == 0 {
		return math.NaN()
	}
	return max(-1, min(1, float64(conc-disc)/den))
}
