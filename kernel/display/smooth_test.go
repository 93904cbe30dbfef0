package display

import (
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// TestEMA checks the debiased moving average against hand-computed values (span 3: β = 0.5) and
// that a NaN carries the average over.
func TestEMA(t *testing.T) {
	in := plotter.XYs{{X: 1, Y: 1}, {X: 2, Y: 2}, {X: 3, Y: math.NaN()}, {X: 4, Y: 3}}
	got := EMA(in, 3)
	// 1; (0.25+1)/0.75; the same; (0.625+1.5)/0.875.
	want := []float64{1, 1.25 / 0.75, 1.25 / 0.75, 2.125 / 0.875}
	for i := range want {
		if math.Abs(got[i].Y-want[i]) > 1e-12 || got[i].X != in[i].X {
			t.Errorf("EMA[%d] = %v, want (%v, %v)", i, got[i], in[i].X, want[i])
		}
	}
	if !math.IsNaN(in[2].Y) {
		t.Error("EMA changed its input")
	}
	if got := EMA(in[:2], 1); got[1].Y != 2 {
		t.Errorf("span 1 smoothed: %v", got)
	}
}

// TestLegendBesideTheData draws a curve across the whole x range with a legend: the legend's text
// must lie right of every point of the curve, and the raw line of a long curve is drawn faint.
func TestLegendBesideTheData(t *testing.T) {
	p := plot.New()
	xys := make(plotter.XYs, 50)
	for i := range xys {
		xys[i] = plotter.XY{X: float64(i), Y: float64(i % 7)}
	}
	if err := AddCurve(p, "a long series name", xys, color.RGBA{B: 255, A: 255}); err != nil {
		t.Fatal(err)
	}
	svg, err := PlotSVG(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<text x="([0-9.]+)"[^>]*\n?[^>]*>a long series name</text>`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no legend text in:\n%.2000s", svg)
	}
	legendX, _ := strconv.ParseFloat(m[1], 64)
	maxX := 0.0
	for _, path := range regexp.MustCompile(`<path d="([^"]+)"`).FindAllStringSubmatch(svg, -1) {
		if strings.Count(path[1], "L") < 40 { // the curves, not ticks or the legend's thumbnail
			continue
		}
		for _, xy := range regexp.MustCompile(`[ML]([0-9.]+),`).FindAllStringSubmatch(path[1], -1) {
			x, _ := strconv.ParseFloat(xy[1], 64)
			maxX = math.Max(maxX, x)
		}
	}
	if maxX == 0 || legendX <= maxX {
		t.Errorf("legend text at x=%v, curves reach x=%v: the legend overlaps the data", legendX, maxX)
	}
	if !strings.Contains(svg, "stroke-opacity:0.3") {
		t.Error("no faint raw line")
	}
}

func TestFontFallbacks(t *testing.T) {
	got := FontFallbacks(`style="font-family:Liberation Serif;font-size:12px" style="font-family:Liberation Sans;"`)
	want := `style="font-family:'Liberation Serif','Times New Roman',Times,serif;font-size:12px" style="font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"`
	if got != want {
		t.Errorf("FontFallbacks = %s\nwant %s", got, want)
	}
}
