package figure

import (
	"encoding/xml"
	"image/color"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
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

func linePlot(t *testing.T, title string, ys ...float64) *plot.Plot {
	t.Helper()
	p := plot.New()
	p.Title.Text = title
	xys := make(plotter.XYs, len(ys))
	for i, y := range ys {
		xys[i] = plotter.XY{X: float64(i), Y: y}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	return p
}

func TestPlotSVG(t *testing.T) {
	svg, err := PlotSVG(linePlot(t, "nDCG <&> recall", 1, 4, 9), 4*vg.Inch, 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(svg, "<?xml") || !strings.Contains(svg, `<svg style="max-width:100%;height:auto" width="288pt" height="270pt"`) {
		t.Errorf("SVG head: %.200q", svg)
	}
	if !strings.Contains(svg, "nDCG &lt;&amp;&gt; recall") {
		t.Error("the title is missing or not escaped")
	}
	checkWellFormed(t, "plot SVG", svg)

}

func TestPlotSVGErrors(t *testing.T) {
	if _, err := PlotSVG(nil, 0, 0); err == nil {
		t.Error("nil plot accepted")
	}
	for _, size := range [][2]vg.Length{{-1, 10}, {10, 1e9}, {vg.Length(math.NaN()), 10}} {
		if _, err := PlotSVG(linePlot(t, "x", 1, 2), size[0], size[1]); err == nil {
			t.Errorf("size %v accepted", size)
		}
	}
	// gonum/plot panics when a log scale meets a zero: the helper reports an error instead.
	p := linePlot(t, "log", 0, 1, 10)
	p.Y.Scale = plot.LogScale{}
	if _, err := PlotSVG(p, 0, 0); err == nil {
		t.Error("a log-scale plot of a zero did not fail")
	}
}

// checkWellFormed parses s as XML (HTML fragments here are XHTML-compatible) and checks it loads
// nothing from elsewhere.
func checkWellFormed(t *testing.T, what, s string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader("<root>" + s + "</root>"))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s is not well-formed: %v", what, err)
			return
		}
	}
	for _, bad := range []string{"<script", "src=", "href=", "@import"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s contains %q: it must render offline", what, bad)
		}
	}
}
