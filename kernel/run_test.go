package kernel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func touch(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindNotebooks(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.ipynb", "a.ipynb", ".hidden.ipynb", "a-checkpoint.ipynb", "notes.md", "sub/c.ipynb"} {
		touch(t, filepath.Join(dir, n), "{}")
	}
	got, err := FindNotebooks([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "a.ipynb"), filepath.Join(dir, "b.ipynb")}; !reflect.DeepEqual(got, want) {
		t.Errorf("FindNotebooks(dir) = %q, want %q", got, want)
	}
	// A file and the directory holding it count once.
	if got, err := FindNotebooks([]string{filepath.Join(dir, "b.ipynb"), dir}); err != nil || len(got) != 2 {
		t.Errorf("FindNotebooks(file, dir) = %q, %v", got, err)
	}
	if got, err := FindNotebooks([]string{t.TempDir()}); err != nil || len(got) != 0 {
		t.Errorf("an empty directory gives %q, %v; want nothing and no error", got, err)
	}
	if _, err := FindNotebooks([]string{filepath.Join(dir, "notes.md")}); err == nil {
		t.Error("a non-notebook file was accepted")
	}
	if _, err := FindNotebooks([]string{filepath.Join(dir, "missing.ipynb")}); err == nil {
		t.Error("a missing file was accepted")
	}
	if _, err := FindNotebooks([]string{filepath.Join(dir, "a.ipynb"), filepath.Join(dir, "sub")}); err != nil {
		t.Errorf("different names refused: %v", err)
	}
	touch(t, filepath.Join(dir, "other", "a.ipynb"), "{}")
	if _, err := FindNotebooks([]string{dir, filepath.Join(dir, "other")}); err == nil || !strings.Contains(err.Error(), "same name") {
		t.Errorf("two notebooks named a.ipynb: %v", err)
	}
}

// fakeNbconvert writes a stand-in for `jupyter-nbconvert` that "executes" a notebook by copying it (the test's
// notebooks are already executed) and "renders" HTML by writing a stub, and logs its arguments.
func fakeNbconvert(t *testing.T) (path, argLog string) {
	t.Helper()
	dir := t.TempDir()
	argLog = filepath.Join(dir, "args.log")
	path = filepath.Join(dir, "jupyter-nbconvert")
	script := `#!/bin/sh
echo "$*" >> '` + argLog + `'
to= outdir= output= input=
while [ $# -gt 0 ]; do
	case "$1" in
	--to) to=$2; shift ;;
	--output-dir) outdir=$2; shift ;;
	--output) output=$2; shift ;;
	--*) ;;
	*) input=$1 ;;
	esac
	shift
done
case "$input" in *kernel-missing*) echo "jupyter_client.kernelspec.NoSuchKernel: No such kernel named gonb-mimicry" >&2; exit 1 ;; esac
stem=$(basename "$input" .ipynb)
if [ "$to" = notebook ]; then cp "$input" "$outdir/$output.ipynb"; else echo "<html></html>" > "$outdir/$stem.html"; fi
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, argLog
}

// TestRunWithFakeNbconvert checks Run's plumbing without Jupyter: the arguments given to nbconvert,
// the outputs, failures found in the executed copy, nbconvert's own failure, and the refusal to
// overwrite a notebook with its executed copy.
func TestRunWithFakeNbconvert(t *testing.T) {
	nbconvert, argLog := fakeNbconvert(t)
	src := t.TempDir()
	for _, n := range []string{"ok", "panic"} {
		data, err := os.ReadFile(filepath.Join("testdata", "executed", n+".ipynb"))
		if err != nil {
			t.Fatal(err)
		}
		touch(t, filepath.Join(src, n+".ipynb"), string(data))
	}
	touch(t, filepath.Join(src, "kernel-missing.ipynb"), "{}")
	out := filepath.Join(t.TempDir(), "out")
	touch(t, filepath.Join(out, "panic.html"), "stale")

	var log strings.Builder
	nbs := []string{filepath.Join(src, "ok.ipynb"), filepath.Join(src, "panic.ipynb"), filepath.Join(src, "kernel-missing.ipynb")}
	results, err := Run(context.Background(), nbs, RunOptions{OutDir: out, Nbconvert: nbconvert, CellTimeout: 90 * time.Second, Log: &log})
	if err == nil {
		t.Fatal("Run succeeded although a cell panicked and a kernel was missing")
	}
	for _, want := range []string{"panic.ipynb: cell 3 [2]: panic: assignment to entry in nil map", "kernel-missing.ipynb", "mimicry kernel install"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	if r := results[0]; !r.OK() || r.Executed != filepath.Join(out, "ok.ipynb") || r.HTML != filepath.Join(out, "ok.html") {
		t.Errorf("ok.ipynb: %+v", r)
	}
	if r := results[1]; r.OK() || r.Err != nil || len(r.Failures) != 1 || r.HTML == "" {
		t.Errorf("panic.ipynb: %+v", r)
	}
	if html, _ := os.ReadFile(filepath.Join(out, "panic.html")); string(html) == "stale" {
		t.Error("the stale HTML of an earlier run was kept")
	}
	if r := results[2]; r.Err == nil || r.Executed != "" {
		t.Errorf("kernel-missing.ipynb: %+v", r)
	}
	if !strings.Contains(log.String(), "ok   "+nbs[0]) || !strings.Contains(log.String(), "FAIL "+nbs[1]) {
		t.Errorf("log:\n%s", log.String())
	}
	args, err := os.ReadFile(argLog)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(args), "\n", 2)[0]
	for _, want := range []string{"--to notebook --execute --allow-errors", "--ExecutePreprocessor.kernel_name=gonb-mimicry", "--ExecutePreprocessor.timeout=90", "--output ok"} {
		if !strings.Contains(first, want) {
			t.Errorf("nbconvert arguments %q lack %q", first, want)
		}
	}

	// The executed copy must never replace the notebook.
	results, err = Run(context.Background(), nbs[:1], RunOptions{OutDir: src, Nbconvert: nbconvert})
	if err == nil || len(results) != 1 || results[0].Err == nil || !strings.Contains(results[0].Err.Error(), "overwrite") {
		t.Errorf("running into the notebooks' own directory: %v, %+v", err, results)
	}
	if data, _ := os.ReadFile(nbs[0]); len(data) < 100 {
		t.Error("the source notebook was damaged")
	}

	if _, err := Run(context.Background(), nbs, RunOptions{Nbconvert: filepath.Join(t.TempDir(), "no-nbconvert")}); err == nil || !strings.Contains(err.Error(), "jupyter-nbconvert") {
		t.Errorf("missing jupyter: %v", err)
	}
}

// findTool looks a Go-installed tool up on PATH, then in $GOBIN and $GOPATH/bin.
func findTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var dirs []string
	if len(lines) > 0 && lines[0] != "" {
		dirs = append(dirs, lines[0])
	}
	if len(lines) > 1 {
		for _, p := range filepath.SplitList(lines[1]) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, name)); err == nil && !st.IsDir() {
			return filepath.Join(d, name)
		}
	}
	return ""
}

// TestRunNotebooks executes kernel/testdata/ok.ipynb and panic.ipynb with the real GoNB and
// nbconvert, through a kernelspec written for the test: the clean notebook (which imports this
// repository's kernel/display) passes, the panicking one fails although nbconvert succeeds on it.
// It needs jupyter-nbconvert (Debian: apt-get install jupyter-nbconvert) and gonb and goimports
// (`mimicry kernel install`); CI installs them.
func TestRunNotebooks(t *testing.T) {
	// .ci/run sets MIMICRY_REQUIRE_JUPYTER=1 after installing the tools: there the test must run.
	skip := t.Skip
	if os.Getenv("MIMICRY_REQUIRE_JUPYTER") == "1" {
		skip = t.Fatal
	}
	if _, err := exec.LookPath("jupyter-nbconvert"); err != nil {
		skip("jupyter-nbconvert is not installed (Debian: apt-get install jupyter-nbconvert): skipping the notebook run")
	}
	gonb, goimports := findTool(t, "gonb"), findTool(t, "goimports")
	if gonb == "" || goimports == "" {
		skip("gonb or goimports is not installed (run `go run ./cmd/mimicry kernel install`): skipping the notebook run")
	}
	repo, err := FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	jupyterPath := t.TempDir()
	const name = "gonb-mimicry-test"
	spec := &Spec{Name: name, Gonb: gonb, Go: realGo(t), Repo: repo, PathDirs: []string{filepath.Dir(goimports)}}
	if err := WriteSpec(filepath.Join(jupyterPath, "kernels", name), spec); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log strings.Builder
	nbs := []string{filepath.Join("testdata", "ok.ipynb"), filepath.Join("testdata", "panic.ipynb")}
	results, err := Run(ctx, nbs, RunOptions{
		OutDir: out, Kernel: name, CellTimeout: 3 * time.Minute, Log: &log,
		Env: []string{"JUPYTER_PATH=" + jupyterPath},
	})
	t.Logf("runner output:\n%s", log.String())
	if err == nil {
		t.Fatal("the runner passed a notebook whose cell panics")
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	if r := results[0]; !r.OK() {
		t.Errorf("ok.ipynb failed: %v %v", r.Err, r.Failures)
	}
	executed, err := os.ReadFile(filepath.Join(out, "ok.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`mimicry-plot`, `mimicry-table`, `mimicry-chart`, `train: 0.03333 at step 30`, `MIMICRY_REPO is set: true`} {
		if !strings.Contains(string(executed), want) {
			t.Errorf("executed ok.ipynb lacks %q", want)
		}
	}
	r := results[1]
	if r.Err != nil {
		t.Fatalf("panic.ipynb: nbconvert itself failed (it should succeed and leave the detection to Scan): %v", r.Err)
	}
	if len(r.Failures) != 1 || r.Failures[0].Cell != 3 || !strings.HasPrefix(r.Failures[0].Reasons[0], "panic: assignment to entry in nil map") {
		t.Errorf("panic.ipynb failures = %v, want the panic of cell 3", r.Failures)
	}
	for _, f := range []string{"ok.html", "panic.html", "panic.ipynb"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	// The HTML loads nothing from outside (nbconvert's own template fetches MathJax and require.js).
	html, err := os.ReadFile(filepath.Join(out, "ok.html"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`<script[^>]*\bsrc=|https?://[^"' ]*\.m?js\b`).Find(html); m != nil {
		t.Errorf("ok.html loads a script: %s", m)
	}
	if !strings.Contains(string(html), "mimicry-chart") {
		t.Error("ok.html lacks the live chart's last picture")
	}
}

// TestExportWithFakeNbconvert checks Export: notebooks executed elsewhere are scanned, not run again,
// and each gets its HTML even when another failed.
func TestExportWithFakeNbconvert(t *testing.T) {
	nbconvert, argLog := fakeNbconvert(t)
	out := filepath.Join(t.TempDir(), "out")
	nbs := []string{filepath.Join("testdata", "executed", "ok.ipynb"), filepath.Join("testdata", "executed", "panic.ipynb")}
	results, err := Export(context.Background(), nbs, RunOptions{OutDir: out, Nbconvert: nbconvert})
	if err == nil || !strings.Contains(err.Error(), "panic.ipynb: cell 3 [2]: panic: assignment to entry in nil map") {
		t.Errorf("Export error = %v, want the panic of panic.ipynb's cell 3", err)
	}
	if len(results) != 2 || !results[0].OK() || results[1].OK() || results[1].HTML != filepath.Join(out, "panic.html") {
		t.Fatalf("results = %+v", results)
	}
	args, err := os.ReadFile(argLog)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(args), "--execute") || strings.Count(string(args), "--to html --template=mimicry") != 2 {
		t.Errorf("nbconvert was called with:\n%s", args)
	}
}
