package report

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/report/figure"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one figure of the report: its file name under figures/ and its caption.
type Figure struct {
	File    string
	Caption string
}

// palette colours the series of a figure: Tableau's ten, so that the ten training runs of a
// frontier report each get their own.
var palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 255, G: 127, B: 14, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255}, color.RGBA{R: 140, G: 86, B: 75, A: 255},
	color.RGBA{R: 227, G: 119, B: 194, A: 255}, color.RGBA{R: 127, G: 127, B: 127, A: 255},
	color.RGBA{R: 188, G: 189, B: 34, A: 255}, color.RGBA{R: 23, G: 190, B: 207, A: 255},
}

// TrainingCurves plots the loss of each training run against its step, each normalised by its
// first logged loss so that runs with different losses share one axis.
func TrainingCurves(curves map[string][]CurvePoint) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Training loss (relative to the first logged loss)"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss / initial loss"
	err := addCurves(p, curves, func(pts []CurvePoint, j int) (float64, bool) {
		return pts[j].Loss / pts[0].Loss, pts[0].Loss != 0
	})
	return p, err
}

// addCurves draws one curve per training run (in name order, a legend entry each) through the points
// for which y(points, j) is defined — faint raw values under their moving average (figure.AddCurve) —
// then a grid.
func addCurves(p *plot.Plot, curves map[string][]CurvePoint, y func(pts []CurvePoint, j int) (float64, bool)) error {
	for i, name := range sortedKeys(curves) {
		pts := curves[name]
		var xy plotter.XYs
		for j, c := range pts {
			if v, ok := y(pts, j); ok {
				xy = append(xy, plotter.XY{X: float64(c.Step), Y: v})
			}
		}
		if len(xy) == 0 {
			continue
		}
		// Past ten runs the colours repeat, dashed.
		var dashes []vg.Length
		if i >= len(palette) {
			dashes = []vg.Length{vg.Points(5), vg.Points(2)}
		}
		if err := figure.AddCurve(p, name, xy, palette[i%len(palette)], dashes...); err != nil {
			return fmt.Errorf("curve %s: %w", name, err)
		}
	}
	p.Add(plotter.NewGrid())
	return nil
}

// ScoreScatter plots a student's scores against the teacher's on held-out answer-key pairs, the
// judged positives in a second colour, with Pearson's r in the title.
func ScoreScatter(name string, samples []Sample) (*plot.Plot, error) {
	p := plot.New()
	var t, s []float64
	var pos, neg plotter.XYs
	for _, x := range samples {
		t, s = append(t, x.Teacher), append(s, x.Student)
		if x.Positive {
			pos = append(pos, plotter.XY{X: x.Teacher, Y: x.Student})
		} else {
			neg = append(neg, plotter.XY{X: x.Teacher, Y: x.Student})
		}
	}
	p.Title.Text = fmt.Sprintf("%s vs teacher scores (held-out pairs, Pearson r = %.3f)", name, eval.Pearson(t, s))
	p.X.Label.Text = "teacher score"
	p.Y.Label.Text = name + " score"
	if err := addScatter(p, "other candidates", neg, palette[0]); err != nil {
		return nil, err
	}
	if err := addScatter(p, "judged positives", pos, palette[3]); err != nil {
		return nil, err
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// Margins returns, for each held-out query of samples with a judged positive, the margins
// s(positive) − s(other) of the teacher and of the student, one per other candidate.
func Margins(samples []Sample) (teacher, student []float64) {
	byQuery := map[string][]Sample{}
	var order []string
	for _, x := range samples {
		if _, ok := byQuery[x.QueryID]; !ok {
			order = append(order, x.QueryID)
		}
		byQuery[x.QueryID] = append(byQuery[x.QueryID], x)
	}
	for _, q := range order {
		xs := byQuery[q]
		for _, p := range xs {
			if !p.Positive {
				continue
			}
			for _, n := range xs {
				if n.Positive {
					continue
				}
				teacher = append(teacher, p.Teacher-n.Teacher)
				student = append(student, p.Student-n.Student)
			}
		}
	}
	return teacher, student
}

// MarginScatter plots the student's margins s(p+) − s(p−) against the teacher's on held-out pairs,
// with Pearson's r and Kendall's τ in the title: what Margin-MSE trains.
func MarginScatter(name string, samples []Sample) (*plot.Plot, error) {
	t, s := Margins(samples)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s vs teacher margins (r = %.3f, τ = %.3f)", name, eval.Pearson(t, s), eval.KendallTau(t, s))
	p.X.Label.Text = "teacher margin t(p+) − t(p−)"
	p.Y.Label.Text = name + " margin s(p+) − s(p−)"
	xy := make(plotter.XYs, len(t))
	for i := range t {
		xy[i] = plotter.XY{X: t[i], Y: s[i]}
	}
	if err := addScatter(p, "", xy, palette[0]); err != nil {
		return nil, err
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// SparsityTradeoff plots SPLADE's nDCG@10 against the average active terms per document over the
// λ_d sweep: the budget trade-off.
func SparsityTradeoff(points []splade.SweepRow) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "SPLADE: effectiveness vs sparsity (λ_d sweep)"
	p.X.Label.Text = "average active terms per document"
	p.Y.Label.Text = "nDCG@10"
	pts := slices.Clone(points)
	slices.SortFunc(pts, func(a, b splade.SweepRow) int { return cmp.Compare(a.AvgDocActive, b.AvgDocActive) })
	xy := make(plotter.XYs, len(pts))
	for i, x := range pts {
		xy[i] = plotter.XY{X: x.AvgDocActive, Y: x.NDCG10}
	}
	if len(xy) == 0 {
		return p, nil
	}
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return nil, err
	}
	l.Color, s.Color = palette[0], palette[0]
	p.Add(l, s)
	labels := make([]string, len(pts))
	for i, x := range pts {
		labels[i] = fmt.Sprintf("λ_d = %g", x.LambdaD)
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return nil, err
	}
	// Each label beside its point, not over it, and room around the points for the labels.
	lab.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(4)}
	p.Add(lab)
	p.Add(plotter.NewGrid())
	padRange(&p.X, 0.08, 0.22)
	padRange(&p.Y, 0.1, 0.15)
	return p, nil
}

// padRange widens an axis's range (as the data set it) by the fractions lo and hi of its span below
// and above, so that labels at the extreme points stay inside the picture.
func padRange(a *plot.Axis, lo, hi float64) {
	span := a.Max - a.Min
	if span <= 0 {
		span = math.Max(math.Abs(a.Max), 1)
	}
	a.Min -= lo * span
	a.Max += hi * span
}

// TopTerms plots a document's top SPLADE terms as horizontal bars, the heaviest on top.
func TopTerms(ex *Example) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Top SPLADE terms of document " + ex.DocID
	p.X.Label.Text = "weight"
	names := make([]string, len(ex.Terms))
	vals := make([]float64, len(ex.Terms))
	for i, t := range ex.Terms {
		names[i], vals[i] = t.Term, t.Weight
	}
	return p, horizontalBars(p, names, vals, 10)
}

// horizontalBars adds one bar per name to p, the first on top (nothing when there are none).
func horizontalBars(p *plot.Plot, names []string, vals []float64, width float64) error {
	n := len(names)
	if n == 0 {
		return nil
	}
	rev := make(plotter.Values, n)
	labels := make([]string, n)
	for i := range names {
		rev[n-1-i], labels[n-1-i] = vals[i], names[i]
	}
	bars, err := plotter.NewBarChart(rev, vg.Points(width))
	if err != nil {
		return err
	}
	bars.Horizontal = true
	bars.Color = palette[0]
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalY(labels...)
	return nil
}

// RecipeComparison plots nDCG@10 of each ColBERT recipe as horizontal bars, the offline baseline
// on top, with the teacher's nDCG@10 (when positive) as a dashed line.
func RecipeComparison(rows []RecipeRow, teacher float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "ColBERT recipes beyond the static answer key"
	p.X.Label.Text = "nDCG@10 (reranking)"
	n := len(rows)
	if n == 0 {
		return p, nil
	}
	names := make([]string, n)
	vals := make([]float64, n)
	for i, r := range rows {
		names[i], vals[i] = r.Recipe, r.NDCG10
	}
	if err := horizontalBars(p, names, vals, 14); err != nil {
		return nil, err
	}
	if teacher > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: teacher, Y: -0.5}, {X: teacher, Y: float64(n) - 0.5}})
		if err != nil {
			return nil, err
		}
		l.Color = palette[1]
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add("teacher", l)
	}
	p.X.Min = 0
	return p, nil
}

// addScatter adds a scatter series (nothing when empty).
func addScatter(p *plot.Plot, label string, xy plotter.XYs, c color.Color) error {
	if len(xy) == 0 {
		return nil
	}
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return err
	}
	s.GlyphStyle.Color = c
	s.GlyphStyle.Radius = vg.Points(2)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(s)
	if label != "" {
		p.Legend.Add(label, s)
	}
	return nil
}

// figureEntry is one figure of the report: its file, caption, how to draw it, and whether the report has
// its data.
type figureEntry struct {
	file, caption string
	make          func() (*plot.Plot, error)
	ok            bool
}

// figureList returns the report's figures in report order.
func figureList(r *Report) []figureEntry {
	d := r.Details
	return []figureEntry{
		{"training_curves.svg", "Training loss of every model, relative to its first logged value: the raw values faint, their moving average solid.",
			func() (*plot.Plot, error) { return TrainingCurves(d.Curves) }, len(d.Curves) > 0},
		{"colbert_scores.svg", "ColBERT (Margin-MSE) scores against the teacher's on held-out answer-key pairs: only margins are trained, so the scales differ.",
			func() (*plot.Plot, error) { return ScoreScatter("ColBERT", d.Samples[SystemColBERT]) }, len(d.Samples[SystemColBERT]) > 0},
		{"colbert_margins.svg", "Student against teacher margins s(p+) − s(p−) on held-out queries: what Margin-MSE fits.",
			func() (*plot.Plot, error) { return MarginScatter("ColBERT", d.Samples[SystemColBERT]) }, len(d.Samples[SystemColBERT]) > 0},
		{"colbert_hard_labels_margins.svg", "The same margins for the hard-label ablation, which never saw the teacher's scores.",
			func() (*plot.Plot, error) {
				return MarginScatter("ColBERT (hard labels)", d.Samples[SystemColBERTHardLabels])
			}, len(d.Samples[SystemColBERTHardLabels]) > 0},
		{"splade_tradeoff.svg", "SPLADE's effectiveness against its average active terms per document, one point per λ_d.",
			func() (*plot.Plot, error) { return SparsityTradeoff(r.SpladeSweep) }, len(r.SpladeSweep) > 0},
		{"frontier_recipes.svg", "nDCG@10 of the ColBERT recipes of the frontier comparison, the same steps and candidates for each; the dashed line is the teacher.",
			func() (*plot.Plot, error) { return RecipeComparison(r.Frontier, r.Systems[SystemTeacher]["nDCG@10"]) }, len(r.Frontier) > 0},
		{"splade_top_terms.svg", "The top expanded terms of one document under the default-λ SPLADE student.",
			func() (*plot.Plot, error) { return TopTerms(d.Example) }, d.Example != nil && len(d.Example.Terms) > 0},
	}
}

// WriteFigures draws the report's figures as SVG files in dir and returns them in report order;
// figures without data are skipped.
func WriteFigures(dir string, r *Report) ([]Figure, error) {
	var out []Figure
	for _, f := range figureList(r) {
		if !f.ok {
			continue
		}
		p, err := f.make()
		if err != nil {
			return nil, fmt.Errorf("figure %s: %w", f.file, err)
		}
		if err := saveSVG(filepath.Join(dir, f.file), p, figureWidth, figureHeight); err != nil {
			return nil, err
		}
		out = append(out, Figure{File: f.file, Caption: f.caption})
	}
	return out, nil
}

// WriteFigure draws p into an SVG file at path, atomically, at the size of the report's figures,
// its legend beside the axes: for a figure drawn outside a report (e.g. `train splade --sweep`'s
// trade-off).
func WriteFigure(path string, p *plot.Plot) error {
	return saveSVG(path, p, figureWidth, figureHeight)
}

// saveSVG draws p into an SVG file, atomically, its legend beside the axes (figure.DrawPlot).
func saveSVG(path string, p *plot.Plot, w, h vg.Length) error {
	c := vgsvg.New(w, h)
	figure.DrawPlot(draw.New(c), p)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return err
	}
	return datasets.WriteFileAtomic(path, func(wr io.Writer) error {
		_, err := io.WriteString(wr, figure.FontFallbacks(buf.String()))
		return err
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
