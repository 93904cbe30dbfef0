package kernel

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// nbconvertTemplate is the HTML template of exported notebooks (`--template mimicry`): JupyterLab's,
// without the scripts it loads from a CDN (require.js, MathJax, Mermaid, the widget manager).
//
//go:embed nbconvert/mimicry
var nbconvertTemplate embed.FS

// MathScript is the script, relative to the repository, that typesets the formulas of an exported
// notebook into inline SVG with MathJax (run by Node.js; its packages are installed by
// `npm ci --prefix kernel/browser`).
const MathScript = "kernel/browser/mathsvg.mjs"

// mathjaxPackage is where `npm ci --prefix kernel/browser` puts MathJax, relative to the repository.
const mathjaxPackage = "kernel/browser/node_modules/mathjax-full"

// Export scans notebooks that were executed elsewhere (e.g. saved from JupyterLab by the browser test)
// for failed cells like [Run] does, and writes their HTML into opts.OutDir (see [Run] for the
// HTML). Only OutDir, Nbconvert, Env, Repo and Log of opts are used. Every notebook is exported even
// when one has failed cells; the error lists every failure.
func Export(ctx context.Context, notebooks []string, opts RunOptions) ([]Result, error) {
	nbconvertPath, outDir, err := prepare(&opts)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(notebooks))
	for _, nb := range notebooks {
		r := Result{Notebook: nb, Executed: nb}
		start := time.Now()
		data, err := os.ReadFile(nb)
		if err == nil {
			r.Failures, err = Scan(data)
			if err != nil {
				err = fmt.Errorf("%s: %w", nb, err)
			}
		}
		if err == nil {
			r.HTML, r.MathNote, err = exportHTML(ctx, nbconvertPath, nb, outDir, opts)
		}
		r.Err, r.Duration = err, time.Since(start)
		results = append(results, r)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	return results, report(results, opts.Log)
}

// exportHTML renders the executed notebook into outDir/<stem>.html with the Mimicry template, then
// typesets its formulas (see [TypesetMath]). The note says when the formulas were left as TeX.
func exportHTML(ctx context.Context, nbconvertPath, executed, outDir string, opts RunOptions) (html, note string, err error) {
	tmpl, err := os.MkdirTemp("", "mimicry-nbconvert-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmpl)
	if err := os.CopyFS(tmpl, mustSub(nbconvertTemplate, "nbconvert")); err != nil {
		return "", "", fmt.Errorf("writing the nbconvert template: %w", err)
	}
	stem := strings.TrimSuffix(filepath.Base(executed), ".ipynb")
	html = filepath.Join(outDir, stem+".html")
	if err := os.Remove(html); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	if err := nbconvert(ctx, nbconvertPath, opts.Env, "--to", "html", "--template=mimicry",
		"--TemplateExporter.extra_template_basedirs="+tmpl, "--output-dir", outDir, executed); err != nil {
		return "", "", fmt.Errorf("HTML rendering: %w", err)
	}
	note, err = TypesetMath(ctx, opts.Repo, html)
	if err != nil {
		os.Remove(html) // nothing half-written: a page with broken formulas is not left behind
		return "", "", err
	}
	return html, note, nil
}

// TypesetMath typesets the TeX formulas of exported notebook pages into inline SVG, in place, with
// the repository's [MathScript] and Node.js, so the pages show them offline and without script.
// repo is the repository (empty: the one containing the working directory). When Node.js or the
// script's packages are missing it changes nothing and returns a note that says how to install them.
func TypesetMath(ctx context.Context, repo string, pages ...string) (note string, err error) {
	if repo == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		if repo, err = FindRepo(wd); err != nil {
			return "formulas left as TeX source: " + err.Error(), nil
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "formulas left as TeX source: Node.js is not installed", nil
	}
	if _, err := os.Stat(filepath.Join(repo, mathjaxPackage)); err != nil {
		return "formulas left as TeX source: run `npm ci --prefix kernel/browser` to typeset them", nil
	}
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(repo, MathScript)}, pages...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("typesetting formulas: %w\n%s", err, lastLines(out.String(), 20))
	}
	return "", nil
}

// report logs one line per result and returns the error listing every failure.
func report(results []Result, logw io.Writer) error {
	var failed []string
	for _, r := range results {
		switch {
		case r.Err != nil:
			fmt.Fprintf(logw, "FAIL %s (%.1fs): %v\n", r.Notebook, r.Duration.Seconds(), r.Err)
			failed = append(failed, fmt.Sprintf("%s: %v", r.Notebook, r.Err))
		case len(r.Failures) > 0:
			fmt.Fprintf(logw, "FAIL %s (%.1fs): %d cell(s) failed → %s, %s\n", r.Notebook, r.Duration.Seconds(), len(r.Failures), r.Executed, r.HTML)
			for _, f := range r.Failures {
				fmt.Fprintf(logw, "    %s\n", f)
				failed = append(failed, fmt.Sprintf("%s: %s", r.Notebook, f))
			}
		default:
			fmt.Fprintf(logw, "ok   %s (%.1fs) → %s, %s\n", r.Notebook, r.Duration.Seconds(), r.Executed, r.HTML)
		}
		if r.MathNote != "" {
			fmt.Fprintf(logw, "     %s\n", r.MathNote)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("notebooks failed:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

// mustSub returns the sub-tree dir of an embedded file system, which exists by construction.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
