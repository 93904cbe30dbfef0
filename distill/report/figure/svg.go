// Package figure draws Mimicry's figures with gonum/plot: SVG with the legend beside the axes and
// fonts that fall back to metric-compatible ones, and training curves as faint raw values under a
// moving average. The report's figures and the notebooks' plots and live charts share it.
package figure

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default size of a plot when Plot or PlotSVG is given a zero width or height: 6 × 3.75 inches.
const (
	// DefaultWidth is the width of a plot given a zero width.
	DefaultWidth = 6 * vg.Inch
	// DefaultHeight is the height of a plot given a zero height.
	DefaultHeight = 3.75 * vg.Inch
)

// maxSide bounds a plot's width and height (100 inches), so a unit mistake cannot allocate a huge
// canvas.
const maxSide = 100 * vg.Inch

// PlotSVG renders p with [DrawPlot] as an SVG element (without the XML prolog, ready to inline in
// HTML) of the given size; a zero width or height takes the default. The SVG scales down to the width of its container
// and references fonts by name (Liberation, falling back to the browser's serif), embedding none.
func PlotSVG(p *plot.Plot, width, height vg.Length) (string, error) {
	var buf bytes.Buffer
	if err := WritePlotSVG(&buf, p, width, height); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// WritePlotSVG writes the SVG of [PlotSVG] to w.
func WritePlotSVG(w io.Writer, p *plot.Plot, width, height vg.Length) (err error) {
	if p == nil {
		return fmt.Errorf("display: nil plot")
	}
	if width == 0 {
		width = DefaultWidth
	}
	if height == 0 {
		height = DefaultHeight
	}
	if !(width > 0 && height > 0 && width <= maxSide && height <= maxSide) {
		return fmt.Errorf("display: plot size %v × %v: each side must be in (0, %v]", width, height, maxSide)
	}
	c := vgsvg.New(width, height)
	// gonum/plot panics on some data (e.g. non-positive values on a log scale): report it as an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("display: drawing plot %q: %v", p.Title.Text, r)
		}
	}()
	DrawPlot(draw.New(c), p)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("display: writing SVG: %w", err)
	}
	_, err = io.WriteString(w, inlineSVG(FontFallbacks(buf.String())))
	return err
}

// fontFamilyRE matches the font families gonum/plot writes into its SVG: the Liberation fonts it
// measures text with, named alone.
var fontFamilyRE = regexp.MustCompile(`font-family:Liberation (Serif|Sans|Mono)\b`)

// fontFallbacks are the metric-compatible fonts of the Liberation fonts, then the generic family.
var fontFallbacks = map[string]string{
	"Serif": `'Times New Roman',Times,serif`,
	"Sans":  `Arial,Helvetica,sans-serif`,
	"Mono":  `'Courier New',Courier,monospace`,
}

// FontFallbacks adds, to every font family of a gonum/plot SVG, its metric-compatible fonts and the
// generic family. gonum/plot lays text out with Liberation's metrics and names Liberation alone;
// where Liberation is not installed a browser would otherwise pick any default font, wider or
// narrower, and labels would run off the picture or over the axes.
func FontFallbacks(svg string) string {
	return fontFamilyRE.ReplaceAllStringFunc(svg, func(m string) string {
		kind := fontFamilyRE.FindStringSubmatch(m)[1]
		return `font-family:'Liberation ` + kind + `',` + fontFallbacks[kind]
	})
}

// legendGap separates the plot from a legend drawn beside it; plotMargin is left on every side.
var legendGap, plotMargin = vg.Points(6), vg.Points(4)

// DrawPlot draws p on c like p.Draw, except that it leaves a small margin on every side, and that a
// legend with entries goes in a column to the right of the axes, level with their top, instead of
// over the data: curves and points are never hidden behind it, however many entries it has. p is
// not modified.
func DrawPlot(c draw.Canvas, p *plot.Plot) {
	// A small margin: text measured with one font and drawn with another must not touch the edge.
	c = draw.Crop(c, plotMargin, -plotMargin, plotMargin, -plotMargin)
	legend := p.Legend
	r := legend.Rectangle(c)
	w := r.Max.X - r.Min.X
	if w <= 0 {
		p.Draw(c)
		return
	}
	if max := (c.Max.X - c.Min.X) / 3; w > max {
		w = max // a very long entry may run past the picture, but the plot keeps two thirds
	}
	q := *p
	q.Legend = plot.NewLegend()
	q.Legend.TextStyle = legend.TextStyle
	q.Draw(draw.Crop(c, 0, -(w + legendGap), 0, 0))

	var titleH vg.Length
	if p.Title.Text != "" {
		titleH = p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	legend.Left, legend.Top = true, true
	if legend.Padding == 0 {
		legend.Padding = vg.Points(2) // entries of 12-point text would otherwise touch
	}
	legend.XOffs, legend.YOffs = 0, -titleH
	legend.Draw(draw.Crop(c, c.Max.X-c.Min.X-w, 0, 0, 0))
}

// inlineSVG prepares a standalone SVG document for inclusion in HTML: it drops the XML prolog and
// lets the picture shrink to its container's width.
func inlineSVG(doc string) string {
	if strings.HasPrefix(doc, "<?xml") {
		if i := strings.Index(doc, "?>"); i >= 0 {
			doc = strings.TrimLeft(doc[i+2:], "\r\n")
		}
	}
	if i := strings.Index(doc, "<svg "); i >= 0 {
		doc = doc[:i] + `<svg style="max-width:100%;height:auto" ` + doc[i+len("<svg "):]
	}
	return doc
}
