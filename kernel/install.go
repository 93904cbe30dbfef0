package kernel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Tool packages installed by [Install]; their versions come from this repository's go.mod (tool
// directives), so every machine gets the same GoNB and goimports.
const (
	// GonbPackage is GoNB, the Go kernel for Jupyter.
	GonbPackage = "github.com/janpfeifer/gonb"
	// GoimportsPackage is goimports, which GoNB runs on every cell to complete its imports.
	GoimportsPackage = "golang.org/x/tools/cmd/goimports"
	// GoplsPackage is gopls, the Go language server GoNB asks for contextual help (Shift+Tab in
	// JupyterLab) and completion (Tab). It is not in go.mod: its dependencies would join the
	// module's, so [Install] installs it at [GoplsVersion] on its own.
	GoplsPackage = "golang.org/x/tools/gopls"
	// GoplsVersion is the gopls release installed: the newest whose go.mod needs no newer Go than
	// this repository's (gopls v0.23.0 needs Go 1.26.0; v0.24.0 needs 1.27).
	GoplsVersion = "v0.23.0"
)

// InstallOptions configures [Install].
type InstallOptions struct {
	// Repo is the Mimicry repository (any directory inside it); empty means the working directory.
	Repo string
	// Prefix, when set, installs the kernelspec under Prefix/share/jupyter/kernels instead of the
	// user's Jupyter data directory.
	Prefix string
	// Name and DisplayName of the kernelspec; empty means [DefaultName] and [DefaultDisplayName].
	Name, DisplayName string
	// Backend, when not empty, is set as GOMLX_BACKEND in the kernel's environment.
	Backend string
	// BinDir, when set, is where `go install` puts gonb and goimports (GOBIN); empty means go's
	// default ($GOBIN, else $GOPATH/bin).
	BinDir string
	// RawErrors makes GoNB report compile errors as plain text (useful for headless runs).
	RawErrors bool
	// Log receives the progress of the installation; nil discards it.
	Log io.Writer
}

// Installed describes what [Install] did.
type Installed struct {
	// SpecDir is the kernelspec directory (holding kernel.json).
	SpecDir string
	// Gonb, Goimports and Gopls are the installed binaries.
	Gonb, Goimports, Gopls string
	// Repo is the repository the kernel's notebooks import.
	Repo string
}

// Install installs gonb and goimports with `go install` from inside the repository (so go.mod pins
// their versions), gopls at [GoplsVersion] beside them, and writes the Mimicry kernelspec (see
// [WriteSpec]).
func Install(ctx context.Context, opts InstallOptions) (*Installed, error) {
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	start := opts.Repo
	if start == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		start = wd
	}
	repo, err := FindRepo(start)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	dir, err := SpecDir(opts.Prefix, name)
	if err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("the go command is not on PATH: install Go 1.26 or later first")
	}
	env, err := goEnv(ctx, goBin, repo, "GOROOT", "GOBIN", "GOPATH", "GOEXE")
	if err != nil {
		return nil, err
	}
	realGo := filepath.Join(env["GOROOT"], "bin", "go"+env["GOEXE"])
	if _, err := os.Stat(realGo); err != nil {
		return nil, fmt.Errorf("go command not found in GOROOT: %w", err)
	}
	binDir := opts.BinDir
	if binDir == "" {
		binDir = env["GOBIN"]
	}
	if binDir == "" {
		gopath := filepath.SplitList(env["GOPATH"])
		if len(gopath) == 0 || gopath[0] == "" {
			return nil, errors.New("neither GOBIN nor GOPATH is set: pass a directory for the binaries")
		}
		binDir = filepath.Join(gopath[0], "bin")
	}
	if binDir, err = filepath.Abs(binDir); err != nil {
		return nil, err
	}

	fmt.Fprintf(logw, "installing %s and %s (versions from %s) into %s\n",
		GonbPackage, GoimportsPackage, filepath.Join(repo, "go.mod"), binDir)
	if err := goInstall(ctx, realGo, repo, binDir, logw, GonbPackage, GoimportsPackage); err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "installing %s@%s into %s\n", GoplsPackage, GoplsVersion, binDir)
	if err := goInstall(ctx, realGo, repo, binDir, logw, GoplsPackage+"@"+GoplsVersion); err != nil {
		return nil, err
	}
	inst := &Installed{
		SpecDir:   dir,
		Gonb:      filepath.Join(binDir, "gonb"+env["GOEXE"]),
		Goimports: filepath.Join(binDir, "goimports"+env["GOEXE"]),
		Gopls:     filepath.Join(binDir, "gopls"+env["GOEXE"]),
		Repo:      repo,
	}
	for _, p := range []string{inst.Gonb, inst.Goimports, inst.Gopls} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("go install reported success but %w", err)
		}
	}
	spec := &Spec{
		Name:        name,
		DisplayName: opts.DisplayName,
		Gonb:        inst.Gonb,
		Go:          realGo,
		Repo:        repo,
		PathDirs:    []string{binDir},
		Backend:     opts.Backend,
		RawErrors:   opts.RawErrors,
	}
	if err := WriteSpec(dir, spec); err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "kernelspec %q (%s) written to %s\n", name, displayNameOr(opts.DisplayName), dir)
	fmt.Fprintf(logw, "notebooks run with it import %s from %s\n", ModulePath, repo)
	if opts.Backend != "" {
		fmt.Fprintf(logw, "%s=%s in the kernel's environment\n", BackendEnvVar, opts.Backend)
	} else {
		fmt.Fprintf(logw, "%s left unset: Mimicry picks the backend (see `mimicry env`)\n", BackendEnvVar)
	}
	return inst, nil
}

// goInstall runs `go install pkgs...` in repo with GOBIN=binDir.
func goInstall(ctx context.Context, goBin, repo, binDir string, logw io.Writer, pkgs ...string) error {
	cmd := exec.CommandContext(ctx, goBin, append([]string{"install"}, pkgs...)...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOBIN="+binDir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(logw, &out), io.MultiWriter(logw, &out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go install %s: %w\n%s", strings.Join(pkgs, " "), err, lastLines(out.String(), 20))
	}
	return nil
}

// displayNameOr returns s, or the default display name when s is empty.
func displayNameOr(s string) string {
	if s == "" {
		return DefaultDisplayName
	}
	return s
}

// FindRepo returns the directory of the go.mod of module [ModulePath] that contains dir (dir itself
// or a parent), made absolute.
func FindRepo(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			if modulePath(data) == ModulePath {
				return d, nil
			}
			return "", fmt.Errorf("%s: module %q, not %s: run this inside a clone of Mimicry (or pass --repo DIR)",
				filepath.Join(d, "go.mod"), modulePath(data), ModulePath)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of %s in %s or its parents: run this inside a clone of Mimicry (or pass --repo DIR)", ModulePath, abs)
		}
	}
}

// goEnv runs `go env -json keys...` in dir.
func goEnv(ctx context.Context, goBin, dir string, keys ...string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, goBin, append([]string{"env", "-json"}, keys...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w\n%s", err, stderr.String())
	}
	env := map[string]string{}
	if err := json.Unmarshal(out, &env); err != nil {
		return nil, fmt.Errorf("go env -json: %w", err)
	}
	return env, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// modulePath returns the module path declared by the go.mod content data, or "" when there is none.
func modulePath(data []byte) string {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '"') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if unq, err := strconv.Unquote(rest); err == nil {
			return unq
		}
		return rest
	}
	return ""
}
