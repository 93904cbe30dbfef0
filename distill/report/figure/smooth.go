package figure

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// minSmoothed is the fewest points a curve needs before [AddCurve] smooths it: shorter curves are
// drawn as they are.
const minSmoothed = 10

// EMA returns the exponential moving average of the points' Y values, debiased (each value is
// divided by 1 − βᵗ, so the first points are not pulled towards zero), with β = 1 − 2/(span+1):
// the usual reading of "an average over about span points". A non-finite Y is skipped (the average
// carries over). span ≤ 1 returns a copy of xys.
func EMA(xys plotter.XYs, span float64) plotter.XYs {
	out := make(plotter.XYs, len(xys))
	copy(out, xys)
	if span <= 1 {
		return out
	}
	beta := 1 - 2/(span+1)
	var avg, weight float64
	for i, q := range xys {
		if !math.IsNaN(q.Y) && !math.IsInf(q.Y, 0) {
			avg = beta*avg + (1-beta)*q.Y
			weight = beta*weight + (1 - beta)
		}
		if weight > 0 {
			out[i].Y = avg / weight
		}
	}
	return out
}

// SmoothingSpan is the span [AddCurve] averages a curve of n points over: a tenth of the curve, at
// least 3 points.
func SmoothingSpan(n int) float64 { return math.Max(3, float64(n)/10) }

// AddCurve adds a training curve to p: with at least 10 points, the raw values as a thin faint line
// and their [EMA] over [SmoothingSpan] points as a solid one, which the legend names; with fewer,
// the raw line alone. Per-step losses zig-zag; the smoothed line shows the trend and the faint one
// keeps the noise visible. Dashes, when given, dash the named line.
func AddCurve(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashes ...vg.Length) error {
	if len(xys) < minSmoothed {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = c, vg.Points(1.5), dashes
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	raw, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	raw.Color, raw.Width = faint(c), vg.Points(0.75)
	smooth, err := plotter.NewLine(EMA(xys, SmoothingSpan(len(xys))))
	if err != nil {
		return err
	}
	smooth.Color, smooth.Width, smooth.Dashes = c, vg.Points(1.75), dashes
	p.Add(raw, smooth)
	p.Legend.Add(name, smooth)
	return nil
}

// faint returns c at a third of its opacity.
func faint(c color.Color) color.Color {
	r, g, b, a := c.RGBA()
	const k = 3
	return color.RGBA64{R: uint16(r / k), G: uint16(g / k), B: uint16(b / k), A: uint16(a / k)}
}
