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

// jaxCUDAPlugins are the plugin files of the jax-cuda13-pjrt and jax-cuda12-pjrt Python packages, relative
// to a site-packages directory, in order of preference.
var jaxCUDAPlugins = []string{
	filepath.Join("jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"),
	filepath.Join("jax_plugins", "xla_cuda12", "xla_cuda_plugin.so"),
}

// cudaPluginFileRE matches the file names of CUDA PJRT plugins in a plugin directory: go-xla's
// "pjrt_c_api_cuda_plugin.so" (and "pjrt_c_api_cuda12_plugin.so"-like variants), "pjrt[-_]plugin[-_]cuda*.so",
// and Jax's "xla_cuda_plugin.so".
var cudaPluginFileRE = regexp.MustCompile(`^(pjrt_c_api_cuda[0-9a-z_]*_plugin|pjrt[-_]plugin[-_]cuda[0-9a-z_.-]*|xla_cuda[0-9]*_plugin)\.so$`)

// searcher finds CUDA PJRT plugins. Its fields are the outside world, replaced in tests.
type searcher struct {
	// getenv reads an environment variable.
	getenv func(string) string
	// home is the user's home directory ("" if unknown).
	home string
	// sitePackageGlobs are glob patterns of site-packages directories to look into.
	sitePackageGlobs []string
	// askPython returns site-packages directories reported by python3 (nil if not available).
	askPython func() []string
}

// newSearcher returns a searcher looking at the real environment and file system.
func newSearcher() *searcher {
	home, _ := os.UserHomeDir()
	s := &searcher{getenv: os.Getenv, home: home, askPython: pythonSitePackages}
	s.sitePackageGlobs = defaultSitePackageGlobs(s.getenv, home)
	return s
}

// defaultSitePackageGlobs lists the usual places of Python site-packages directories.
func defaultSitePackageGlobs(getenv func(string) string, home string) []string {
	var globs []string
	for _, prefix := range []string{getenv("VIRTUAL_ENV"), getenv("CONDA_PREFIX")} {
		if prefix != "" {
			globs = append(globs, filepath.Join(prefix, "lib", "python3*", "site-packages"))
		}
	}
	if home != "" {
		globs = append(globs,
			filepath.Join(home, ".local", "lib", "python3*", "site-packages"),
			filepath.Join(home, ".venv", "lib", "python3*", "site-packages"),
			filepath.Join(home, "venv", "lib", "python3*", "site-packages"),
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

// findInDir returns the first CUDA PJRT plugin file (sorted by name) in dir, or "".
func findInDir(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries { // os.ReadDir sorts by name.
		if cudaPluginFileRE.MatchString(e.Name()) && isRegularFile(filepath.Join(dir, e.Name())) {
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
func (s *searcher) findCUDAPlugin() (path, where string) {
	envDirs, installDirs := s.pluginSearchDirs()
	for _, d := range envDirs {
		if p := findInDir(d); p != "" {
			return absPath(p), "$" + PluginPathEnvVar
		}
	}
	for _, d := range installDirs {
		if p := findInDir(d); p != "" {
			return absPath(p), "go-xla's install directory " + d
		}
	}
	seen := map[string]bool{}
	var siteDirs []string
	add := func(d string) {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			siteDirs = append(siteDirs, d)
		}
	}
	for _, pattern := range s.sitePackageGlobs {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			add(m)
		}
	}
	if p, where := searchSitePackages(siteDirs); p != "" {
		return p, where
	}
	if s.askPython != nil {
		var pyDirs []string
		for _, d := range s.askPython() {
			if !seen[filepath.Clean(d)] {
				pyDirs = append(pyDirs, d)
			}
		}
		if p, where := searchSitePackages(pyDirs); p != "" {
			return p, where
		}
	}
	return "", ""
}

// searchSitePackages looks for the jax CUDA plugins in the given site-packages directories, preferring
// CUDA 13 over CUDA 12 across all directories.
func searchSitePackages(dirs []string) (path, where string) {
	for _, rel := range jaxCUDAPlugins {
		for _, d := range dirs {
			p := filepath.Join(d, rel)
			if isRegularFile(p) {
				pkg := "jax-cuda12-pjrt"
				if strings.Contains(rel, "cuda13") {
					pkg = "jax-cuda13-pjrt"
				}
				return absPath(p), "Python package " + pkg + " in " + d
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

// choose applies the selection rules of the package documentation. fromEnv tells whether the choice
// comes from GOMLX_BACKEND.
func (s *searcher) choose() (c Choice, fromEnv bool) {
	if env := strings.TrimSpace(s.getenv(ConfigEnvVar)); env != "" {
		config, changed := normalizeEnvConfig(env)
		reason := fmt.Sprintf("$%s=%q", ConfigEnvVar, env)
		if changed {
			reason += "; added " + simpleGoParallelismOption +
				" (SimpleGo's default worker pool can deadlock running several matmuls at once)"
		}
		return Choice{Config: config, Reason: reason}, true
	}
	plugin, where := s.findCUDAPlugin()
	if plugin == "" {
		return Choice{Config: SimpleGoConfig, Reason: fmt.Sprintf("$%s not set and no CUDA PJRT plugin found "+
			"(searched $%s, go-xla's install directories and jax-cuda13/12-pjrt Python packages)",
			ConfigEnvVar, PluginPathEnvVar)}, false
	}
	if !xlaCompiled {
		return Choice{Config: SimpleGoConfig, Reason: fmt.Sprintf("$%s not set; CUDA PJRT plugin %s found (%s), "+
			"but this binary was built without the XLA backend", ConfigEnvVar, plugin, where)}, false
	}
	return Choice{Config: "xla:" + plugin, Reason: fmt.Sprintf("$%s not set; CUDA PJRT plugin found (%s)",
		ConfigEnvVar, where)}, false
}
