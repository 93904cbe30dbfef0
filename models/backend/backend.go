package backend

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
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
	// Config is the configuration, in GOMLX_BACKEND's syntax, e.g. "go:parallelism=-1" or
	// "xla:/usr/lib/python3/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so".
	Config string
	// Reason is a human-readable explanation of why Config was chosen (and, after a fallback, what failed).
	Reason string
}

// String implements fmt.Stringer.
func (c Choice) String() string { return fmt.Sprintf("%s (%s)", c.Config, c.Reason) }

// Choose decides which backend configuration [New] would try first, following the rules of the package
// documentation, without creating anything. [New] may still fall back to SimpleGo if creating a chosen XLA
// backend fails; [NewWithChoice] reports the configuration actually used.
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
// XLA attempt, the returned Choice is SimpleGo's and its Reason includes the XLA error.
func NewWithChoice() (backends.Backend, Choice, error) {
	RegisterDotGeneralGradient()
	first, fromEnv := newSearcher().choose()
	b, err := create(first.Config)
	if err == nil {
		return b, first, nil
	}
	if fromEnv {
		return nil, first, fmt.Errorf("backend: creating backend %q from $%s: %w", first.Config, ConfigEnvVar, err)
	}
	if !isXLAConfig(first.Config) {
		return nil, first, fmt.Errorf("backend: creating backend %q: %w", first.Config, err)
	}
	fallback := Choice{
		Config: SimpleGoConfig,
		Reason: fmt.Sprintf("%s, but creating backend %q failed (%v); fell back to SimpleGo with parallelism=-1",
			first.Reason, first.Config, oneLine(err)),
	}
	b, err2 := create(fallback.Config)
	if err2 != nil {
		return nil, fallback, fmt.Errorf("backend: creating %q failed (%v), and so did the fallback %q: %w",
			first.Config, err, fallback.Config, err2)
	}
	return b, fallback, nil
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
