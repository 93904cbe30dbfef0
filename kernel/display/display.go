// Package display renders what Mimicry's notebooks show — gonum plots as inline SVG, HTML tables,
// a training chart that updates in place while a cell runs — and sends it to the notebook.
//
// Everything is self-contained HTML and SVG: no JavaScript, nothing fetched from a CDN, so the
// notebooks and their HTML exports render offline.
//
// Each helper has a rendering half that returns a string (PlotSVG, Table.HTML, Chart.HTML), usable
// and testable anywhere, and a showing half (Plot, Table.Show, Chart.Add/Flush) that sends the HTML
// to the current [Output]: GoNB's front-end inside a notebook (through gonbui), and nothing
// elsewhere — or any Output set with [SetOutput], such as [Writer] in tests.
package display

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/mimicry-ir/mimicry/distill/report/figure"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Output receives rendered HTML.
type Output interface {
	// Display shows html as a new output of the running cell.
	Display(html string) error
	// Update shows html in the output block named id: the block is created on first use and its
	// content replaced thereafter (a "transient" display in Jupyter's terms).
	Update(id, html string) error
}

// ErrNotNotebook is returned by the [Notebook] output when the program was not started by GoNB.
var ErrNotNotebook = errors.New("display: not running inside a GoNB notebook")

// notebookOutput sends HTML to GoNB's front-end.
type notebookOutput struct{}

// Notebook returns the Output that sends HTML to the notebook through gonbui. Outside a GoNB
// notebook its methods return [ErrNotNotebook].
func Notebook() Output { return notebookOutput{} }

// Display implements [Output].
func (notebookOutput) Display(html string) error {
	if !gonbui.IsNotebook {
		return ErrNotNotebook
	}
	gonbui.DisplayHTML(html)
	return syncGonbui()
}

// Update implements [Output].
func (notebookOutput) Update(id, html string) error {
	if !gonbui.IsNotebook {
		return ErrNotNotebook
	}
	gonbui.UpdateHTML(id, html)
	return syncGonbui()
}

// syncGonbui waits until GoNB has handed everything sent so far to the front-end, and reports a
// broken connection. GoNB stops reading the display pipe as soon as the cell's program exits, so
// without the wait a plot shown just before the end of a cell can be lost (seen in CI: a table
// and a plot missing from an executed notebook whose later cells displayed fine).
func syncGonbui() error {
	if err := gonbui.Error(); err != nil {
		return fmt.Errorf("display: sending to the notebook: %w", err)
	}
	gonbui.Sync()
	if err := gonbui.Error(); err != nil {
		return fmt.Errorf("display: sending to the notebook: %w", err)
	}
	return nil
}

// discardOutput drops everything.
type discardOutput struct{}

func (discardOutput) Display(string) error        { return nil }
func (discardOutput) Update(string, string) error { return nil }

// Discard is the Output that drops everything: the default outside a notebook.
var Discard Output = discardOutput{}

// writerOutput writes fragments to an io.Writer.
type writerOutput struct {
	mu sync.Mutex
	w  io.Writer
}

// Writer returns an Output that writes each displayed fragment to w followed by a newline, and each
// update as an HTML comment naming the block (`<!-- update ID -->`) followed by the fragment. It
// serialises concurrent calls.
func Writer(w io.Writer) Output { return &writerOutput{w: w} }

// Display implements [Output].
func (o *writerOutput) Display(html string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err := fmt.Fprintln(o.w, html)
	return err
}

// Update implements [Output].
func (o *writerOutput) Update(id, html string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err := fmt.Fprintf(o.w, "<!-- update %s -->\n%s\n", id, html)
	return err
}

var (
	currentMu sync.Mutex
	current   Output
)

// Current returns the Output the showing helpers use: the one set by [SetOutput], else [Notebook]
// inside a GoNB notebook and [Discard] elsewhere.
func Current() Output {
	currentMu.Lock()
	defer currentMu.Unlock()
	if current != nil {
		return current
	}
	if gonbui.IsNotebook {
		return Notebook()
	}
	return Discard
}

// SetOutput makes o the Output of the showing helpers (nil restores the default) and returns the
// previous setting (nil when it was the default).
func SetOutput(o Output) Output {
	currentMu.Lock()
	defer currentMu.Unlock()
	prev := current
	current = o
	return prev
}

// HTML shows an HTML fragment on the current Output.
func HTML(html string) error { return Current().Display(html) }

// UniqueID returns a fresh id for an [Output.Update] block.
func UniqueID() string { return "mimicry_" + gonbui.UniqueId() }

// Plot shows p, rendered by figure.PlotSVG, on the current Output; a zero width or height takes
// figure.DefaultWidth or figure.DefaultHeight.
func Plot(p *plot.Plot, width, height vg.Length) error {
	svg, err := figure.PlotSVG(p, width, height)
	if err != nil {
		return err
	}
	return Current().Display(`<div class="mimicry-plot">` + svg + `</div>`)
}
