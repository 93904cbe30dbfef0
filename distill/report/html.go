package report

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/report/figure"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"gonum.org/v1/plot/vg"
)

// HTMLFile is the name of the page [WriteHTML] writes into a run directory.
const HTMLFile = "report.html"

// Link is a link of the report page to another page, such as an executed notebook's HTML.
type Link struct {
	// Title is the text of the link; Href its target, relative to the page.
	Title, Href string
}

// figureSize is the size of the report's figures, in the page as in figures/*.svg.
var figureWidth, figureHeight = 6 * vg.Inch, 4 * vg.Inch

// pageStyle keeps the page readable offline: system fonts, tables that scroll inside their own box
// rather than widen the page, figures that shrink to the column.
const pageStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;line-height:1.5;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem;line-height:1.25}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;display:block;overflow-x:auto;max-width:100%;margin:1rem 0;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.25rem .6rem}th{background:#f4f4f4}tbody tr:nth-child(even){background:#fafafa}
td:not(:first-child){font-variant-numeric:tabular-nums}
figure{margin:1.5rem 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.92rem}
nav{background:#f4f8fb;border:1px solid #d8e4ee;padding:.5rem 1rem;border-radius:4px}nav ul{margin:.3rem 0}
code{background:#f4f4f4;padding:0 .2rem}`

// imgRE matches the <img> goldmark writes for a figure of Markdown's figure list.
var imgRE = regexp.MustCompile(`<p><img src="figures/([^"]+)" alt="[^"]*"\s*/?></p>`)

// HTML renders the report as one self-contained page: the text and tables of [Markdown], every
// figure drawn inline as SVG (no file to fetch, no script), and links, listed on top, to pages such
// as the executed notebooks.
func HTML(r *Report, links []Link) (string, error) {
	figs, svgs, err := renderFigures(r)
	if err != nil {
		return "", err
	}
	var body bytes.Buffer
	md := goldmark.New(goldmark.WithExtensions(extension.Table))
	if err := md.Convert([]byte(Markdown(r, figs)), &body); err != nil {
		return "", fmt.Errorf("report: rendering Markdown: %w", err)
	}
	var missing []string
	page := imgRE.ReplaceAllStringFunc(body.String(), func(m string) string {
		file := imgRE.FindStringSubmatch(m)[1]
		svg, ok := svgs[file]
		if !ok {
			missing = append(missing, file)
			return m
		}
		return `<figure>` + svg + `</figure>`
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("report: figures %q are in the Markdown but were not drawn", missing)
	}
	// Markdown gives each figure its caption in italics right after it: make it the figure's caption.
	page = regexp.MustCompile(`</figure>\s*<p><em>([^<]*)</em></p>`).ReplaceAllString(page, `<figcaption>$1</figcaption></figure>`)

	var b strings.Builder
	title := "Report"
	if m := regexp.MustCompile(`<h1[^>]*>(.*?)</h1>`).FindStringSubmatch(page); m != nil {
		title = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], "")
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", title, pageStyle)
	if len(links) > 0 {
		b.WriteString("<nav><strong>Notebooks of this run</strong><ul>\n")
		for _, l := range links {
			fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(l.Href), html.EscapeString(l.Title))
		}
		b.WriteString("</ul></nav>\n")
	}
	b.WriteString(page)
	b.WriteString("</body>\n</html>\n")
	return b.String(), nil
}

// renderFigures draws the report's figures (those [WriteFigures] writes) as inline SVG, by file name.
func renderFigures(r *Report) ([]Figure, map[string]string, error) {
	var figs []Figure
	svgs := map[string]string{}
	for _, f := range figureList(r) {
		if !f.ok {
			continue
		}
		p, err := f.make()
		if err != nil {
			return nil, nil, fmt.Errorf("figure %s: %w", f.file, err)
		}
		svg, err := figure.PlotSVG(p, figureWidth, figureHeight)
		if err != nil {
			return nil, nil, fmt.Errorf("figure %s: %w", f.file, err)
		}
		figs = append(figs, Figure{File: f.file, Caption: f.caption})
		svgs[f.file] = svg
	}
	return figs, svgs, nil
}

// NotebookLinks lists the executed notebooks' pages (*.html) in dir, sorted, as links relative to
// the directory of the page that will hold them (from). A missing dir is an error.
func NotebookLinks(dir, from string) ([]Link, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var links []Link
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".html" {
			continue
		}
		absDir, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		absFrom, err := filepath.Abs(from)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(absFrom, filepath.Join(absDir, e.Name()))
		if err != nil {
			return nil, err
		}
		links = append(links, Link{Title: strings.TrimSuffix(e.Name(), ".html"), Href: filepath.ToSlash(rel)})
	}
	slices.SortFunc(links, func(a, b Link) int { return strings.Compare(a.Title, b.Title) })
	return links, nil
}

// WriteHTML reads dir/report.json and writes the page of [HTML] to dir/report.html, atomically,
// linking the executed notebooks' pages found in notebooks (none when notebooks is empty). It
// returns the page's path.
func WriteHTML(dir, notebooks string) (string, error) {
	r, err := Read(filepath.Join(dir, "report.json"))
	if err != nil {
		return "", err
	}
	var links []Link
	if notebooks != "" {
		if links, err = NotebookLinks(notebooks, dir); err != nil {
			return "", fmt.Errorf("notebook pages: %w", err)
		}
		if len(links) == 0 {
			return "", fmt.Errorf("notebook pages: no .html file in %s", notebooks)
		}
	}
	page, err := HTML(r, links)
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dir, "report.json"), err)
	}
	out := filepath.Join(dir, HTMLFile)
	return out, datasets.WriteFileAtomic(out, func(w io.Writer) error {
		_, err := io.WriteString(w, page)
		return err
	})
}
