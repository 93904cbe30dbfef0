// Package kernel turns GoNB (github.com/janpfeifer/gonb) into the Mimicry Jupyter kernel and runs
// Mimicry's notebooks headlessly.
//
// [Install] (the `mimicry kernel install` command) installs gonb and goimports at the versions pinned
// by this repository's go.mod, and registers the kernelspec [DefaultName] ("gonb-mimicry", shown as
// "Go (Mimicry)") in the user's Jupyter data directory (or under a prefix). GoNB's own `--install`
// is not used: it always writes a kernelspec named "gonb" with no environment, and refuses to
// finish without gopls. Install also installs gopls ([GoplsVersion]), which GoNB asks for contextual
// help (Shift+Tab in JupyterLab) and completion. The kernelspec's environment:
//
//   - puts a small `go` wrapper first on the kernel's PATH. GoNB creates one Go module per kernel
//     session, in a fresh temporary directory, with `go mod init gonb_<id>`; the wrapper follows that
//     command with `go mod edit -replace github.com/mimicry-ir/mimicry=<repository>` and a matching
//     require, so every notebook, opened from any directory, imports this clone of Mimicry rather
//     than a published version (the same edit that GoNB's `%goworkfix` makes, done before the first
//     cell runs, and again after `%reset go.mod`), and seeds the new module's go.sum with the
//     repository's, so that gopls can load Mimicry's packages at once. Every other `go` command
//     passes through unchanged;
//   - sets MIMICRY_REPO to the repository, so notebooks can find its files;
//   - sets GOMLX_BACKEND only when a backend was asked for, so by default Mimicry's own selection
//     (models/backend) applies.
//
// [Run] (the `mimicry kernel run` command) executes notebooks with `jupyter nbconvert --execute` and
// that kernel, writes the executed copies and their HTML renderings, and fails when any cell failed.
// nbconvert alone only notices compile errors: GoNB reports a cell program that panics or exits with
// a non-zero status as text on the cell's standard error, so [Scan] reads every output of the
// executed notebook for errors, panics and exit statuses. [Export] does the same for notebooks
// executed elsewhere, such as those the browser test saves from JupyterLab. The HTML of both comes
// from the template nbconvert/mimicry (JupyterLab's, without the scripts nbconvert loads from a CDN),
// and [TypesetMath] typesets its formulas into inline SVG offline, so the pages open anywhere.
//
// kernel/browser holds the browser test: the notebooks opened, run and checked in JupyterLab in
// headless Chromium (see its README.md); CI runs it.
//
// The display helpers shared by the notebooks (plots as inline SVG, tables, a live training chart)
// live in the sub-package kernel/display.
package kernel
