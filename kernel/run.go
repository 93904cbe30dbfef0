package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultOutDir is where [Run] writes executed notebooks and their HTML when no directory is given.
const DefaultOutDir = "build/notebooks"

// DefaultCellTimeout is how long one cell may run under [Run] unless told otherwise.
const DefaultCellTimeout = 20 * time.Minute

// RunOptions configures [Run].
type RunOptions struct {
	// OutDir receives the executed copy (<name>.ipynb) and HTML (<name>.html) of each notebook;
	// empty means [DefaultOutDir].
	OutDir string
	// Kernel is the kernelspec to execute with, whatever the notebooks' metadata says; empty means
	// [DefaultName].
	Kernel string
	// CellTimeout bounds each cell's execution; 0 means [DefaultCellTimeout].
	CellTimeout time.Duration
	// Nbconvert is the nbconvert command; empty means "jupyter-nbconvert" looked up on PATH.
	Nbconvert string
	// Env is added to the environment of nbconvert (e.g. JUPYTER_PATH=… to find a kernelspec).
	Env []string
	// Repo is the Mimicry repository whose kernel/browser typesets the HTML's formulas (see
	// [TypesetMath]); empty means the one containing the working directory.
	Repo string
	// Log receives one line per notebook as it runs; nil discards them.
	Log io.Writer
}

// Result is the outcome of one notebook under [Run].
type Result struct {
	// Notebook is the notebook run; Executed and HTML are its outputs (empty when not written).
	Notebook, Executed, HTML string
	// Failures are the failed cells found by [Scan] in the executed copy.
	Failures []Failure
	// Err is set when nbconvert itself failed (kernel missing or dead, timeout, bad notebook).
	Err error
	// Duration is the wall time of the execution.
	Duration time.Duration
	// MathNote, when set, says why the HTML's formulas were left as TeX source.
	MathNote string
}

// OK reports whether the notebook ran and no cell failed.
func (r *Result) OK() bool { return r.Err == nil && len(r.Failures) == 0 }

// FindNotebooks expands paths into notebook files: a directory stands for the *.ipynb files directly
// inside it (sorted; hidden files and checkpoints skipped, and none is fine), a file must be a
// .ipynb. Two notebooks with the same file name are refused, since their outputs would collide.
func FindNotebooks(paths []string) ([]string, error) {
	var out []string
	byName := map[string]string{}
	add := func(p string) error {
		if prev, dup := byName[filepath.Base(p)]; dup && prev != p {
			return fmt.Errorf("notebooks %s and %s have the same name: their outputs would overwrite each other", prev, p)
		} else if dup {
			return nil
		}
		byName[filepath.Base(p)] = p
		out = append(out, p)
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if filepath.Ext(p) != ".ipynb" {
				return nil, fmt.Errorf("%s: not a notebook (.ipynb)", p)
			}
			if err := add(p); err != nil {
				return nil, err
			}
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || filepath.Ext(n) != ".ipynb" || strings.HasPrefix(n, ".") || strings.HasSuffix(n, "-checkpoint.ipynb") {
				continue
			}
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if err := add(filepath.Join(p, n)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Run executes each notebook with `jupyter nbconvert --to notebook --execute` and the Mimicry
// kernel, writes the executed copy and its HTML into opts.OutDir, and checks every cell with
// [Scan]. All notebooks run even when one fails; the error lists every failure. Cells run with the
// notebook's directory as working directory.
//
// The HTML uses the template kernel/nbconvert/mimicry (JupyterLab's look, no script from a CDN), and
// its formulas are typeset to inline SVG by [TypesetMath], so the pages render offline.
func Run(ctx context.Context, notebooks []string, opts RunOptions) ([]Result, error) {
	if opts.Kernel == "" {
		opts.Kernel = DefaultName
	}
	if err := ValidateName(opts.Kernel); err != nil {
		return nil, err
	}
	if opts.CellTimeout == 0 {
		opts.CellTimeout = DefaultCellTimeout
	}
	if opts.CellTimeout < time.Second {
		return nil, fmt.Errorf("cell timeout %v: must be at least 1s", opts.CellTimeout)
	}
	nbconvertPath, outDir, err := prepare(&opts)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(notebooks))
	for _, nb := range notebooks {
		results = append(results, runOne(ctx, nbconvertPath, nb, outDir, opts))
		if ctx.Err() != nil {
			report(results, opts.Log)
			return results, ctx.Err()
		}
	}
	return results, report(results, opts.Log)
}

// prepare defaults opts' log and output directory, creates the directory, and finds nbconvert.
// It returns nbconvert's path and the directory made absolute.
func prepare(opts *RunOptions) (nbconvertPath, outDir string, err error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.OutDir == "" {
		opts.OutDir = DefaultOutDir
	}
	nbconvertCmd := opts.Nbconvert
	if nbconvertCmd == "" {
		nbconvertCmd = "jupyter-nbconvert"
	}
	if nbconvertPath, err = exec.LookPath(nbconvertCmd); err != nil {
		return "", "", fmt.Errorf("%s not found: install Jupyter's nbconvert (pip install -r docker/requirements.txt, or Debian: apt-get install jupyter-nbconvert) and run `mimicry kernel install`", nbconvertCmd)
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return "", "", err
	}
	if outDir, err = filepath.Abs(opts.OutDir); err != nil {
		return "", "", err
	}
	return nbconvertPath, outDir, nil
}

// runOne executes one notebook into outDir.
func runOne(ctx context.Context, nbconvertPath, nb, outDir string, opts RunOptions) (r Result) {
	r.Notebook = nb
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()

	stem := strings.TrimSuffix(filepath.Base(nb), ".ipynb")
	executed := filepath.Join(outDir, stem+".ipynb")
	if src, err := filepath.Abs(nb); err != nil {
		r.Err = err
		return r
	} else if sameFile(src, executed) {
		r.Err = fmt.Errorf("the executed copy would overwrite the notebook itself: choose another output directory")
		return r
	}
	// A stale copy from an earlier run must not be mistaken for this run's.
	for _, p := range []string{executed, filepath.Join(outDir, stem+".html")} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.Err = err
			return r
		}
	}
	timeout := strconv.Itoa(int(opts.CellTimeout.Round(time.Second) / time.Second))
	if err := nbconvert(ctx, nbconvertPath, opts.Env,
		"--to", "notebook", "--execute", "--allow-errors",
		"--ExecutePreprocessor.kernel_name="+opts.Kernel,
		"--ExecutePreprocessor.timeout="+timeout,
		"--output-dir", outDir, "--output", stem, nb); err != nil {
		r.Err = err
		return r
	}
	r.Executed = executed
	data, err := os.ReadFile(executed)
	if err != nil {
		r.Err = fmt.Errorf("nbconvert wrote no executed copy: %w", err)
		return r
	}
	if r.Failures, err = Scan(data); err != nil {
		r.Err = fmt.Errorf("%s: %w", executed, err)
		return r
	}
	r.HTML, r.MathNote, r.Err = exportHTML(ctx, nbconvertPath, executed, outDir, opts)
	return r
}

// nbconvert runs `jupyter-nbconvert args...`, returning its log's tail on failure.
func nbconvert(ctx context.Context, command string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, command, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		hint := ""
		if strings.Contains(out.String(), "No such kernel") {
			hint = "\n(install the kernel with `mimicry kernel install`)"
		}
		return fmt.Errorf("jupyter nbconvert %s: %w\n%s%s", strings.Join(args, " "), err, lastLines(out.String(), 25), hint)
	}
	return nil
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
