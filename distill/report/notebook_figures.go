package report

import (
	"fmt"

	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/losses"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ScoreHistograms plots two overlaid histograms of scores, e.g. the teacher's scores of judged
// positives and of the other candidates in the answer key (annotate.ScoreDistributions).
func ScoreHistograms(title, labelA string, a []float64, labelB string, b []float64, bins int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "score"
	p.Y.Label.Text = "fraction of pairs"
	for i, s := range []struct {
		label string
		xs    []float64
	}{{labelA, a}, {labelB, b}} {
		if len(s.xs) == 0 {
			continue
		}
		h, err := plotter.NewHist(plotter.Values(s.xs), bins)
		if err != nil {
			return nil, fmt.Errorf("histogram %s: %w", s.label, err)
		}
		h.Normalize(1)
		h.LineStyle.Color = palette[i*3%len(palette)]
		h.FillColor = nil
		h.LineStyle.Width = vg.Points(1.5)
		p.Add(h)
		p.Legend.Add(fmt.Sprintf("%s (%d)", s.label, len(s.xs)), h)
	}
	p.Legend.Top = true
	return p, nil
}

// simGrid adapts a MaxSim explanation to plotter.GridXYZ: x = passage token, y = query token.
type simGrid struct{ ex *colbert.Explanation }

func (g simGrid) Dims() (c, r int)   { return len(g.ex.DocTokens), len(g.ex.QueryTokens) }
func (g simGrid) Z(c, r int) float64 { return float64(g.ex.Similarity[len(g.ex.QueryTokens)-1-r][c]) }
func (g simGrid) X(c int) float64    { return float64(c) }
func (g simGrid) Y(r int) float64    { return float64(r) }

// MaxSimHeatMap draws the token-level cosine similarities of a ColBERT explanation: one row per query
// token (top to bottom), one column per passage token; the score is the sum of each row's maximum.
func MaxSimHeatMap(ex *colbert.Explanation) (*plot.Plot, error) {
	if len(ex.DocTokens) == 0 || len(ex.QueryTokens) == 0 {
		return nil, fmt.Errorf("maxsim heat map: no tokens")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("MaxSim: query tokens × passage tokens (score %.2f = Σ row maxima)", ex.Score)
	h := plotter.NewHeatMap(simGrid{ex}, moreland.SmoothBlueRed().Palette(64))
	p.Add(h)
	n := len(ex.QueryTokens)
	rows := make([]string, n)
	for i, t := range ex.QueryTokens {
		rows[n-1-i] = t
	}
	p.NominalX(ex.DocTokens...)
	p.NominalY(rows...)
	p.X.Tick.Label.Rotation = 1.2
	p.X.Tick.Label.XAlign = -1
	return p, nil
}

// SparsityWarmup plots λ(t) = λ·min(1, t/T)², SPLADE's quadratic warm-up of the sparsity weight.
func SparsityWarmup(lambda float64, warmup, steps int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("λ(t) = λ·min(1, t/T)², λ = %g, T = %d", lambda, warmup)
	p.X.Label.Text = "step t"
	p.Y.Label.Text = "λ(t)"
	xy := make(plotter.XYs, steps+1)
	for t := range xy {
		xy[t] = plotter.XY{X: float64(t), Y: losses.SparsityWeight(lambda, t, warmup)}
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, err
	}
	l.Color = palette[0]
	p.Add(l, plotter.NewGrid())
	return p, nil
}

// ActiveTerms plots the average active (non-zero) terms per document logged during SPLADE training,
// one line per run.
func ActiveTerms(curves map[string][]CurvePoint) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "SPLADE: active terms per document during training"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "active terms / document"
	err := addCurves(p, curves, func(pts []CurvePoint, j int) (float64, bool) { return pts[j].Active, pts[j].Active > 0 })
	return p, err
}
