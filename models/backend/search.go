package backend

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// pythonTimeout bounds the time spent asking python3 for its site-packages directories.
const pythonTimeout = 3 * time.Second

// pluginKind says which device a PJRT plugin drives.
type pluginKind int

const (
	kindCUDA pluginKind = iota
	kindCPU
)

// String names the kind as the reasons of a Choice do.
func (k pluginKind) String() string {
	if k == kindCPU {
		return "XLA CPU"
	}
	return "CUDA"
}

// pyPlugin is a PJRT plugin shipped in a Python package.
type pyPlugin struct {
	// rel is the plugin file relative to a site-packages directory.
	rel string
	// pkg is the name of the Python package (on PyPI) that installs it.
	pkg string
}

// pyPlugins are the PJRT plugins of Python packages, by kind, in order of preference.
var pyPlugins = map[pluginKind][]pyPlugin{
	kindCUDA: {
		{filepath.Join("jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"), "jax-cuda13-pjrt"},
		{filepath.Join("jax_plugins", "xla_cuda12", "xla_cuda_plugin.so"), "jax-cuda12-pjrt"},
	},
	kindCPU: {
		{filepath.Join("lammps_jax_pjrt_cpu", "pjrt_c_api_cpu_plugin.so"), "lammps-jax-pjrt-cpu"},
		{filepath.Join("xla_plugins", "xla_cpu_pjrt", "xla_cpu_pjrt.so"), "xla-cpu-pjrt"},
		{filepath.Join("fastatomstruct_xla_cpu", "libpjrt_cpu.so"), "fastatomstruct-xla-cpu"},
	},
}

// pluginFileRE matches, by kind, the file names of PJRT plugins in a plugin directory.
//
// CUDA: go-xla's "pjrt_c_api_cuda_plugin.so" (and "pjrt_c_api_cuda12_plugin.so"-like variants),
// "pjrt[-_]plugin[-_]cuda*.so", and Jax's "xla_cuda_plugin.so". CPU: go-xla's "pjrt_c_api_cpu_plugin.so",
// "pjrt[-_]plugin[-_]cpu.so", and the names the Python packages use, "libpjrt_cpu.so" and "xla_cpu_pjrt.so".
var pluginFileRE = map[pluginKind]*regexp.Regexp{
	kindCUDA: regexp.MustCompile(`^(pjrt_c_api_cuda[0-9a-z_]*_plugin|pjrt[-_]plugin[-_]cuda[0-9a-z_.-]*|xla_cuda[0-9]*_plugin)\.so$`),
	kindCPU:  regexp.MustCompile(`^(pjrt_c_api_cpu_plugin|pjrt[-_]plugin[-_]cpu|libpjrt_cpu|xla_cpu_pjrt)\.so$`),
}

// searcher finds PJRT plugins. Its fields are the outside world, replaced in tests.
type searcher struct {
	// getenv reads an environment variable.
	getenv func(string) string
	// home is the user's home directory ("" if unknown).
	home string
	// sitePackageGlobs are glob patterns of site-packages directories to look into, in order of preference.
	sitePackageGlobs []string
	// askPython returns site-packages directories reported by python3 (nil if not available).
	askPython func() []string
}

// newSearcher returns a searcher looking at the real environment and file system, from the current
// working directory.
func newSearcher() *searcher {
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	s := &searcher{getenv: os.Getenv, home: home, askPython: pythonSitePackages}
	s.sitePackageGlobs = defaultSitePackageGlobs(s.getenv, home, cwd)
	return s
}

// venvSitePackages is the glob of a virtual environment's site-packages directory, relative to it.
var venvSitePackages = filepath.Join("lib", "python3*", "site-packages")

// defaultSitePackageGlobs lists the usual places of Python site-packages directories: $VIRTUAL_ENV,
// $CONDA_PREFIX, a ".venv" in cwd or any directory above it (nearest first: the repository root's
// .venv when run from a package directory, as `go test` does), the user's, then the system's.
func defaultSitePackageGlobs(getenv func(string) string, home, cwd string) []string {
	var globs []string
	for _, prefix := range []string{getenv("VIRTUAL_ENV"), getenv("CONDA_PREFIX")} {
		if prefix != "" {
			globs = append(globs, filepath.Join(prefix, venvSitePackages))
		}
	}
	if cwd != "" && filepath.IsAbs(cwd) {
		for dir := filepath.Clean(cwd); ; dir = filepath.Dir(dir) {
			globs = append(globs, filepath.Join(dir, ".venv", venvSitePackages))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if home != "" {
		globs = append(globs,
			filepath.Join(home, ".local", "lib", "python3*", "site-packages"),
			filepath.Join(home, ".venv", venvSitePackages),
			filepath.Join(home, "venv", venvSitePackages),
			filepath.Join(home, ".pyenv", "versions", "*", "lib", "python3*", "site-packages"),
			filepath.Join(home, "miniconda3", "lib", "python3*", "site-packages"),
			filepath.Join(home, "anaconda3", "lib", "python3*", "site-packages"),
		)
	}
	globs = append(globs,
		"/usr/local/lib/python3*/dist-packages",
		"/usr/local/lib/python3*/site-packages",
		"/usr/lib/python3/dist-packages",
		"/usr/lib/python3*/site-packages",
		"/opt/conda/lib/python3*/site-packages",
		"/opt/venv/lib/python3*/site-packages",
	)
	return globs
}

// pythonSitePackages asks python3, if it is on the PATH, for its site-packages directories, giving up
// after pythonTimeout.
func pythonSitePackages() []string {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	const script = "import site\n" +
		"dirs = []\n" +
		"try:\n    dirs += site.getsitepackages()\nexcept Exception:\n    pass\n" +
		"try:\n    dirs.append(site.getusersitepackages())\nexcept Exception:\n    pass\n" +
		"print('\\n'.join(dirs))\n"
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Stdin = nil
	cmd.Stderr = nil
	cmd.WaitDelay = time.Second // Don't wait on a grandchild holding the pipe after the kill.
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			dirs = append(dirs, line)
		}
	}
	return dirs
}

// pluginSearchDirs returns the directories of PJRT_PLUGIN_LIBRARY_PATH followed by go-xla's install dirs.
func (s *searcher) pluginSearchDirs() (envDirs, installDirs []string) {
	for _, d := range filepath.SplitList(s.getenv(PluginPathEnvVar)) {
		if d = strings.TrimSpace(d); d != "" {
			envDirs = append(envDirs, d)
		}
	}
	installDirs = []string{"/usr/local/lib/go-xla"}
	if s.home != "" {
		installDirs = append(installDirs, filepath.Join(s.home, ".local", "lib", "go-xla"))
	}
	return envDirs, installDirs
}

// findInDir returns the first PJRT plugin file of the kind (sorted by name) in dir, or "".
func findInDir(dir string, kind pluginKind) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries { // os.ReadDir sorts by name.
		if pluginFileRE[kind].MatchString(e.Name()) && isRegularFile(filepath.Join(dir, e.Name())) {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}

// isRegularFile reports whether path is (or links to) a regular file.
func isRegularFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// findCUDAPlugin returns the absolute path of the first CUDA PJRT plugin found and where it was found, or
// ("", "") if there is none.
func (s *searcher) findCUDAPlugin() (path, where string) { return s.findPlugin(kindCUDA) }

// findCPUPlugin returns the absolute path of the first XLA CPU PJRT plugin found and where it was found,
// or ("", "") if there is none.
func (s *searcher) findCPUPlugin() (path, where string) { return s.findPlugin(kindCPU) }

// SitePackages returns the Python site-packages directories that exist, in the order this package
// searches them for plugins: $VIRTUAL_ENV, $CONDA_PREFIX, a .venv in the working directory or any
// directory above it (nearest first), the user's, then the system's. python3 is not asked.
func SitePackages() []string {
	return newSearcher().siteDirs()
}

// siteDirs globs sitePackageGlobs into existing directories, without repeats.
func (s *searcher) siteDirs() []string {
	seen := map[string]bool{}
	var dirs []string
	for _, pattern := range s.sitePackageGlobs {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if m = filepath.Clean(m); !seen[m] {
				seen[m] = true
				dirs = append(dirs, m)
			}
		}
	}
	return dirs
}

// findPlugin returns the absolute path of the first PJRT plugin of the kind found and where it was
// found, or ("", ""): in $PJRT_PLUGIN_LIBRARY_PATH's directories, go-xla's install directories, the
// site-packages directories of sitePackageGlobs, then those python3 names.
func (s *searcher) findPlugin(kind pluginKind) (path, where string) {
	envDirs, installDirs := s.pluginSearchDirs()
	for _, d := range envDirs {
		if p := findInDir(d, kind); p != "" {
			return absPath(p), "$" + PluginPathEnvVar
		}
	}
	for _, d := range installDirs {
		if p := findInDir(d, kind); p != "" {
			return absPath(p), "go-xla's install directory " + d
		}
	}
	siteDirs := s.siteDirs()
	seen := map[string]bool{}
	for _, d := range siteDirs {
		seen[d] = true
	}
	if p, where := searchSitePackages(siteDirs, kind); p != "" {
		return p, where
	}
	if s.askPython != nil {
		var pyDirs []string
		for _, d := range s.askPython() {
			if !seen[filepath.Clean(d)] {
				pyDirs = append(pyDirs, d)
			}
		}
		if p, where := searchSitePackages(pyDirs, kind); p != "" {
			return p, where
		}
	}
	return "", ""
}

// searchSitePackages looks for the Python packages' plugins of the kind in the given site-packages
// directories, preferring the packages in pyPlugins' order across all directories (CUDA 13 over CUDA 12
// wherever each is).
func searchSitePackages(dirs []string, kind pluginKind) (path, where string) {
	for _, pp := range pyPlugins[kind] {
		for _, d := range dirs {
			if p := filepath.Join(d, pp.rel); isRegularFile(p) {
				return absPath(p), "Python package " + pp.pkg + " in " + d
			}
		}
	}
	return "", ""
}

// absPath returns the absolute form of p (p itself if that fails).
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// searchedWhere says where plugins are searched, for the reasons of a Choice.
const searchedWhere = "searched $" + PluginPathEnvVar + ", go-xla's install directories and the Python packages " +
	"jax-cuda13/12-pjrt, lammps-jax-pjrt-cpu, xla-cpu-pjrt and fastatomstruct-xla-cpu in $VIRTUAL_ENV, " +
	"$CONDA_PREFIX, .venv here or in a parent directory, ~/.venv, and the user's and system site-packages"

// xlaCPUConfig is the backend configuration of an XLA CPU plugin: the plugin by absolute path, with
// GoMLX's shared buffers (host tensors used in place by the plugin, as GoMLX does for a plugin named
// "cpu").
func xlaCPUConfig(plugin string) string { return "xla:" + plugin + ",shared_buffers" }

// plan applies the selection rules of the package documentation: the configurations to try, in order
// (every one but the last is an XLA configuration that may fail to be created). fromEnv tells whether
// the (single) choice comes from GOMLX_BACKEND.
func (s *searcher) plan() (choices []Choice, fromEnv bool) {
	if env := strings.TrimSpace(s.getenv(ConfigEnvVar)); env != "" {
		config, changed := normalizeEnvConfig(env)
		reason := fmt.Sprintf("$%s=%q", ConfigEnvVar, env)
		if changed {
			reason += "; added " + simpleGoParallelismOption +
				" (SimpleGo's default worker pool can deadlock running several matmuls at once)"
		}
		return []Choice{{Config: config, Reason: reason}}, true
	}
	cuda, cudaWhere := s.findCUDAPlugin()
	cpu, cpuWhere := s.findCPUPlugin()
	if !xlaCompiled {
		var found []string
		if cuda != "" {
			found = append(found, fmt.Sprintf("CUDA PJRT plugin %s found (%s)", cuda, cudaWhere))
		}
		if cpu != "" {
			found = append(found, fmt.Sprintf("XLA CPU PJRT plugin %s found (%s)", cpu, cpuWhere))
		}
		if len(found) > 0 {
			return []Choice{{Config: SimpleGoConfig, Reason: fmt.Sprintf("$%s not set; %s, but this binary was "+
				"built without the XLA backend", ConfigEnvVar, strings.Join(found, "; "))}}, false
		}
	}
	if cuda != "" {
		choices = append(choices, Choice{Config: "xla:" + cuda, Plugin: cuda,
			Reason: fmt.Sprintf("$%s not set; CUDA PJRT plugin found (%s)", ConfigEnvVar, cudaWhere)})
	}
	if cpu != "" {
		reason := fmt.Sprintf("$%s not set; no CUDA PJRT plugin found; XLA CPU PJRT plugin found (%s)", ConfigEnvVar, cpuWhere)
		if cuda != "" {
			reason = fmt.Sprintf("XLA-CPU, whose PJRT plugin was found (%s)", cpuWhere)
		}
		choices = append(choices, Choice{Config: xlaCPUConfig(cpu), Plugin: cpu, Reason: reason, probe: true})
	}
	simple := Choice{Config: SimpleGoConfig, Reason: fmt.Sprintf("$%s not set and no CUDA or XLA CPU PJRT plugin "+
		"found (%s)", ConfigEnvVar, searchedWhere)}
	if len(choices) > 0 {
		simple.Reason = "SimpleGo with " + simpleGoParallelismOption
	}
	return append(choices, simple), false
}

// choose returns the first configuration of plan: the one [New] tries first.
func (s *searcher) choose() (c Choice, fromEnv bool) {
	choices, fromEnv := s.plan()
	return choices[0], fromEnv
}
