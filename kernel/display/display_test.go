package display

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// captureOutput routes the showing helpers to a buffer for the test's duration.
func captureOutput(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	prev := SetOutput(Writer(&buf))
	t.Cleanup(func() { SetOutput(prev) })
	return &buf
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

func TestTable(t *testing.T) {
	tab := Table{Caption: "Results <v1>", Header: []string{"model", "nDCG@10", "queries", "note"}}
	tab.AddRow("BM25 & co", 0.57191, 200, template.HTML("<b>baseline</b>"))
	tab.AddRow("<script>alert(1)</script>", float32(0.5), int64(-3), nil)
	tab.AddRow("nan", math.NaN(), math.Inf(-1))
	got := tab.HTML()
	for _, want := range []string{
		`<caption style="font-weight:bold;text-align:left">Results &lt;v1&gt;</caption>`,
		`>nDCG@10</th>`,
		`<td style="padding:2px 8px;text-align:left">BM25 &amp; co</td>`,
		`<td style="padding:2px 8px;text-align:right">0.5719</td>`,
		`<td style="padding:2px 8px;text-align:right">200</td>`,
		`<b>baseline</b>`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`>0.5000<`, `>-3<`, `>NaN<`, `>−Inf<`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table HTML lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<script>") {
		t.Error("a cell's markup was not escaped")
	}
	checkWellFormed(t, "table", got)

	tab.Digits = -1
	if got := tab.HTML(); !strings.Contains(got, ">0.57191<") {
		t.Errorf("Digits -1 does not give the shortest form:\n%s", got)
	}
	tab.Digits = 1
	if got := tab.HTML(); !strings.Contains(got, ">0.6<") {
		t.Errorf("Digits 1:\n%s", got)
	}

	buf := captureOutput(t)
	if err := tab.Show(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `<table class="mimicry-table"`) {
		t.Errorf("Show displayed %.80q", buf.String())
	}
}

// fakeClock is a controllable time source for Chart.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestChartRedrawsInPlace(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(1000, 0)}
	c := NewChart(ChartOptions{Title: "loss", Every: time.Second, Output: Writer(&buf)})
	c.now = clock.now
	marker := fmt.Sprintf("<!-- update %s -->", c.ID())
	updates := func() int { return strings.Count(buf.String(), marker) }

	if err := c.Flush(); err != nil || updates() != 0 {
		t.Fatalf("Flush of an empty chart: %v, %d updates", err, updates())
	}
	for step := 1; step <= 5; step++ { // within one second: only the first point redraws
		if err := c.Add("train", step, 1/float64(step)); err != nil {
			t.Fatal(err)
		}
		clock.t = clock.t.Add(100 * time.Millisecond)
	}
	if updates() != 1 {
		t.Errorf("%d updates after 5 points in 0.5 s, want 1", updates())
	}
	clock.t = clock.t.Add(time.Second)
	if err := c.Add("dev nDCG@10", 5, 0.4); err != nil {
		t.Fatal(err)
	}
	if updates() != 2 {
		t.Errorf("%d updates after the interval passed, want 2", updates())
	}
	if err := c.Add("train", 6, math.NaN()); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if updates() != 3 {
		t.Errorf("%d updates after two flushes, want 3 (the second has nothing new)", updates())
	}
	last := buf.String()[strings.LastIndex(buf.String(), marker)+len(marker):]
	for _, want := range []string{"train: NaN at step 6 (min 0.2 at step 5), 1 value(s) not drawn", "dev nDCG@10: 0.4 at step 5", ">train</text>", "<svg "} {
		if !strings.Contains(last, want) {
			t.Errorf("last update lacks %q:\n%s", want, last)
		}
	}
	checkWellFormed(t, "chart", strings.TrimSpace(last))
}

func TestChartEdgeCases(t *testing.T) {
	buf := captureOutput(t) // Output nil: the chart follows Current()
	c := NewChart(ChartOptions{LogY: true, Every: -1})
	if err := c.Add("loss", 0, 0); err != nil { // not drawable on a log scale
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "no point to draw yet") || !strings.Contains(buf.String(), "1 value(s) not drawn") {
		t.Errorf("a chart without drawable points:\n%s", buf.String())
	}
	if err := c.Add("loss", 1, 0.5); err != nil { // one point: drawn as a dot
		t.Fatal(err)
	}
	if err := c.Add("loss", 2, 0.25); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "<!-- update "+c.ID()); n != 3 {
		t.Errorf("Every < 0: %d updates for 3 points", n)
	}
}

func TestChartDownsamples(t *testing.T) {
	c := NewChart(ChartOptions{MaxPoints: 10})
	s := &series{name: "x"}
	for i := range 1000 {
		s.x = append(s.x, float64(i))
		s.y = append(s.y, float64(i%7))
	}
	pts := c.pointsLocked(s)
	if len(pts) != 10 {
		t.Fatalf("%d points drawn, want 10", len(pts))
	}
	var sum float64
	for _, p := range pts {
		sum += p.Y
	}
	var want float64
	for _, y := range s.y {
		want += y
	}
	if math.Abs(sum/10-want/1000) > 1e-9 {
		t.Errorf("bucket means average to %v, want %v", sum/10, want/1000)
	}
	if pts[0].X != 49.5 || pts[9].X != 949.5 {
		t.Errorf("bucket centres %v … %v, want 49.5 … 949.5", pts[0].X, pts[9].X)
	}
}

func TestChartConcurrentAdds(t *testing.T) {
	var buf bytes.Buffer
	c := NewChart(ChartOptions{Every: -1, Output: Writer(&buf)})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if err := c.Add(fmt.Sprintf("s%d", g), i, float64(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	html, err := c.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for g := range 4 {
		if !strings.Contains(html, fmt.Sprintf("s%d: 19 at step 19", g)) {
			t.Errorf("series s%d incomplete", g)
		}
	}
}

// failingOutput fails every call.
type failingOutput struct{}

func (failingOutput) Display(string) error        { return errors.New("front-end gone") }
func (failingOutput) Update(string, string) error { return errors.New("front-end gone") }

func TestOutputs(t *testing.T) {
	// Tests do not run under GoNB: the notebook output refuses and the default drops.
	if err := Notebook().Display("<b>x</b>"); !errors.Is(err, ErrNotNotebook) {
		t.Errorf("Notebook().Display outside a notebook: %v", err)
	}
	if Current() != Discard {
		t.Errorf("default output outside a notebook is %T, want Discard", Current())
	}
	if err := HTML("<i>dropped</i>"); err != nil {
		t.Error(err)
	}
	prev := SetOutput(failingOutput{})
	if err := HTML("x"); err == nil {
		t.Error("an Output's error was not returned")
	}
	c := NewChart(ChartOptions{Every: -1})
	if err := c.Add("loss", 1, 1); err == nil {
		t.Error("a chart's redraw error was not returned")
	}
	if SetOutput(prev) == nil {
		t.Error("SetOutput did not return the previous output")
	}
	var buf bytes.Buffer
	w := Writer(&buf)
	if err := errors.Join(w.Display("a"), w.Update("id1", "b")); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "a\n<!-- update id1 -->\nb\n" {
		t.Errorf("Writer wrote %q", buf.String())
	}
	if a, b := UniqueID(), UniqueID(); a == b || !strings.HasPrefix(a, "mimicry_") {
		t.Errorf("UniqueID: %q, %q", a, b)
	}
}

// TestPlot shows a plot on the current output, as figure.PlotSVG renders it.
func TestPlot(t *testing.T) {
	buf := captureOutput(t)
	p := plot.New()
	p.Title.Text = "shown"
	if err := Plot(p, 0, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `<div class="mimicry-plot"><!-- Generated by SVGo`) || !strings.Contains(buf.String(), "shown") {
		t.Errorf("Plot displayed %.120q", buf.String())
	}
}
