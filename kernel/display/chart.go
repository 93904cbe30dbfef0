package display

import (
	"fmt"
	"html"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/mimicry-ir/mimicry/distill/report/figure"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ChartOptions configures a [Chart]. The zero value is a usable loss chart.
type ChartOptions struct {
	// Title is drawn above the chart.
	Title string
	// XLabel and YLabel name the axes; empty means "step" and "loss".
	XLabel, YLabel string
	// LogY draws the y axis on a log scale (non-positive values are then left out).
	LogY bool
	// Every is the shortest time between two redraws while points arrive: 0 means one second, a
	// negative value redraws on every point.
	Every time.Duration
	// Width and Height of the picture; zero means figure.DefaultWidth and figure.DefaultHeight.
	Width, Height vg.Length
	// MaxPoints bounds the points drawn per series: longer series are averaged into that many
	// buckets (all points are kept). 0 means 1000.
	MaxPoints int
	// Raw draws each series as it is; by default a series of 10 points or more is drawn faint with
	// its moving average on top (see [figure.AddCurve]).
	Raw bool
	// Output receives the chart; nil means Current() at each redraw.
	Output Output
}

// Chart is a live training chart: curves of (step, value) points, such as the training loss and
// evaluation measures, redrawn in place in one output block of the running cell as points arrive.
// Its methods are safe for concurrent use.
//
// Typical use in a notebook cell, with a distill/train Trainer:
//
//	chart := display.NewChart(display.ChartOptions{Title: "ColBERT distillation"})
//	trainer.OnLog = func(r train.Record) { chart.Add("train loss", r.Step, r.Loss) }
//	_, err := trainer.Run()
//	if err := errors.Join(err, chart.Flush()); err != nil { ... }
type Chart struct {
	mu       sync.Mutex
	opts     ChartOptions
	id       string
	series   []*series
	lastDraw time.Time
	pending  bool
	now      func() time.Time
}

// series is one named curve.
type series struct {
	name    string
	x, y    []float64
	skipped int // non-finite values (and non-positive ones on a log scale) not drawn
}

// NewChart returns an empty chart; nothing is shown until the first point arrives.
func NewChart(opts ChartOptions) *Chart {
	if opts.XLabel == "" {
		opts.XLabel = "step"
	}
	if opts.YLabel == "" {
		opts.YLabel = "loss"
	}
	if opts.Every == 0 {
		opts.Every = time.Second
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 1000
	}
	return &Chart{opts: opts, id: UniqueID(), now: time.Now}
}

// ID returns the id of the chart's output block.
func (c *Chart) ID() string { return c.id }

// Add records value at step in the named series (created on first use) and redraws the chart when
// the last redraw is older than ChartOptions.Every. Non-finite values are recorded but not drawn
// (the caption counts them). It returns the error of the redraw, if one happened and failed.
func (c *Chart) Add(name string, step int, value float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s *series
	for _, t := range c.series {
		if t.name == name {
			s = t
			break
		}
	}
	if s == nil {
		s = &series{name: name}
		c.series = append(c.series, s)
	}
	s.x = append(s.x, float64(step))
	s.y = append(s.y, value)
	c.pending = true
	if c.lastDraw.IsZero() || c.opts.Every < 0 || c.now().Sub(c.lastDraw) >= c.opts.Every {
		return c.drawLocked()
	}
	return nil
}

// Flush redraws the chart if points arrived since the last redraw. Call it when training ends so
// the block shows every point.
func (c *Chart) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pending {
		return nil
	}
	return c.drawLocked()
}

// HTML renders the chart as it is now: the plot's SVG and a caption with each series' last and
// smallest value.
func (c *Chart) HTML() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.htmlLocked()
}

// drawLocked sends the chart to its output block.
func (c *Chart) drawLocked() error {
	doc, err := c.htmlLocked()
	if err != nil {
		return err
	}
	out := c.opts.Output
	if out == nil {
		out = Current()
	}
	c.lastDraw = c.now()
	c.pending = false
	return out.Update(c.id, doc)
}

// htmlLocked renders the chart; c.mu is held.
func (c *Chart) htmlLocked() (string, error) {
	p := plot.New()
	p.Title.Text = c.opts.Title
	p.X.Label.Text = c.opts.XLabel
	p.Y.Label.Text = c.opts.YLabel
	if c.opts.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	drawn := 0
	yMin, yMax := math.Inf(1), math.Inf(-1)
	for i, s := range c.series {
		xys := c.pointsLocked(s)
		if len(xys) == 0 {
			continue
		}
		drawn += len(xys)
		for _, q := range xys {
			yMin, yMax = math.Min(yMin, q.Y), math.Max(yMax, q.Y)
		}
		if len(xys) == 1 { // a line needs two points: show a lone point as a dot
			dot, err := plotter.NewScatter(xys)
			if err != nil {
				return "", fmt.Errorf("display: chart series %q: %w", s.name, err)
			}
			dot.Color = plotutil.Color(i)
			dot.Shape = draw.CircleGlyph{}
			p.Add(dot)
			p.Legend.Add(s.name, dot)
			continue
		}
		if c.opts.Raw {
			line, err := plotter.NewLine(xys)
			if err != nil {
				return "", fmt.Errorf("display: chart series %q: %w", s.name, err)
			}
			line.Color = plotutil.Color(i)
			line.Width = vg.Points(1.5)
			p.Add(line)
			p.Legend.Add(s.name, line)
		} else if err := figure.AddCurve(p, s.name, xys, plotutil.Color(i)); err != nil {
			return "", fmt.Errorf("display: chart series %q: %w", s.name, err)
		}
	}
	if c.opts.LogY && drawn > 0 && yMin == yMax {
		// gonum/plot widens a flat range by ±1, which can cross zero on a log scale.
		p.Y.Min, p.Y.Max = yMin/2, yMax*2
	}
	var b strings.Builder
	b.WriteString(`<div class="mimicry-chart">`)
	if drawn == 0 {
		fmt.Fprintf(&b, `<div style="font-style:italic">%s: no point to draw yet</div>`, html.EscapeString(orDefault(c.opts.Title, "chart")))
	} else {
		svg, err := figure.PlotSVG(p, c.opts.Width, c.opts.Height)
		if err != nil {
			return "", err
		}
		b.WriteString(svg)
	}
	b.WriteString(`<div style="font-family:monospace;font-size:90%">`)
	for i, s := range c.series {
		if i > 0 {
			b.WriteString("<br/>")
		}
		b.WriteString(html.EscapeString(summary(s, c.opts.XLabel)))
	}
	b.WriteString("</div></div>")
	return b.String(), nil
}

// pointsLocked returns the drawable points of s, averaged into at most MaxPoints buckets, and
// updates its count of skipped values.
func (c *Chart) pointsLocked(s *series) plotter.XYs {
	xys := make(plotter.XYs, 0, len(s.x))
	s.skipped = 0
	for i := range s.x {
		y := s.y[i]
		if math.IsNaN(y) || math.IsInf(y, 0) || (c.opts.LogY && y <= 0) {
			s.skipped++
			continue
		}
		xys = append(xys, plotter.XY{X: s.x[i], Y: y})
	}
	n := c.opts.MaxPoints
	if len(xys) <= n {
		return xys
	}
	out := make(plotter.XYs, n)
	for b := range n {
		lo, hi := b*len(xys)/n, (b+1)*len(xys)/n
		var sx, sy float64
		for _, q := range xys[lo:hi] {
			sx += q.X
			sy += q.Y
		}
		k := float64(hi - lo)
		out[b] = plotter.XY{X: sx / k, Y: sy / k}
	}
	return out
}

// summary describes a series in one line: its last value, its smallest, and what was skipped.
func summary(s *series, xLabel string) string {
	if len(s.y) == 0 {
		return s.name + ": no value"
	}
	last := len(s.y) - 1
	text := fmt.Sprintf("%s: %.4g at %s %g", s.name, s.y[last], xLabel, s.x[last])
	minI := -1
	for i, y := range s.y {
		if !math.IsNaN(y) && (minI < 0 || y < s.y[minI]) {
			minI = i
		}
	}
	if minI >= 0 && len(s.y) > 1 {
		text += fmt.Sprintf(" (min %.4g at %s %g)", s.y[minI], xLabel, s.x[minI])
	}
	if s.skipped > 0 {
		text += fmt.Sprintf(", %d value(s) not drawn", s.skipped)
	}
	return text
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
