package backend

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
)

func TestSearcherCPUPluginFileNames(t *testing.T) {
	for _, name := range []string{"pjrt_c_api_cpu_plugin.so", "pjrt-plugin-cpu.so", "pjrt_plugin_cpu.so",
		"libpjrt_cpu.so", "xla_cpu_pjrt.so"} {
		if !pluginFileRE[kindCPU].MatchString(name) {
			t.Errorf("%q not recognised as an XLA CPU PJRT plugin", name)
		}
		if pluginFileRE[kindCUDA].MatchString(name) {
			t.Errorf("%q wrongly recognised as a CUDA PJRT plugin", name)
		}
	}
	for _, name := range []string{"pjrt_c_api_cuda_plugin.so", "libpjrt_cpu.so.1", "pjrt_c_api_cpu_plugin.so.bak",
		"xla_cuda_plugin.so", "cpu_plugin.so", "libcpu.so"} {
		if pluginFileRE[kindCPU].MatchString(name) {
			t.Errorf("%q wrongly recognised as an XLA CPU PJRT plugin", name)
		}
	}
}

// venvSite returns the site-packages directory of a virtual environment at dir/.venv.
func venvSite(dir string) string {
	return filepath.Join(dir, ".venv", "lib", "python3.11", "site-packages")
}

func TestSearcherCPUPluginInVenvAboveWorkingDir(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	pkgDir := filepath.Join(repo, "models", "backend")
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	want := touch(t, filepath.Join(venvSite(repo), "lammps_jax_pjrt_cpu", "pjrt_c_api_cpu_plugin.so"))
	// A .venv further up holds a less preferred package: it is found only from above the nearer one.
	touch(t, filepath.Join(venvSite(root), "xla_plugins", "xla_cpu_pjrt", "xla_cpu_pjrt.so"))

	env := map[string]string{}
	s := fakeSearcher(env, defaultSitePackageGlobs(func(k string) string { return env[k] }, "", pkgDir), nil)
	got, where := s.findCPUPlugin()
	if got != want || !strings.Contains(where, "lammps-jax-pjrt-cpu") || !strings.Contains(where, venvSite(repo)) {
		t.Fatalf("findCPUPlugin() from %s = %q (%s), want %q", pkgDir, got, where, want)
	}
	if p, _ := s.findCUDAPlugin(); p != "" {
		t.Errorf("findCUDAPlugin() = %q, want none", p)
	}
	plan, fromEnv := s.plan()
	if fromEnv {
		t.Errorf("plan() says it used GOMLX_BACKEND")
	}
	if !xlaCompiled {
		if len(plan) != 1 || plan[0].Config != SimpleGoConfig || !strings.Contains(plan[0].Reason, "without the XLA backend") {
			t.Errorf("plan() without XLA = %+v", plan)
		}
		return
	}
	if len(plan) != 2 || plan[0].Config != "xla:"+want+",shared_buffers" || plan[0].Plugin != want || !plan[0].probe ||
		!strings.Contains(plan[0].Reason, "XLA CPU PJRT plugin found") || plan[1].Config != SimpleGoConfig {
		t.Errorf("plan() = %+v, want XLA-CPU on %s then SimpleGo", plan, want)
	}

	// From the root, only the root's .venv is seen: its package is found.
	s = fakeSearcher(env, defaultSitePackageGlobs(func(k string) string { return env[k] }, "", root), nil)
	if got, where := s.findCPUPlugin(); !strings.HasPrefix(got, venvSite(root)) || !strings.Contains(where, "xla-cpu-pjrt") {
		t.Errorf("findCPUPlugin() from %s = %q (%s)", root, got, where)
	}
}

func TestSearcherCPUPackagesOrderAndPlaces(t *testing.T) {
	root := t.TempDir()
	sp1 := filepath.Join(root, "a", "lib", "python3.11", "site-packages")
	sp2 := filepath.Join(root, "b", "lib", "python3.12", "site-packages")
	fas := touch(t, filepath.Join(sp1, "fastatomstruct_xla_cpu", "libpjrt_cpu.so"))
	xcp := touch(t, filepath.Join(sp2, "xla_plugins", "xla_cpu_pjrt", "xla_cpu_pjrt.so"))
	glob := filepath.Join(root, "*", "lib", "python3*", "site-packages")
	s := fakeSearcher(nil, []string{glob}, nil)
	if got, where := s.findCPUPlugin(); got != xcp || !strings.Contains(where, "xla-cpu-pjrt") {
		t.Errorf("xla-cpu-pjrt is preferred to fastatomstruct-xla-cpu wherever it is: got %q (%s)", got, where)
	}
	lammps := touch(t, filepath.Join(sp2, "lammps_jax_pjrt_cpu", "pjrt_c_api_cpu_plugin.so"))
	if got, _ := s.findCPUPlugin(); got != lammps {
		t.Errorf("lammps-jax-pjrt-cpu is preferred: got %q, want %q", got, lammps)
	}
	// Found through python3's answer only.
	s = fakeSearcher(nil, nil, []string{sp1})
	if got, where := s.findCPUPlugin(); got != fas || !strings.Contains(where, "fastatomstruct-xla-cpu") {
		t.Errorf("from python: got %q (%s), want %q", got, where, fas)
	}
	// PJRT_PLUGIN_LIBRARY_PATH comes first, with go-xla's file name.
	dir := t.TempDir()
	pEnv := touch(t, filepath.Join(dir, "pjrt_c_api_cpu_plugin.so"))
	s = fakeSearcher(map[string]string{PluginPathEnvVar: dir}, []string{glob}, nil)
	if got, where := s.findCPUPlugin(); got != pEnv || !strings.Contains(where, PluginPathEnvVar) {
		t.Errorf("env dir first: got %q (%s), want %q", got, where, pEnv)
	}
}

func TestSearcherCUDABeatsCPU(t *testing.T) {
	if !xlaCompiled {
		t.Skip("built without the XLA backend")
	}
	root := t.TempDir()
	sp := filepath.Join(root, "venv", "lib", "python3.11", "site-packages")
	cuda := touch(t, filepath.Join(sp, "jax_plugins", "xla_cuda12", "xla_cuda_plugin.so"))
	cpu := touch(t, filepath.Join(sp, "lammps_jax_pjrt_cpu", "pjrt_c_api_cpu_plugin.so"))
	s := fakeSearcher(nil, []string{sp}, nil)
	plan, _ := s.plan()
	var configs []string
	for _, c := range plan {
		configs = append(configs, c.Config)
	}
	want := []string{"xla:" + cuda, "xla:" + cpu + ",shared_buffers", SimpleGoConfig}
	if !slices.Equal(configs, want) {
		t.Fatalf("plan() configs = %q, want %q", configs, want)
	}
	if plan[0].probe || !plan[1].probe {
		t.Errorf("only the XLA CPU choice should be probed: %+v", plan)
	}
	// GOMLX_BACKEND still overrides everything.
	s = fakeSearcher(map[string]string{ConfigEnvVar: "go"}, []string{sp}, nil)
	if plan, fromEnv := s.plan(); len(plan) != 1 || !fromEnv || plan[0].Config != "go:parallelism=-1" {
		t.Errorf("GOMLX_BACKEND=go: plan() = %+v, %v", plan, fromEnv)
	}
}

func TestNewFallsBackWhenCPUPluginFails(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	plugin := touch(t, filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")) // Not loadable.
	t.Setenv(PluginPathEnvVar, dir)
	var (
		b      backends.Backend
		choice Choice
		err    error
	)
	withTimeout(t, 30*time.Second, "NewWithChoice()", func() { b, choice, err = NewWithChoice() })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if choice.Config != SimpleGoConfig || b.String() != "go" {
		t.Fatalf("got backend %s, choice %+v; want the SimpleGo fallback", b.Name(), choice)
	}
	wantReason := "fell back to SimpleGo"
	if !xlaCompiled {
		wantReason = "without the XLA backend"
	}
	if !strings.Contains(choice.Reason, wantReason) || !strings.Contains(choice.Reason, plugin) {
		t.Errorf("reason %q does not contain %q and the plugin's path", choice.Reason, wantReason)
	}
	t.Logf("choice: %s", choice)
}

// realCPUPlugin returns the XLA CPU plugin installed here (e.g. in the repository's .venv), found from
// the test's starting directory, or skips the test.
func realCPUPlugin(t *testing.T) string {
	t.Helper()
	if !xlaCompiled {
		t.Skip("built without the XLA backend")
	}
	p, _ := newSearcher().findCPUPlugin()
	if p == "" {
		t.Skipf("no XLA CPU PJRT plugin installed (%v)", ErrNoCPUPlugin)
	}
	return p
}

// (Its name has no "CUDA": go-xla warns about CUDA set-ups when a plugin's path contains the word.)
func TestNewFallsBackFromGPUToXLACPU(t *testing.T) {
	cpu := realCPUPlugin(t)
	isolateEnv(t)
	dir := t.TempDir()
	cuda := touch(t, filepath.Join(dir, "pjrt_c_api_cuda_plugin.so")) // Not loadable.
	if err := os.Symlink(cpu, filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PluginPathEnvVar, dir)
	b, choice, err := NewWithChoice()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if b.Name() != "xla" || !strings.HasSuffix(choice.Config, "pjrt_c_api_cpu_plugin.so,shared_buffers") {
		t.Fatalf("got backend %s, choice %+v; want the XLA-CPU fallback", b.Name(), choice)
	}
	if !strings.Contains(choice.Reason, cuda) || !strings.Contains(choice.Reason, "fell back to XLA-CPU") {
		t.Errorf("reason %q does not tell of the CUDA failure and the fallback", choice.Reason)
	}
	t.Logf("choice: %s", choice)
}

func TestNewXLACPU(t *testing.T) {
	cpu := realCPUPlugin(t)
	t.Setenv(ConfigEnvVar, "go") // Ignored by NewXLACPU.
	b, choice, err := NewXLACPU()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if b.Name() != "xla" || choice.Plugin != cpu || choice.Config != "xla:"+cpu+",shared_buffers" {
		t.Errorf("NewXLACPU() = %s, %+v; want XLA on %s", b.Name(), choice, cpu)
	}
	if err := probe(b); err != nil {
		t.Error(err)
	}
	s, err := NewSimpleGo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Finalize()
	if s.String() != "go" {
		t.Errorf("NewSimpleGo() = %s", s.Name())
	}
}

func TestNewXLACPUWithoutPlugin(t *testing.T) {
	isolateEnv(t)
	t.Setenv(PluginPathEnvVar, t.TempDir())
	if p, _ := FindCPUPlugin(); p != "" {
		t.Skipf("an XLA CPU plugin is installed system-wide (%s)", p)
	}
	if _, _, err := NewXLACPU(); !errors.Is(err, ErrNoCPUPlugin) {
		t.Errorf("NewXLACPU() error = %v, want ErrNoCPUPlugin", err)
	}
}
