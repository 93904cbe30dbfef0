package backend

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

const (
	// ConfigEnvVar is the environment variable that, when set and not empty, selects the backend, with
	// GoMLX's syntax "<backend>[:<options>]", e.g. "go", "go:parallelism=4" or "xla:cuda".
	ConfigEnvVar = backends.ConfigEnvVar

	// PluginPathEnvVar lists (":"-separated) directories searched for PJRT plugins, first by this package
	// when looking for a CUDA plugin, then by go-xla itself.
	PluginPathEnvVar = "PJRT_PLUGIN_LIBRARY_PATH"

	// SimpleGoConfig is the configuration used when no GPU backend is chosen: SimpleGo with unlimited
	// parallelism (see the package documentation for why not SimpleGo's default).
	SimpleGoConfig = simplego.BackendName + ":" + simpleGoParallelismOption

	simpleGoParallelismOption = "parallelism=-1"
)

// xlaNames are the names GoMLX registers for its XLA backend.
var xlaNames = []string{"xla", "stablehlo", "hlo", "shlo"}

// Choice describes a backend configuration and why it was chosen.
type Choice struct {
	// Config is the configuration, in GOMLX_BACKEND's syntax, e.g. "go:parallelism=-1",
	// "xla:/usr/lib/python3/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so" or
	// "xla:/repo/.venv/lib/python3.11/site-packages/lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so,shared_buffers".
	Config string
	// Reason is a human-readable explanation of why Config was chosen (and, after a fallback, what failed).
	Reason string
	// Plugin is the absolute path of the PJRT plugin this package found and chose ("" for SimpleGo and
	// for a configuration from GOMLX_BACKEND).
	Plugin string

	// probe says that creating the backend includes running a tiny graph on it (auto-chosen XLA CPU
	// plugins: a plugin that loads but cannot run go-xla's programs must not be chosen).
	probe bool
}

// String implements fmt.Stringer.
func (c Choice) String() string { return fmt.Sprintf("%s (%s)", c.Config, c.Reason) }

// Choose decides which backend configuration [New] would try first, following the rules of the package
// documentation, without creating anything. [New] may still fall back (from CUDA to XLA-CPU, and from
// either to SimpleGo) if creating a chosen XLA backend fails; [NewWithChoice] reports the configuration
// actually used.
func Choose() Choice {
	c, _ := newSearcher().choose()
	return c
}

// New creates a GoMLX backend chosen as described in the package documentation. It also registers the
// faster DotGeneral gradient (see [RegisterDotGeneralGradient]). It never downloads anything.
func New() (backends.Backend, error) {
	b, _, err := NewWithChoice()
	return b, err
}

// NewWithChoice is like [New] but also returns the configuration that was used and why; after a failed
// XLA attempt, the returned Choice is the fallback's and its Reason includes the XLA error.
func NewWithChoice() (backends.Backend, Choice, error) {
	RegisterDotGeneralGradient()
	choices, fromEnv := newSearcher().plan()
	var failures []string
	var errs []error
	for i, c := range choices {
		b, err := createChoice(c)
		if err == nil {
			if len(failures) > 0 {
				c.Reason = strings.Join(failures, "; ") + "; fell back to " + c.Reason
			}
			return b, c, nil
		}
		if fromEnv {
			return nil, c, fmt.Errorf("backend: creating backend %q from $%s: %w", c.Config, ConfigEnvVar, err)
		}
		errs = append(errs, fmt.Errorf("creating backend %q: %w", c.Config, err))
		if i == len(choices)-1 || !isXLAConfig(c.Config) {
			return nil, c, fmt.Errorf("backend: %w", errors.Join(errs...))
		}
		failures = append(failures, fmt.Sprintf("%s, but creating backend %q failed (%v)", c.Reason, c.Config, oneLine(err)))
	}
	panic("unreachable: the plan ends with SimpleGo")
}

// NewSimpleGo creates SimpleGo with [SimpleGoConfig], whatever GOMLX_BACKEND says (for tests that
// compare backends). It registers the faster DotGeneral gradient, as [New] does.
func NewSimpleGo() (backends.Backend, error) {
	RegisterDotGeneralGradient()
	return create(SimpleGoConfig)
}

// ErrNoCPUPlugin is returned by [NewXLACPU] when no XLA CPU PJRT plugin is found.
var ErrNoCPUPlugin = errors.New("no XLA CPU PJRT plugin found (" + searchedWhere + "; " +
	"install one with `python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt` in the repository root)")

// FindCPUPlugin returns the absolute path of the XLA CPU PJRT plugin that [New] would use and where it
// was found, or ("", "") when there is none. It ignores GOMLX_BACKEND.
func FindCPUPlugin() (path, where string) { return newSearcher().findCPUPlugin() }

// NewXLACPU creates the XLA backend on the XLA CPU PJRT plugin that [FindCPUPlugin] finds, whatever
// GOMLX_BACKEND says (for tests that compare backends), and checks that it runs a tiny graph. It
// returns an error wrapping [ErrNoCPUPlugin] when there is no plugin, and an error saying so when this
// binary has no XLA backend. It registers the faster DotGeneral gradient, as [New] does.
func NewXLACPU() (backends.Backend, Choice, error) {
	RegisterDotGeneralGradient()
	path, where := FindCPUPlugin()
	if path == "" {
		return nil, Choice{}, ErrNoCPUPlugin
	}
	c := Choice{Config: xlaCPUConfig(path), Plugin: path, probe: true,
		Reason: fmt.Sprintf("XLA CPU PJRT plugin found (%s)", where)}
	b, err := createChoice(c)
	if err != nil {
		return nil, c, fmt.Errorf("backend: creating backend %q: %w", c.Config, err)
	}
	return b, c, nil
}

// createChoice creates the backend of c and, if c asks for it, checks that it runs a tiny graph.
func createChoice(c Choice) (backends.Backend, error) {
	b, err := create(c.Config)
	if err != nil || !c.probe {
		return b, err
	}
	if err := probe(b); err != nil {
		b.Finalize()
		return nil, fmt.Errorf("the backend loads but cannot run a graph: %w", err)
	}
	return b, nil
}

// probe compiles and runs x·x+1 on b and checks the result.
func probe(b backends.Backend) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return graph.AddScalar(graph.Mul(x, x), 1) })
	if err != nil {
		return err
	}
	defer exec.Finalize()
	out, err := exec.Exec([]float32{1, 2, 3})
	if err != nil {
		return err
	}
	got, err := tensors.CopyFlatData[float32](out[0])
	if err != nil {
		return err
	}
	if want := []float32{2, 5, 10}; !slices.Equal(got, want) {
		return fmt.Errorf("x·x+1 of [1 2 3] gave %v, want %v", got, want)
	}
	return nil
}

// defaultBackend holds the result of the first call to Default.
var defaultBackend = sync.OnceValues(func() (defaultResult, error) {
	b, c, err := NewWithChoice()
	return defaultResult{backend: b, choice: c}, err
})

type defaultResult struct {
	backend backends.Backend
	choice  Choice
}

// Default returns a process-wide backend, created by [New] on the first call and shared afterwards. If that
// creation failed, every call returns the same error. Do not Finalize it.
func Default() (backends.Backend, error) {
	r, err := defaultBackend()
	return r.backend, err
}

// DefaultChoice returns the [Choice] behind [Default]'s backend, creating it if needed.
func DefaultChoice() Choice {
	r, _ := defaultBackend()
	return r.choice
}

// normalizeEnvConfig applies this package's adjustment to a user-given GOMLX_BACKEND value: SimpleGo gets
// parallelism=-1 unless a parallelism option is given. It returns the new config and whether it changed.
func normalizeEnvConfig(config string) (string, bool) {
	name, opts, _ := strings.Cut(config, ":")
	if name != simplego.BackendName {
		return config, false
	}
	var kept []string
	for _, opt := range strings.Split(opts, ",") {
		if opt == "" {
			continue
		}
		if key, _, _ := strings.Cut(opt, "="); key == "parallelism" {
			return config, false
		}
		kept = append(kept, opt)
	}
	kept = append(kept, simpleGoParallelismOption)
	return name + ":" + strings.Join(kept, ","), true
}

// Compiled reports whether the choice is a compiling backend (XLA, on the CPU or a GPU), as opposed
// to SimpleGo's interpreter: what sizes a job's defaults (pipeline.DefaultScaleFor).
func (c Choice) Compiled() bool { return isXLAConfig(c.Config) }

// isXLAConfig reports whether config names GoMLX's XLA backend.
func isXLAConfig(config string) bool {
	name, _, _ := strings.Cut(config, ":")
	return slices.Contains(xlaNames, name)
}

// createMu serialises backend construction: it guards the temporary redirection of os.Stdout and the
// global auto-install flag of the XLA backend.
var createMu sync.Mutex

// create builds the backend for config, turning GoMLX's panics (e.g. unknown backend name) into errors.
func create(config string) (b backends.Backend, err error) {
	createMu.Lock()
	defer createMu.Unlock()

	name, _, _ := strings.Cut(config, ":")
	if isXLAConfig(config) {
		if !xlaCompiled {
			return nil, fmt.Errorf("backend %q: this binary was built without the XLA backend (it needs cgo on "+
				"linux/amd64 or darwin, and no \"noxla\" build tag)", config)
		}
		disableXLAAutoInstall()
		prepareCUDAEnv(config)
	}
	if !slices.Contains(backends.List(), name) {
		known := backends.List()
		slices.Sort(known)
		return nil, fmt.Errorf("unknown backend %q in config %q: known backends are %q", name, config, known)
	}
	defer func() {
		if r := recover(); r != nil {
			b = nil
			err = fmt.Errorf("creating backend %q panicked: %v", config, r)
		}
	}()
	if name == simplego.BackendName {
		restore := silenceStdout()
		defer restore()
	}
	b, err = backends.NewWithConfig(config)
	if err == nil && b == nil {
		err = fmt.Errorf("creating backend %q returned no backend", config)
	}
	return b, err
}

// silenceStdout points os.Stdout at os.DevNull until the returned function is called. It is used around
// SimpleGo's constructor, which prints its parallelism with fmt.Printf.
func silenceStdout() (restore func()) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return func() {}
	}
	saved := os.Stdout
	os.Stdout = devNull
	return func() {
		os.Stdout = saved
		_ = devNull.Close()
	}
}

// oneLine collapses a (possibly multi-line) error message into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// XLACompiled reports whether GoMLX's XLA backend is linked into this binary (see the package
// documentation for the build conditions). Without it only SimpleGo is available.
func XLACompiled() bool { return xlaCompiled }
