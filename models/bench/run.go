package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/mimicry-ir/mimicry/models/backend"
)

// Runtimes `mimicry bench` can measure.
const (
	SimpleGo = "SimpleGo"
	XLACPU   = "XLA-CPU"
	PyTorch  = "PyTorch"
	// XLA is the backend models/backend chooses (GOMLX_BACKEND, else CUDA, else XLA-CPU), which
	// must be XLA: on a GPU machine, the GPU.
	XLA = "XLA"
)

// RunConfig says what Run measures.
type RunConfig struct {
	// Shapes are the model sizes.
	Shapes []Shape
	// Runtimes are among SimpleGo, XLACPU and PyTorch.
	Runtimes []string
	// Tasks are among "train" and "infer".
	Tasks []string
	// Options are the sizes of each measurement.
	Options Options
	// Python is the interpreter of the PyTorch reference (FindPython's when empty).
	Python string
	// Threads is PyTorch's intra-op thread count (runtime.GOMAXPROCS(0) when 0). XLA-CPU and SimpleGo
	// use every CPU the Go runtime may use.
	Threads int
	// Log receives progress lines (nil: none); PyTorch's messages go to os.Stderr.
	Log io.Writer
	// Device is PyTorch's device ("cpu" [default], "cuda").
	Device string
}

// ParseRuntimes reads a comma-separated list of runtime names (case-insensitive: simplego, xla-cpu, pytorch).
func ParseRuntimes(list string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(list, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "simplego", "go":
			out = append(out, SimpleGo)
		case "xla-cpu", "xla":
			out = append(out, XLACPU)
		case "pytorch", "torch":
			out = append(out, PyTorch)
		case "xla-default", "xla-chosen":
			out = append(out, XLA)
		case "":
		default:
			return nil, fmt.Errorf("unknown runtime %q: want simplego, xla-cpu, xla-default or pytorch", name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no runtime in %q", list)
	}
	return out, nil
}

// Run measures every shape, task and runtime of c, one after the other (never two at once), and
// returns the measurements. A runtime that cannot be had (no XLA CPU plugin, no PyTorch) is an error.
func Run(ctx context.Context, c RunConfig) ([]Measurement, error) {
	logf := func(format string, args ...any) {
		if c.Log != nil {
			fmt.Fprintf(c.Log, format+"\n", args...)
		}
	}
	threads := c.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	var ms []Measurement
	for _, rt := range c.Runtimes {
		if rt == PyTorch {
			continue
		}
		var b backends.Backend
		var err error
		switch rt {
		case SimpleGo:
			b, err = backend.NewSimpleGo()
		case XLACPU:
			var choice backend.Choice
			b, choice, err = backend.NewXLACPU()
			if err == nil {
				logf("XLA-CPU: %s", choice)
			}
		case XLA:
			var choice backend.Choice
			b, choice, err = backend.NewWithChoice()
			if err == nil && !choice.Compiled() {
				err = fmt.Errorf("the backend chosen is %s, not XLA", choice)
			}
			if err == nil {
				logf("XLA: %s", choice)
			}
		default:
			err = fmt.Errorf("unknown runtime %q", rt)
		}
		if err != nil {
			return ms, fmt.Errorf("%s: %w", rt, err)
		}
		for _, s := range c.Shapes {
			for _, task := range c.Tasks {
				if err := ctx.Err(); err != nil {
					b.Finalize()
					return ms, err
				}
				logf("%s: %s %s ...", rt, s.Name, task)
				var m Measurement
				switch task {
				case "train":
					m, err = Train(b, rt, s, c.Options)
				case "infer":
					m, err = Infer(b, rt, s, c.Options)
				default:
					err = fmt.Errorf("unknown task %q: want train or infer", task)
				}
				if err != nil {
					b.Finalize()
					return ms, err
				}
				logf("%s: %s %s: %s %s (%.3g s a step, %.3g CPU-s; first step, compilation included: %.3g s)", rt, s.Name, task,
					formatRate(m.PerSecond), m.Unit, m.StepSeconds, m.CPUSeconds, m.FirstSeconds)
				ms = append(ms, m)
			}
		}
		b.Finalize()
	}
	if slices.Contains(c.Runtimes, PyTorch) {
		python := c.Python
		if python == "" {
			python = FindPython()
		}
		logf("PyTorch: %s, %d threads ...", python, threads)
		tm, err := Torch(ctx, python, threads, c.Device, c.Shapes, c.Options, os.Stderr)
		if err != nil {
			return ms, err
		}
		for _, m := range tm {
			if slices.Contains(c.Tasks, strings.TrimSuffix(m.Task, "-forward")) {
				ms = append(ms, m)
			}
		}
	}
	return ms, nil
}
