// Package backend chooses, creates and tunes the GoMLX compute backend that every part of Mimicry uses.
//
// Use [New] for a fresh backend, [Default] for a process-wide shared one, and [NewWithChoice],
// [DefaultChoice] or [Choose] to learn which configuration was picked and why (that is what `mimicry env`
// prints).
//
// # How the backend is chosen
//
//  1. If GOMLX_BACKEND is set (and not empty), it is honoured, with one adjustment: if it names SimpleGo ("go"
//     or "go:...") without a "parallelism=" option, ",parallelism=-1" is added (see "SimpleGo and
//     parallelism" below). Set e.g. GOMLX_BACKEND=go:parallelism=4 to override, GOMLX_BACKEND=go to force
//     SimpleGo, or GOMLX_BACKEND=xla:/abs/path/to/plugin.so for a given PJRT plugin. There is no fallback:
//     if the backend it names cannot be created, [New] returns the error.
//  2. Otherwise PJRT plugins are searched, first a CUDA one, then an XLA CPU one. Each search looks, in
//     this order, in the directories of PJRT_PLUGIN_LIBRARY_PATH (":"-separated), in go-xla's install
//     directories (/usr/local/lib/go-xla and $HOME/.local/lib/go-xla), and in Python packages' site-packages
//     directories: $VIRTUAL_ENV, $CONDA_PREFIX, a ".venv" in the working directory or any of its parents,
//     nearer first (so `go test ./...`, which runs each package's tests in its directory, finds the
//     repository root's .venv), the user's (~/.local, ~/.venv, ~/venv, pyenv, conda) and the system's,
//     and finally those python3 names when asked (if it is on the PATH; with a short timeout). CUDA
//     plugins are files named pjrt_c_api_cuda*_plugin.so, pjrt[-_]plugin[-_]cuda*.so or xla_cuda*_plugin.so
//     in the plugin directories, and jax_plugins/xla_cuda13 or jax_plugins/xla_cuda12 (the packages
//     jax-cuda13-pjrt and jax-cuda12-pjrt, CUDA 13 preferred) in site-packages. XLA CPU plugins are files
//     named pjrt_c_api_cpu_plugin.so, pjrt[-_]plugin[-_]cpu.so, libpjrt_cpu.so or xla_cpu_pjrt.so in the
//     plugin directories, and, in site-packages, those of the packages, in this order of preference
//     (a preferred package wins wherever it is; directories decide between copies of one package):
//     lammps-jax-pjrt-cpu (lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so, the one docker/requirements.txt
//     pins), xla-cpu-pjrt (xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so) and fastatomstruct-xla-cpu
//     (fastatomstruct_xla_cpu/libpjrt_cpu.so).
//  3. The backends found are tried in order: the XLA backend on the CUDA plugin ("xla:/abs/path.so"), then
//     on the XLA CPU plugin ("xla:/abs/path.so,shared_buffers": the option GoMLX turns on by itself for a
//     plugin named "cpu", so that the plugin uses host tensors in place), then SimpleGo with
//     "go:parallelism=-1". The first that can be created wins; for the XLA CPU plugin "created" includes
//     compiling and running a tiny graph, so a plugin that loads but cannot run go-xla's programs is not
//     chosen. Creating the CUDA backend typically fails on a machine without a GPU. After a failure
//     [Choice.Reason] says what failed and what was used instead.
//  4. With nothing found, SimpleGo with "go:parallelism=-1": `go test ./...` passes without any Python
//     package, on pure Go.
//
// [NewSimpleGo] and [NewXLACPU] create one backend each, whatever GOMLX_BACKEND says, for tests that run
// the same graph on both (package backendtest); [FindCPUPlugin] tells which XLA CPU plugin would be used.
//
// XLA CPU plugins tried with go-xla v0.1.4 (which speaks PJRT C API 0.83; a newer or slightly older
// plugin works as long as go-xla only calls what both have):
//
//	PyPI package                    plugin file (PJRT C API)          result
//	lammps-jax-pjrt-cpu==0.11.2     pjrt_c_api_cpu_plugin.so (0.115)  works (pinned; needs jax, jaxlib)
//	xla-cpu-pjrt==0.0.1             xla_cpu_pjrt.so (0.81)            works (no dependencies)
//	fastatomstruct-xla-cpu==2026.6.23  libpjrt_cpu.so (0.106)         works (no dependencies)
//	cyxla-pjrt-cpu                  -                                 not on PyPI ("no matching distribution")
//
// # XLA-CPU in practice
//
// XLA compiles every graph, and every new input shape of a graph, before its first run: about 4 to 5
// CPU-seconds for a training step of the tiny cross-encoder and 10 s for MiniLM-L6's (2 shared
// cores), where SimpleGo starts at once. A training or scoring loop that pads each batch to its own
// length (models.PairInputs pads to a multiple of 8) compiles once per distinct length. In exchange a
// step runs 10 to 20 times faster than on SimpleGo (`mimicry bench`), so XLA-CPU wins whenever a
// graph runs more than a few times; short tests that build many graphs run slower than on SimpleGo:
// `go test ./...` took 695 CPU-seconds on XLA-CPU against 173 on SimpleGo, package distill 256
// against 75. Set GOMLX_BACKEND=go to force SimpleGo.
//
// Nothing here ever downloads anything: GoMLX's XLA backend would otherwise auto-install PJRT plugins from
// the network. This package disables that (xla.EnableAutoInstall(false)) when it is initialised and again
// before every backend it creates, also when GOMLX_BACKEND is set by the user. The XLA backend needs cgo; it
// is compiled in on linux/amd64 and darwin when cgo is enabled and the build tag "noxla" is not given
// (the same rule as GoMLX's backends/default); [XLACompiled] tells. Without it only SimpleGo is available,
// and a GOMLX_BACKEND naming "xla" is reported as an error.
//
// # SimpleGo and parallelism
//
// SimpleGo's default worker pool (parallelism = runtime.NumCPU()) can deadlock: when several DotGeneral ops
// are ready at once, each runs as a pool task that waits for sub-tasks (the batch split of the matmul)
// which need a pool slot of their own; with 2·NumCPU slots (4 on a 2-core machine) all held by waiting
// DotGenerals nothing can proceed. "parallelism=-1" (unlimited: every task gets its own goroutine) has no
// such limit and has not been seen to hang, so it is what this package uses unless told otherwise. (The
// deadlock is easy to reproduce: a graph with six independent matmuls of its parameters hangs on the
// first execution with parallelism=2; see TestSimpleGoDefaultPoolHangRepro.)
//
// A second SimpleGo caveat: when a single execution is running, SimpleGo executes independent ops in
// parallel, and `go test -race` then reports data races inside SimpleGo's executor (buffer ownership
// bookkeeping and in-place reuse in GoMLX v0.26). Results have been exact in our tests, but packages that
// run graphs under the race detector may want GOMLX_BACKEND=go:ops_sequential (which, run under -race,
// has reported none).
//
// SimpleGo's constructor prints "SimpleGo backend: parallelism set to ..." to stdout with fmt.Printf. To
// keep command output clean, [New] points os.Stdout at os.DevNull for the few microseconds that
// constructor runs. Anything another goroutine writes to os.Stdout during that window is lost.
//
// # DotGeneral gradients
//
// GoMLX v0.26 builds the gradient of DotGeneral (and of Dot) as a broadcast multiply followed by a
// ReduceSum: it materialises an O(B·L·Hin·Hout) tensor and is about an order of magnitude slower than
// needed on SimpleGo for a BERT training step. [RegisterDotGeneralGradient] (called when this package is
// initialised, and by [New]) replaces both gradients in graph.VJPRegistration with ones built from DotGeneral (and, where
// needed, Transpose) ops, as later GoMLX versions do. It matters as much on XLA-CPU: XLA does not turn
// the broadcast-multiply-reduce back into a matmul, and one training step of the tiny cross-encoder
// (batch 16 × 128 tokens, BenchmarkCrossEncoderTrainStep in models) took 27.0 s with the stock gradient
// against 0.48 s with this one on lammps-jax-pjrt-cpu (12.6 s against 0.42 s on xla-cpu-pjrt; 2 shared
// cores), so it is kept for every backend. [UseStockDotGeneralGradient] restores GoMLX's originals. Both mutate a global map: call them before building graphs, not while other goroutines
// compute gradients.
//
// # Ops SimpleGo lacks (GoMLX v0.26)
//
// SimpleGo implements no Pad, Reverse, DynamicSlice or DynamicUpdateSlice. The consequence that bites a
// BERT training step is that the gradient of graph.Slice is built with Pad, so differentiating through a
// Slice (e.g. taking the [CLS] position with graph.Slice, or slicing position embeddings) fails on SimpleGo
// with an error saying op "Pad" is not implemented; use graph.Gather (whose gradient, a ScatterSum, works on SimpleGo) or a
// one-hot/mask multiply instead. Ops a BERT training step may touch that SimpleGo does not support:
//
//   - Pad: the gradient of Slice (and so of anything built on Slice, e.g. SliceAxis, Split).
//   - Pad: also the gradient of pooling (ops_pool.go).
//   - Reverse: graph.Reverse, and the gradient of ConvGeneral.
//   - DynamicSlice, DynamicUpdateSlice: dynamic position offsets, and the gradients of both.
//   - SelectAndScatterMax/Min/Sum: the gradient of max-pooling (ReduceWindow with max).
//   - ShiftLeft/ShiftRight*, Bitcast: some bit-level helpers (not used by dropout's RandomUniform).
//   - BatchNorm*, FFT, complex numbers and the *TotalOrder comparisons (not used by BERT).
//
// Ops a BERT training step does use and that work on SimpleGo, gradients included, are DotGeneral, Gather
// (its gradient is a ScatterSum), Erf/Tanh (GELU), Exp/Log/ReduceMax/ReduceSum (softmax, layer norm),
// Sqrt, Div, Where, Concatenate (its gradient is built with Slice, not Pad), ConvertDType and
// RNGBitGenerator (dropout).
//
// Whatever the backend, GoMLX v0.26 defines no gradient for Rsqrt, Expm1, Clamp and ReduceProduct: write
// a layer norm as Div(x, Sqrt(variance+ε)), as layers.LayerNormalization does, not with Rsqrt.
package backend
