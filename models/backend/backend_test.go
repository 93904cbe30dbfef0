package backend

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
)

// isolateEnv clears the environment variables that steer the choice and points HOME at an empty
// directory, so that only what a test sets up is found (besides system-wide Python packages).
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{ConfigEnvVar, PluginPathEnvVar, "VIRTUAL_ENV", "CONDA_PREFIX"} {
		t.Setenv(k, "") // Restored at the end of the test.
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", t.TempDir())
	t.Chdir(t.TempDir()) // No .venv above the working directory.
	// Nor a virtualenv's python3 on the PATH (CI puts .venv/bin there): asked for its site-packages,
	// it would report the .venv's plugin.
	var path []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "..", "pyvenv.cfg")); err != nil {
			path = append(path, dir)
		}
	}
	t.Setenv("PATH", strings.Join(path, string(os.PathListSeparator)))
}

// touch creates an empty (not a real plugin) file, with its directories.
func touch(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not a real plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeSearcher looks only at the given environment and site-packages globs.
func fakeSearcher(env map[string]string, globs []string, python []string) *searcher {
	return &searcher{
		getenv:           func(k string) string { return env[k] },
		sitePackageGlobs: globs,
		askPython:        func() []string { return python },
	}
}

func TestNormalizeEnvConfig(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		changed  bool
	}{
		{"go", "go:parallelism=-1", true},
		{"go:", "go:parallelism=-1", true},
		{"go:ops_sequential", "go:ops_sequential,parallelism=-1", true},
		{"go:dotgeneral_small,,ops_parallel", "go:dotgeneral_small,ops_parallel,parallelism=-1", true},
		{"go:parallelism=4", "go:parallelism=4", false},
		{"go:ops_parallel,parallelism=0", "go:ops_parallel,parallelism=0", false},
		{"xla", "xla", false},
		{"xla:cuda", "xla:cuda", false},
		{"gomlx", "gomlx", false},
	} {
		got, changed := normalizeEnvConfig(tc.in)
		if got != tc.want || changed != tc.changed {
			t.Errorf("normalizeEnvConfig(%q) = %q, %v; want %q, %v", tc.in, got, changed, tc.want, tc.changed)
		}
	}
}

func TestChooseHonoursEnv(t *testing.T) {
	isolateEnv(t)
	// A CUDA plugin is present but GOMLX_BACKEND wins.
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "pjrt_c_api_cuda_plugin.so"))
	t.Setenv(PluginPathEnvVar, dir)

	t.Setenv(ConfigEnvVar, "go")
	c := Choose()
	if c.Config != "go:parallelism=-1" || !strings.Contains(c.Reason, `GOMLX_BACKEND="go"`) ||
		!strings.Contains(c.Reason, "parallelism=-1") {
		t.Errorf("GOMLX_BACKEND=go: got %+v", c)
	}
	t.Setenv(ConfigEnvVar, "go:parallelism=3")
	if c := Choose(); c.Config != "go:parallelism=3" || strings.Contains(c.Reason, "added") {
		t.Errorf("GOMLX_BACKEND=go:parallelism=3: got %+v", c)
	}
	t.Setenv(ConfigEnvVar, "xla:cpu")
	if c := Choose(); c.Config != "xla:cpu" {
		t.Errorf("GOMLX_BACKEND=xla:cpu: got %+v", c)
	}
	t.Setenv(ConfigEnvVar, "  ") // Blank counts as unset.
	if c := Choose(); c.Config == "  " || strings.Contains(c.Reason, ConfigEnvVar+"=") {
		t.Errorf("blank GOMLX_BACKEND: got %+v", c)
	}
}

func TestSearcherPluginDirFromEnv(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	touch(t, filepath.Join(dir1, "pjrt_c_api_cpu_plugin.so"))         // Not CUDA: ignored.
	touch(t, filepath.Join(dir1, "libcuda_helpers.so"))               // Not a plugin name: ignored.
	_ = os.MkdirAll(filepath.Join(dir1, "xla_cuda_plugin.so"), 0o755) // A directory: ignored.
	want := touch(t, filepath.Join(dir2, "pjrt_c_api_cuda_plugin.so"))
	s := fakeSearcher(map[string]string{PluginPathEnvVar: dir1 + string(os.PathListSeparator) + dir2}, nil, nil)
	got, where := s.findCUDAPlugin()
	if got != want || !strings.Contains(where, PluginPathEnvVar) {
		t.Fatalf("findCUDAPlugin() = %q (%s), want %q", got, where, want)
	}
	c, fromEnv := s.choose()
	if fromEnv {
		t.Errorf("choose() says it used GOMLX_BACKEND")
	}
	if xlaCompiled {
		if c.Config != "xla:"+want {
			t.Errorf("choose() = %+v, want config xla:%s", c, want)
		}
	} else if c.Config != SimpleGoConfig || !strings.Contains(c.Reason, "without the XLA backend") {
		t.Errorf("choose() without XLA = %+v", c)
	}
}

func TestSearcherPluginFileNames(t *testing.T) {
	for _, name := range []string{"pjrt_c_api_cuda_plugin.so", "pjrt_c_api_cuda12_plugin.so",
		"pjrt-plugin-cuda.so", "pjrt_plugin_cuda13.so", "xla_cuda_plugin.so"} {
		if !pluginFileRE[kindCUDA].MatchString(name) {
			t.Errorf("%q not recognised as a CUDA PJRT plugin", name)
		}
	}
	for _, name := range []string{"pjrt_c_api_cpu_plugin.so", "libcudart.so", "xla_cuda_plugin.so.bak",
		"pjrt_c_api_tpu_plugin.so", "cuda_plugin.so"} {
		if pluginFileRE[kindCUDA].MatchString(name) {
			t.Errorf("%q wrongly recognised as a CUDA PJRT plugin", name)
		}
	}
}

func TestSearcherJaxPackages(t *testing.T) {
	root := t.TempDir()
	sp12 := filepath.Join(root, "venv12", "lib", "python3.11", "site-packages")
	sp13 := filepath.Join(root, "venv13", "lib", "python3.12", "site-packages")
	p12 := touch(t, filepath.Join(sp12, "jax_plugins", "xla_cuda12", "xla_cuda_plugin.so"))
	p13 := touch(t, filepath.Join(sp13, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"))
	glob := filepath.Join(root, "*", "lib", "python3*", "site-packages")

	// CUDA 13 is preferred, wherever it is.
	s := fakeSearcher(nil, []string{glob}, nil)
	if got, where := s.findCUDAPlugin(); got != p13 || !strings.Contains(where, "jax-cuda13-pjrt") {
		t.Errorf("both installed: got %q (%s), want %q", got, where, p13)
	}
	// Found through python3's answer only.
	s = fakeSearcher(nil, nil, []string{sp12})
	if got, where := s.findCUDAPlugin(); got != p12 || !strings.Contains(where, "jax-cuda12-pjrt") {
		t.Errorf("from python: got %q (%s), want %q", got, where, p12)
	}
	// PJRT_PLUGIN_LIBRARY_PATH comes first.
	dir := t.TempDir()
	pEnv := touch(t, filepath.Join(dir, "xla_cuda_plugin.so"))
	s = fakeSearcher(map[string]string{PluginPathEnvVar: dir}, []string{glob}, nil)
	if got, _ := s.findCUDAPlugin(); got != pEnv {
		t.Errorf("env dir first: got %q, want %q", got, pEnv)
	}
	// Nothing anywhere: SimpleGo.
	s = fakeSearcher(map[string]string{PluginPathEnvVar: t.TempDir()}, []string{filepath.Join(t.TempDir(), "*")}, nil)
	if got, _ := s.findCUDAPlugin(); got != "" {
		t.Errorf("empty dirs: found %q", got)
	}
	if c, _ := s.choose(); c.Config != SimpleGoConfig || !strings.Contains(c.Reason, "no CUDA or XLA CPU PJRT plugin") {
		t.Errorf("empty dirs: choose() = %+v", c)
	}
}

func TestDefaultSitePackageGlobs(t *testing.T) {
	env := map[string]string{"VIRTUAL_ENV": "/venv", "CONDA_PREFIX": "/conda"}
	globs := defaultSitePackageGlobs(func(k string) string { return env[k] }, "/home/u", "/work/repo/models/backend")
	joined := strings.Join(globs, "\n")
	for _, want := range []string{"/venv/lib/python3*/site-packages", "/conda/lib/python3*/site-packages",
		"/home/u/.local/lib/python3*/site-packages", "/usr/lib/python3/dist-packages",
		"/usr/local/lib/python3*/dist-packages", "/home/u/.venv/lib/python3*/site-packages",
		"/work/repo/models/backend/.venv/lib/python3*/site-packages", "/work/repo/.venv/lib/python3*/site-packages",
		"/work/.venv/lib/python3*/site-packages", "/.venv/lib/python3*/site-packages"} {
		if !strings.Contains(joined, want) {
			t.Errorf("site-packages globs lack %q:\n%s", want, joined)
		}
	}
}

func TestPythonSitePackagesIsQuick(t *testing.T) {
	start := time.Now()
	dirs := pythonSitePackages()
	if d := time.Since(start); d > pythonTimeout+2*time.Second {
		t.Errorf("asking python3 took %s", d)
	}
	t.Logf("python3 site-packages: %q", dirs)
}

// withTimeout runs fn and fails the test if it takes longer than d.
func withTimeout(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s (a download or a hang?)", what, d)
	}
}

func TestNewUnsetIsSimpleGoQuickly(t *testing.T) {
	isolateEnv(t)
	t.Setenv(PluginPathEnvVar, t.TempDir())
	if c := Choose(); c.Config != SimpleGoConfig {
		t.Skipf("this machine has a CUDA plugin installed system-wide (%s)", c)
	}
	var (
		b      backends.Backend
		choice Choice
		err    error
	)
	withTimeout(t, 15*time.Second, "NewWithChoice()", func() { b, choice, err = NewWithChoice() })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if choice.Config != SimpleGoConfig || b.String() != "go" {
		t.Errorf("got backend %s with choice %+v, want SimpleGo with %s", b.Name(), choice, SimpleGoConfig)
	}
}

func TestNewFallsBackWhenCUDAPluginFails(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	plugin := touch(t, filepath.Join(dir, "pjrt_c_api_cuda_plugin.so")) // Not loadable.
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
		t.Errorf("reason %q does not contain %q", choice.Reason, wantReason)
	}
	t.Logf("choice: %s", choice)
}

func TestXLAFromEnvNeverDownloads(t *testing.T) {
	if !xlaCompiled {
		t.Skip("built without the XLA backend")
	}
	isolateEnv(t)
	t.Setenv(ConfigEnvVar, "xla:cpu")
	var err error
	var b backends.Backend
	withTimeout(t, 30*time.Second, "New() with GOMLX_BACKEND=xla:cpu", func() { b, err = New() })
	if err == nil {
		b.Finalize()
		t.Skip("an XLA CPU plugin is installed on this machine: nothing to download")
	}
	if msg := err.Error(); strings.Contains(msg, "auto-install") || strings.Contains(msg, "download") {
		t.Errorf("New() tried to install plugins: %v", err)
	}
	t.Logf("error, as expected: %v", err)
	if !strings.Contains(err.Error(), ConfigEnvVar) {
		t.Errorf("error %q does not mention %s", err, ConfigEnvVar)
	}
}

func TestXLAWithoutXLABuildIsError(t *testing.T) {
	if xlaCompiled {
		t.Skip("XLA backend compiled in (run with -tags noxla to test this)")
	}
	isolateEnv(t)
	t.Setenv(ConfigEnvVar, "xla:cuda")
	if _, err := New(); err == nil || !strings.Contains(err.Error(), "without the XLA backend") {
		t.Errorf("New() = %v, want an error about the missing XLA backend", err)
	}
}

func TestUnknownBackendIsError(t *testing.T) {
	isolateEnv(t)
	t.Setenv(ConfigEnvVar, "nosuchbackend:x")
	b, err := New()
	if err == nil {
		b.Finalize()
		t.Fatal("New() with an unknown backend succeeded")
	}
	if !strings.Contains(err.Error(), "nosuchbackend") {
		t.Errorf("error %q does not name the backend", err)
	}
	t.Setenv(ConfigEnvVar, "go:parallelism=lots")
	if _, err := New(); err == nil {
		t.Error("New() with an invalid SimpleGo option succeeded")
	}
}

func TestNewKeepsStdoutClean(t *testing.T) {
	isolateEnv(t)
	t.Setenv(ConfigEnvVar, "go:parallelism=3") // SimpleGo prints its parallelism when given.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	b, err := New()
	os.Stdout = saved
	_ = w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	b.Finalize()
	if len(out) != 0 {
		t.Errorf("New() wrote %q to stdout", out)
	}
}

func TestDefaultIsCached(t *testing.T) {
	b1, err1 := Default()
	b2, err2 := Default()
	if b1 != b2 || err1 != err2 {
		t.Fatalf("Default() returned different results: %v/%v, %v/%v", b1, b2, err1, err2)
	}
	if err1 != nil {
		t.Fatalf("Default(): %v", err1)
	}
	if c := DefaultChoice(); c.Config == "" || c.Reason == "" {
		t.Errorf("DefaultChoice() = %+v", c)
	}
}

func TestPrepareCUDAEnv(t *testing.T) {
	root := t.TempDir()
	plugin := touch(t, filepath.Join(root, "jax_plugins", "xla_cuda12", "xla_cuda_plugin.so"))
	nvidia := filepath.Join(root, "jax_plugins", "nvidia")
	t.Setenv("GOPJRT_CUDA_CHECKS", "")

	t.Setenv("XLA_FLAGS", "")
	prepareCUDAEnv("xla:" + plugin)
	if got := os.Getenv("XLA_FLAGS"); got != "" {
		t.Errorf("no nvidia dir: XLA_FLAGS = %q, want it unchanged", got)
	}
	if err := os.MkdirAll(nvidia, 0o755); err != nil {
		t.Fatal(err)
	}
	prepareCUDAEnv("xla:" + plugin)
	if got, want := os.Getenv("XLA_FLAGS"), "--xla_gpu_cuda_data_dir="+nvidia; got != want {
		t.Errorf("XLA_FLAGS = %q, want %q", got, want)
	}
	t.Setenv("XLA_FLAGS", "--xla_foo=1")
	prepareCUDAEnv("xla:" + plugin + ",tf32")
	if got, want := os.Getenv("XLA_FLAGS"), "--xla_foo=1 --xla_gpu_cuda_data_dir="+nvidia; got != want {
		t.Errorf("XLA_FLAGS = %q, want %q", got, want)
	}
	t.Setenv("XLA_FLAGS", "--xla_gpu_cuda_data_dir=/mine")
	prepareCUDAEnv("xla:" + plugin)
	if got := os.Getenv("XLA_FLAGS"); got != "--xla_gpu_cuda_data_dir=/mine" {
		t.Errorf("flag already set: XLA_FLAGS = %q", got)
	}
	t.Setenv("XLA_FLAGS", "")
	for _, config := range []string{"go", "xla:cuda", "xla:" + filepath.Join(root, "cpu.so")} {
		prepareCUDAEnv(config)
		if got := os.Getenv("XLA_FLAGS"); got != "" {
			t.Errorf("config %q: XLA_FLAGS = %q, want it unchanged", config, got)
		}
	}
}
