package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/mimicry-ir/mimicry/internal/files"
)

// ModulePath is the module path of this repository: the module GoNB's per-session modules are
// redirected to.
const ModulePath = "github.com/mimicry-ir/mimicry"

// DefaultName is the directory name of the Mimicry kernelspec, the name given to
// `jupyter nbconvert --ExecutePreprocessor.kernel_name` and stored in notebooks' metadata.
const DefaultName = "gonb-mimicry"

// DefaultDisplayName is the name Jupyter shows in its kernel chooser.
const DefaultDisplayName = "Go (Mimicry)"

// BackendEnvVar is GoMLX's backend selection variable, set in the kernel's environment only when a
// backend is asked for (see models/backend).
const BackendEnvVar = "GOMLX_BACKEND"

// RepoEnvVar is the variable, set in the kernel's environment, that holds the absolute path of the
// Mimicry repository the kernel imports.
const RepoEnvVar = "MIMICRY_REPO"

// zeroPseudoVersion is the version required for a module that only a replace directive provides
// (what `go mod tidy` writes for such a module).
const zeroPseudoVersion = "v0.0.0-00010101000000-000000000000"

// Spec describes a kernelspec to write: what [WriteSpec] needs besides the directory.
type Spec struct {
	// Name is the kernelspec directory name; empty means [DefaultName].
	Name string
	// DisplayName is shown in Jupyter's kernel chooser; empty means [DefaultDisplayName].
	DisplayName string
	// Gonb is the absolute path of the gonb binary.
	Gonb string
	// Go is the absolute path of the real go command the wrapper calls.
	Go string
	// Repo is the absolute path of the Mimicry repository (the directory of its go.mod).
	Repo string
	// PathDirs are directories put on the kernel's PATH after the wrapper's and before the
	// inherited PATH (e.g. where goimports is installed).
	PathDirs []string
	// Backend, when not empty, is written as GOMLX_BACKEND in the kernel's environment.
	Backend string
	// RawErrors makes GoNB report compile errors as plain text rather than HTML (its --raw_error).
	RawErrors bool
}

// kernelJSON is the kernel.json file of a Jupyter kernelspec:
// https://jupyter-client.readthedocs.io/en/latest/kernels.html#kernel-specs
type kernelJSON struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode"`
	Env           map[string]string `json:"env"`
	Metadata      map[string]any    `json:"metadata,omitempty"`
}

// name returns the kernelspec name, defaulted.
func (s *Spec) name() string {
	if s.Name == "" {
		return DefaultName
	}
	return s.Name
}

// validate checks the fields WriteSpec relies on.
func (s *Spec) validate() error {
	if err := ValidateName(s.name()); err != nil {
		return err
	}
	for what, p := range map[string]string{"gonb": s.Gonb, "go": s.Go, "repository": s.Repo} {
		if p == "" {
			return fmt.Errorf("kernelspec: the path of %s is missing", what)
		}
		if !filepath.IsAbs(p) {
			return fmt.Errorf("kernelspec: the path of %s must be absolute, got %q", what, p)
		}
	}
	for _, d := range s.PathDirs {
		if !filepath.IsAbs(d) || strings.Contains(d, string(os.PathListSeparator)) {
			return fmt.Errorf("kernelspec: PATH entry %q must be an absolute path without %q", d, os.PathListSeparator)
		}
	}
	if strings.ContainsAny(s.Backend, "\n\x00") {
		return fmt.Errorf("kernelspec: backend %q contains a control character", s.Backend)
	}
	return nil
}

// ValidateName checks that name can be a kernelspec name: Jupyter accepts ASCII letters, digits,
// '-', '.' and '_'.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("kernelspec name is empty")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
		if !ok {
			return fmt.Errorf("kernelspec name %q: only ASCII letters, digits, '-', '.' and '_' are allowed", name)
		}
	}
	return nil
}

// kernelJSONFor builds the kernel.json of s, whose directory is dir.
func kernelJSONFor(s *Spec, dir string) *kernelJSON {
	argv := []string{s.Gonb, "--kernel", "{connection_file}"}
	if s.RawErrors {
		argv = append(argv, "--raw_error")
	}
	path := []string{filepath.Join(dir, "bin")}
	seen := map[string]bool{path[0]: true}
	for _, d := range append(append([]string(nil), s.PathDirs...), filepath.Dir(s.Go)) {
		if !seen[d] {
			seen[d] = true
			path = append(path, d)
		}
	}
	// jupyter_client (>= 7) substitutes ${PATH} with the server's PATH when it starts the kernel.
	path = append(path, "${PATH}")
	env := map[string]string{
		"PATH":     strings.Join(path, string(os.PathListSeparator)),
		RepoEnvVar: s.Repo,
	}
	if s.Backend != "" {
		env[BackendEnvVar] = s.Backend
	}
	displayName := s.DisplayName
	if displayName == "" {
		displayName = DefaultDisplayName
	}
	return &kernelJSON{
		Argv:          argv,
		DisplayName:   displayName,
		Language:      "go",
		InterruptMode: "message",
		Env:           env,
		Metadata:      map[string]any{"mimicry": map[string]string{"repository": s.Repo}},
	}
}

// goWrapper returns the POSIX shell script installed as `go` first on the kernel's PATH: it runs the
// real go command, and after GoNB's `go mod init gonb_<id>` it points the new module at the local
// repository and copies the repository's go.sum into it.
func goWrapper(realGo, repo string) string {
	return `#!/bin/sh
# Installed by "mimicry kernel install". GoNB starts each kernel session with
# "go mod init gonb_<id>" in a fresh directory; this wrapper then makes that module import the local
# Mimicry repository (a replace directive plus a matching require) instead of a published version,
# and starts its go.sum from the repository's, so that gopls (contextual help) can load Mimicry's
# packages before the first cell has run. Every other go command runs unchanged.
real_go=` + shellQuote(realGo) + `
repo=` + shellQuote(repo) + `
if [ "$#" -eq 3 ] && [ "$1" = mod ] && [ "$2" = init ]; then
	case "$3" in
	gonb_*)
		"$real_go" "$@" || exit $?
		if [ -f "$repo/go.sum" ] && [ ! -e go.sum ]; then cp "$repo/go.sum" go.sum || exit $?; fi
		exec "$real_go" mod edit -replace="` + ModulePath + `=$repo" -require="` + ModulePath + `@` + zeroPseudoVersion + `"
		;;
	esac
fi
exec "$real_go" "$@"
`
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// logoSVG is the kernel's logo in Jupyter's launcher: a stylised "M" over a gopher-blue square.
const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
<rect width="64" height="64" rx="10" fill="#00add8"/>
<path d="M12 50V14h8l12 18 12-18h8v36h-8V28L32 44 20 28v22z" fill="#fff"/>
</svg>
`

// WriteSpec writes the kernelspec s into dir (…/kernels/<name>): kernel.json, logo-svg.svg and the
// bin/go wrapper. The directory is created when missing; existing files are replaced.
func WriteSpec(dir string, s *Spec) error {
	if err := s.validate(); err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		return errors.New("kernelspec: GoNB does not run on Windows (use WSL)")
	}
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		dir = abs
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return fmt.Errorf("kernelspec: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(kernelJSONFor(s, dir)); err != nil {
		return fmt.Errorf("kernelspec: %w", err)
	}
	specFiles := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"bin/go", []byte(goWrapper(s.Go, s.Repo)), 0o755},
		{"logo-svg.svg", []byte(logoSVG), 0o644},
		{"kernel.json", buf.Bytes(), 0o644}, // last: a kernelspec is visible once kernel.json exists
	}
	for _, f := range specFiles {
		if err := files.WriteBytes(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("kernelspec: %w", err)
		}
	}
	return nil
}

// UserDataDir returns the user's Jupyter data directory, as jupyter_core computes it:
// $JUPYTER_DATA_DIR when set; else ~/Library/Jupyter on macOS, %APPDATA%\jupyter on Windows, and
// $XDG_DATA_HOME/jupyter (default ~/.local/share/jupyter) elsewhere.
func UserDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Abs(d)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the Jupyter data directory (set JUPYTER_DATA_DIR or use --prefix): %w", err)
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Jupyter"), nil
	case "windows":
		if a := os.Getenv("APPDATA"); a != "" {
			return filepath.Join(a, "jupyter"), nil
		}
		return filepath.Join(home, "AppData", "Roaming", "jupyter"), nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// SpecDir returns the directory of kernelspec name: under prefix/share/jupyter/kernels when prefix
// is not empty (like `jupyter kernelspec install --prefix`), else under the user's data directory.
func SpecDir(prefix, name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if prefix != "" {
		abs, err := filepath.Abs(prefix)
		if err != nil {
			return "", err
		}
		return filepath.Join(abs, "share", "jupyter", "kernels", name), nil
	}
	data, err := UserDataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(data, "kernels", name), nil
}
