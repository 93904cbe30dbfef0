package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/mimicry-ir/mimicry/models/backend"
)

func init() {
	register(&command{
		name:    "env",
		summary: "show the compute backend chosen (and why), its devices, and run a tiny graph on it",
		run:     runEnv,
	})
}

// runEnv implements `mimicry env`.
func runEnv(args []string) error {
	fs := newFlags("env", "env [flags]", fmt.Sprintf(`
Prints the GoMLX backend Mimicry would use (set %s to override), its devices and the Go
runtime, then runs a matmul and its gradient on it, and measures its matmul speed in GFLOP/s.`, backend.ConfigEnvVar))
	size := fs.Int("size", 64, "dimension n of the n×n matmul run as a smoke test")
	speedSize := fs.Int("matmul", 1024, "dimension n of the n×n×n float32 matmul timed for GFLOP/s (0: skip)")
	reps := fs.Int("reps", 5, "timed repetitions of that matmul (after one warm-up)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *size < 1 || *size > 4096 {
		return fmt.Errorf("-size must be in [1, 4096], got %d", *size)
	}
	if *speedSize < 0 || *speedSize > 8192 || *reps < 1 {
		return fmt.Errorf("-matmul must be in [0, 8192] and -reps ≥ 1, got %d and %d", *speedSize, *reps)
	}
	return envPrint(os.Stdout, *size, *speedSize, *reps)
}

// envPrint creates the backend, describes it on w, runs the smoke test and, if speedN > 0, times a
// speedN³ matmul reps times.
func envPrint(w io.Writer, n, speedN, reps int) error {
	fmt.Fprintf(w, "Go:        %s %s/%s, GOMAXPROCS=%d, NumCPU=%d\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())
	for _, key := range []string{backend.ConfigEnvVar, backend.PluginPathEnvVar} {
		if v, ok := os.LookupEnv(key); ok {
			fmt.Fprintf(w, "$%s=%q\n", key, v)
		} else {
			fmt.Fprintf(w, "$%s not set\n", key)
		}
	}
	fmt.Fprintf(w, "XLA:       compiled in: %v\n", backend.XLACompiled())
	if p, where := backend.FindCPUPlugin(); p != "" {
		fmt.Fprintf(w, "XLA-CPU:   plugin %s (%s)\n", p, where)
	} else {
		fmt.Fprintf(w, "XLA-CPU:   no plugin found (install one: python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt)\n")
	}

	start := time.Now()
	b, choice, err := backend.NewWithChoice()
	if err != nil {
		return err
	}
	defer b.Finalize()
	fmt.Fprintf(w, "Backend:   %s (created in %s)\n", choice.Config, time.Since(start).Round(time.Microsecond))
	fmt.Fprintf(w, "Reason:    %s\n", choice.Reason)
	fmt.Fprintf(w, "Name:      %s — %s\n", b.Name(), b.Description())
	fmt.Fprintf(w, "Devices:   %d\n", b.NumDevices())
	for i := range b.NumDevices() {
		fmt.Fprintf(w, "  #%d: %s\n", i, b.DeviceDescription(backends.DeviceNum(i)))
	}
	if err := envSmokeTest(w, b, n); err != nil {
		return err
	}
	if speedN == 0 {
		return nil
	}
	return envMatmulSpeed(w, b, speedN, reps)
}

// envMatmulSpeed times an n×n by n×n float32 matmul of random matrices on b, reps times after a
// warm-up (compilation included there), and prints GFLOP/s (2n³ floating-point operations each).
func envMatmulSpeed(w io.Writer, b backends.Backend, n, reps int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() *tensors.Tensor {
		v := make([]float32, n*n)
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return tensors.FromFlatDataAndDimensions(v, n, n)
	}
	x, y := random(), random()
	exec, err := graph.NewExec(b, func(x, y *graph.Node) *graph.Node { return graph.Dot(x, y) })
	if err != nil {
		return err
	}
	defer exec.Finalize()
	run := func() error {
		out, err := exec.Exec(x, y)
		if err != nil {
			return fmt.Errorf("timing a %d³ matmul: %w", n, err)
		}
		_, err = tensors.CopyFlatData[float32](out[0]) // wait for the result
		return err
	}
	start := time.Now()
	if err := run(); err != nil {
		return err
	}
	warm := time.Since(start)
	start = time.Now()
	for range reps {
		if err := run(); err != nil {
			return err
		}
	}
	each := time.Since(start) / time.Duration(reps)
	gflops := 2 * float64(n) * float64(n) * float64(n) / each.Seconds() / 1e9
	fmt.Fprintf(w, "Matmul:    %d×%d×%d float32: %.1f GFLOP/s (%s each, mean of %d after a warm-up of %s)\n",
		n, n, n, gflops, each.Round(time.Microsecond), reps, warm.Round(time.Millisecond))
	return nil
}

// envSmokeTest runs loss = Σ(x·w) with x = ones(n, n) and w = 2·I, and its gradients, and checks the result:
// loss = 2n², dLoss/dw = n everywhere and dLoss/dx = 2 everywhere.
func envSmokeTest(w io.Writer, b backends.Backend, n int) error {
	x := tensors.FromFlatDataAndDimensions(envFilled(n*n, 1), n, n)
	weights := make([]float32, n*n)
	for i := range n {
		weights[i*n+i] = 2
	}
	wT := tensors.FromFlatDataAndDimensions(weights, n, n)

	exec, err := graph.NewExec(b, func(x, w *graph.Node) []*graph.Node {
		loss := graph.ReduceAllSum(graph.Dot(x, w))
		grads := graph.Gradient(loss, x, w)
		return []*graph.Node{loss, grads[0], grads[1]}
	})
	if err != nil {
		return err
	}
	defer exec.Finalize()

	var outs []*tensors.Tensor
	timings := make([]time.Duration, 2)
	for i := range timings {
		start := time.Now()
		outs, err = exec.Exec(x, wT)
		if err != nil {
			return fmt.Errorf("running the smoke test graph: %w", err)
		}
		timings[i] = time.Since(start)
	}
	loss, err := tensors.CopyFlatData[float32](outs[0])
	if err != nil {
		return err
	}
	dx, err := tensors.CopyFlatData[float32](outs[1])
	if err != nil {
		return err
	}
	dw, err := tensors.CopyFlatData[float32](outs[2])
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Smoke test: loss = Σ(x·w), x=ones(%d,%d), w=2·I, and its gradient\n", n, n)
	fmt.Fprintf(w, "  loss=%g dLoss/dx[0,0]=%g dLoss/dw[0,0]=%g\n", loss[0], dx[0], dw[0])
	fmt.Fprintf(w, "  first run (compile+execute): %s, second run: %s\n",
		timings[0].Round(time.Microsecond), timings[1].Round(time.Microsecond))
	wantLoss := 2 * float64(n) * float64(n)
	if math.Abs(float64(loss[0])-wantLoss) > 1e-4*wantLoss {
		return fmt.Errorf("smoke test: loss = %g, want %g", loss[0], wantLoss)
	}
	for i := range dx {
		if dx[i] != 2 || dw[i] != float32(n) {
			return fmt.Errorf("smoke test: gradient [%d] = (%g, %g), want (2, %d)", i, dx[i], dw[i], n)
		}
	}
	fmt.Fprintln(w, "  result OK")
	return nil
}

// envFilled returns a slice of n copies of v.
func envFilled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}
