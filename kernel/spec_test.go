package kernel

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// realGo returns the absolute path of the go command running the tests.
func realGo(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin", "go")
}

func readKernelJSON(t *testing.T, dir string) kernelJSON {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var k kernelJSON
	if err := json.Unmarshal(data, &k); err != nil {
		t.Fatalf("kernel.json is not JSON: %v\n%s", err, data)
	}
	return k
}

func TestWriteSpec(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kernels", DefaultName)
	spec := &Spec{Gonb: "/opt/go/bin/gonb", Go: "/usr/local/go/bin/go", Repo: "/src/mimicry", PathDirs: []string{"/opt/go/bin"}}
	if err := WriteSpec(dir, spec); err != nil {
		t.Fatal(err)
	}
	k := readKernelJSON(t, dir)
	if want := []string{"/opt/go/bin/gonb", "--kernel", "{connection_file}"}; strings.Join(k.Argv, " ") != strings.Join(want, " ") {
		t.Errorf("argv = %q, want %q", k.Argv, want)
	}
	if k.DisplayName != DefaultDisplayName || k.Language != "go" || k.InterruptMode != "message" {
		t.Errorf("display_name %q, language %q, interrupt_mode %q", k.DisplayName, k.Language, k.InterruptMode)
	}
	wantPath := strings.Join([]string{filepath.Join(dir, "bin"), "/opt/go/bin", "/usr/local/go/bin", "${PATH}"}, string(os.PathListSeparator))
	if k.Env["PATH"] != wantPath {
		t.Errorf("PATH = %q, want %q", k.Env["PATH"], wantPath)
	}
	if k.Env[RepoEnvVar] != "/src/mimicry" {
		t.Errorf("%s = %q", RepoEnvVar, k.Env[RepoEnvVar])
	}
	if v, ok := k.Env[BackendEnvVar]; ok {
		t.Errorf("%s = %q is set without a backend: Mimicry's own selection must apply", BackendEnvVar, v)
	}
	for name, mode := range map[string]os.FileMode{"bin/go": 0o755, "logo-svg.svg": 0o644, "kernel.json": 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), mode)
		}
	}

	// Rewriting with a backend, raw errors and another name replaces the files.
	spec.Backend, spec.RawErrors, spec.DisplayName = "xla:cuda", true, "Go (Mimicry, GPU)"
	if err := WriteSpec(dir, spec); err != nil {
		t.Fatal(err)
	}
	k = readKernelJSON(t, dir)
	if k.Env[BackendEnvVar] != "xla:cuda" {
		t.Errorf("%s = %q, want xla:cuda", BackendEnvVar, k.Env[BackendEnvVar])
	}
	if k.Argv[len(k.Argv)-1] != "--raw_error" || k.DisplayName != "Go (Mimicry, GPU)" {
		t.Errorf("argv %q, display name %q", k.Argv, k.DisplayName)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

func TestWriteSpecRejects(t *testing.T) {
	ok := Spec{Gonb: "/b/gonb", Go: "/g/go", Repo: "/r"}
	cases := map[string]func(s *Spec){
		"relative gonb":      func(s *Spec) { s.Gonb = "gonb" },
		"missing repository": func(s *Spec) { s.Repo = "" },
		"bad name":           func(s *Spec) { s.Name = "go mimicry" },
		"PATH separator":     func(s *Spec) { s.PathDirs = []string{"/a:/b"} },
		"backend newline":    func(s *Spec) { s.Backend = "go\nx" },
	}
	for name, mutate := range cases {
		s := ok
		mutate(&s)
		dir := filepath.Join(t.TempDir(), "k")
		if err := WriteSpec(dir, &s); err == nil {
			t.Errorf("%s: WriteSpec accepted %+v", name, s)
		} else if _, statErr := os.Stat(dir); statErr == nil {
			t.Errorf("%s: rejected spec still created %s", name, dir)
		}
	}
}

// TestGoWrapper runs the installed `go` wrapper the way GoNB does and checks that the new module is
// pointed at the repository, that other modules are left alone, and that paths with spaces and
// quotes survive.
func TestGoWrapper(t *testing.T) {
	goBin := realGo(t)
	repo := filepath.Join(t.TempDir(), "my repo's clone")
	specDir := filepath.Join(t.TempDir(), "kernels", "k")
	if err := WriteSpec(specDir, &Spec{Name: "k", Gonb: "/x/gonb", Go: goBin, Repo: repo}); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(specDir, "bin", "go")
	modJSON := func(dir string) (m struct {
		Require []struct{ Path, Version string }
		Replace []struct {
			Old, New struct{ Path, Version string }
		}
	}) {
		out, err := exec.Command(goBin, "mod", "edit", "-json", filepath.Join(dir, "go.mod")).Output()
		if err != nil {
			t.Fatalf("go mod edit -json: %v", err)
		}
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	run := func(dir string, args ...string) {
		cmd := exec.Command(wrapper, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wrapper %q: %v\n%s", args, err, out)
		}
	}

	const sum = "example.com/dep v1.0.0 h1:abc=\n"
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "go.sum"), []byte(sum), 0o644); err != nil {
		t.Fatal(err)
	}
	gonbDir := t.TempDir()
	run(gonbDir, "mod", "init", "gonb_0a1b2c3d")
	if got, err := os.ReadFile(filepath.Join(gonbDir, "go.sum")); err != nil || string(got) != sum {
		t.Errorf("the new module's go.sum is %q (%v), want the repository's %q", got, err, sum)
	}
	m := modJSON(gonbDir)
	if len(m.Replace) != 1 || m.Replace[0].Old.Path != ModulePath || m.Replace[0].New.Path != repo {
		t.Errorf("replace = %+v, want %s => %s", m.Replace, ModulePath, repo)
	}
	if len(m.Require) != 1 || m.Require[0].Path != ModulePath || m.Require[0].Version != zeroPseudoVersion {
		t.Errorf("require = %+v, want %s %s", m.Require, ModulePath, zeroPseudoVersion)
	}

	otherDir := t.TempDir()
	run(otherDir, "mod", "init", "example.com/other")
	if m := modJSON(otherDir); len(m.Replace) != 0 || len(m.Require) != 0 {
		t.Errorf("a module not created by GoNB was edited: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(otherDir, "go.sum")); err == nil {
		t.Error("a module not created by GoNB got a go.sum")
	}

	// Failures of the real command come through with their status.
	cmd := exec.Command(wrapper, "mod", "init", "gonb_again")
	cmd.Dir = gonbDir // go.mod exists already
	if err := cmd.Run(); err == nil {
		t.Error("wrapper hid the failure of go mod init")
	}
}

func TestUserDataDir(t *testing.T) {
	t.Setenv("JUPYTER_DATA_DIR", "/data/jupyter")
	if d, err := UserDataDir(); err != nil || d != "/data/jupyter" {
		t.Errorf("with JUPYTER_DATA_DIR: %q, %v", d, err)
	}
	t.Setenv("JUPYTER_DATA_DIR", "")
	t.Setenv("HOME", "/home/learner")
	t.Setenv("XDG_DATA_HOME", "")
	d, err := UserDataDir()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"darwin": "/home/learner/Library/Jupyter"}
	if w, ok := want[runtime.GOOS]; ok {
		if d != w {
			t.Errorf("data dir %q, want %q", d, w)
		}
	} else if runtime.GOOS != "windows" {
		if d != "/home/learner/.local/share/jupyter" {
			t.Errorf("data dir %q, want ~/.local/share/jupyter", d)
		}
		t.Setenv("XDG_DATA_HOME", "/xdg")
		if d, _ := UserDataDir(); d != "/xdg/jupyter" {
			t.Errorf("with XDG_DATA_HOME: %q", d)
		}
	}
}

func TestSpecDir(t *testing.T) {
	d, err := SpecDir("/opt/venv", DefaultName)
	if err != nil || d != "/opt/venv/share/jupyter/kernels/gonb-mimicry" {
		t.Errorf("SpecDir with prefix = %q, %v", d, err)
	}
	t.Setenv("JUPYTER_DATA_DIR", "/data")
	if d, err := SpecDir("", "x"); err != nil || d != "/data/kernels/x" {
		t.Errorf("SpecDir = %q, %v", d, err)
	}
	if _, err := SpecDir("", "../evil"); err == nil {
		t.Error("SpecDir accepted a name with a path")
	}
}

func TestFindRepo(t *testing.T) {
	repo, err := FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, "kernel", "spec.go")); err != nil {
		t.Errorf("FindRepo(.) = %s, which does not hold kernel/spec.go", repo)
	}
	if got, err := FindRepo(filepath.Join(repo, "kernel", "testdata")); err != nil || got != repo {
		t.Errorf("FindRepo(kernel/testdata) = %q, %v; want %q", got, err, repo)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindRepo(other); err == nil || !strings.Contains(err.Error(), "example.com/other") {
		t.Errorf("FindRepo in another module: %v", err)
	}
}

func TestModulePath(t *testing.T) {
	cases := map[string]string{
		"module github.com/mimicry-ir/mimicry\n\ngo 1.26\n":       ModulePath,
		"// comment\nmodule \"github.com/mimicry-ir/mimicry\"\n":  ModulePath,
		"module github.com/mimicry-ir/mimicry // trailing note\n": ModulePath,
		"go 1.26\n":                       "",
		"modules x\nmodule example.com\n": "example.com",
	}
	for in, want := range cases {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}
