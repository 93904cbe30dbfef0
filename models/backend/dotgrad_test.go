package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// dotCase is one DotGeneral/Dot/Einsum pattern whose gradient is checked.
type dotCase struct {
	name             string
	lhsDims, rhsDims []int
	fn               func(lhs, rhs *graph.Node) *graph.Node
}

func dotGeneralFn(lc, lb, rc, rb []int) func(lhs, rhs *graph.Node) *graph.Node {
	return func(lhs, rhs *graph.Node) *graph.Node { return graph.DotGeneral(lhs, lc, lb, rhs, rc, rb) }
}

func einsumFn(eq string) func(lhs, rhs *graph.Node) *graph.Node {
	return func(lhs, rhs *graph.Node) *graph.Node { return graph.Einsum(eq, lhs, rhs) }
}

var dotCases = []dotCase{
	{"matmul", []int{3, 4}, []int{4, 5}, dotGeneralFn([]int{1}, nil, []int{0}, nil)},
	{"Dot/matmul", []int{3, 4}, []int{4, 5}, graph.Dot},
	{"Dot/matrix-vector", []int{3, 4}, []int{4}, graph.Dot},
	{"Dot/vector-vector", []int{4}, []int{4}, graph.Dot},
	{"attention-scores bqhd,bkhd->bhqk", []int{2, 3, 2, 4}, []int{2, 5, 2, 4}, einsumFn("bqhd,bkhd->bhqk")},
	{"attention-values bhqk,bkhd->bqhd", []int{2, 2, 3, 5}, []int{2, 5, 2, 4}, einsumFn("bhqk,bkhd->bqhd")},
	{"dense-rank3 bsi,io->bso", []int{2, 3, 4}, []int{4, 5}, einsumFn("bsi,io->bso")},
	{"two-contracting ijk,jkl->il", []int{2, 3, 4}, []int{3, 4, 5}, einsumFn("ijk,jkl->il")},
	// Contracting pairs given in an order different from the axes' order: lhs 2<->rhs 0, lhs 1<->rhs 1.
	{"crossed-contracting-pairs", []int{2, 3, 4}, []int{4, 3, 5}, dotGeneralFn([]int{2, 1}, nil, []int{0, 1}, nil)},
	// Batch axes last/middle, contracting first/last: lhs [c=4, x=3, b=2], rhs [x=5, b=2, c=4].
	{"non-canonical-axes", []int{4, 3, 2}, []int{5, 2, 4}, dotGeneralFn([]int{0}, []int{2}, []int{2}, []int{1})},
	// Batch axes not first: lhs [x=3, b=2, c=4], rhs [c=4, x=5, b=2].
	{"batch-not-first", []int{3, 2, 4}, []int{4, 5, 2}, dotGeneralFn([]int{2}, []int{1}, []int{0}, []int{2})},
	// Two batch axes paired in swapped order, plus a contracting axis.
	{"two-batch-swapped", []int{2, 3, 4, 2}, []int{3, 2, 4, 5}, dotGeneralFn([]int{2}, []int{0, 1}, []int{2}, []int{1, 0})},
	{"outer-product", []int{3}, []int{4}, dotGeneralFn(nil, nil, nil, nil)},
	{"full-contraction", []int{3, 4}, []int{3, 4}, dotGeneralFn([]int{0, 1}, nil, []int{0, 1}, nil)},
}

func randomTensor(rng *rand.Rand, dims []int) (*tensors.Tensor, []float64) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	flat := make([]float64, n)
	for i := range flat {
		flat[i] = rng.Float64()*2 - 1
	}
	return tensors.FromFlatDataAndDimensions(flat, dims...), flat
}

// dotLoss is a non-linear scalar function of the dot output, so that its gradient depends on both operands.
func dotLoss(fn func(lhs, rhs *graph.Node) *graph.Node, lhs, rhs *graph.Node) *graph.Node {
	out := fn(lhs, rhs)
	// Distinct weights make every output element count differently.
	w := make([]float64, out.Shape().Size())
	for i := range w {
		w[i] = 0.2 + 0.1*float64((i*7)%11)
	}
	wT := tensors.FromFlatDataAndDimensions(w, out.Shape().Dimensions...)
	wNode := graph.ConvertDType(graph.Const(out.Graph(), wT), out.DType())
	return graph.ReduceAllSum(graph.Mul(graph.Tanh(out), wNode))
}

// gradientExec returns an Exec computing (loss, dLoss/dlhs, dLoss/drhs).
func gradientExec(t testing.TB, b backends.Backend, fn func(lhs, rhs *graph.Node) *graph.Node) *graph.Exec {
	t.Helper()
	e, err := graph.NewExec(b, func(lhs, rhs *graph.Node) []*graph.Node {
		loss := dotLoss(fn, lhs, rhs)
		grads := graph.Gradient(loss, lhs, rhs)
		return []*graph.Node{loss, grads[0], grads[1]}
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func flat64(t testing.TB, x *tensors.Tensor) []float64 {
	t.Helper()
	v, err := tensors.CopyFlatData[float64](x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// countNodes counts the nodes of each type in the graph of the last execution of e for the given args.
func countNodeTypes(t testing.TB, e *graph.Exec, args ...any) map[graph.NodeType]int {
	t.Helper()
	_, g, err := e.ExecWithGraph(args...)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[graph.NodeType]int{}
	for _, n := range g.Nodes() {
		counts[n.Type()]++
	}
	return counts
}

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	t.Setenv(ConfigEnvVar, SimpleGoConfig)
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Finalize)
	return b
}

// TestDotGeneralGradientFiniteDifferences checks the registered gradient against central finite
// differences (float64) and against GoMLX's stock gradient, on many DotGeneral layouts.
func TestDotGeneralGradientFiniteDifferences(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range dotCases {
		t.Run(tc.name, func(t *testing.T) {
			lhsT, lhsFlat := randomTensor(rng, tc.lhsDims)
			rhsT, rhsFlat := randomTensor(rng, tc.rhsDims)

			UseStockDotGeneralGradient()
			stock := gradientExec(t, b, tc.fn)
			stockOut, err := stock.Exec(lhsT, rhsT) // Compiles (and so fixes) the graph with the stock VJP.
			RegisterDotGeneralGradient()
			if err != nil {
				t.Fatalf("stock gradient: %v", err)
			}
			ours := gradientExec(t, b, tc.fn)
			oursOut, err := ours.Exec(lhsT, rhsT)
			if err != nil {
				t.Fatalf("registered gradient: %v", err)
			}

			// The registered gradient must really be in use: its graph has a DotGeneral per gradient.
			counts := countNodeTypes(t, ours, lhsT, rhsT)
			if got := counts[graph.NodeTypeDotGeneral]; got < 2 {
				t.Errorf("graph with the registered gradient has %d DotGeneral nodes, want >= 2 (node types: %v)",
					got, counts)
			}

			lossFn, err := graph.NewExec(b, func(lhs, rhs *graph.Node) *graph.Node { return dotLoss(tc.fn, lhs, rhs) })
			if err != nil {
				t.Fatal(err)
			}
			loss := func(l, r []float64) float64 {
				out, err := lossFn.Exec(tensors.FromFlatDataAndDimensions(l, tc.lhsDims...),
					tensors.FromFlatDataAndDimensions(r, tc.rhsDims...))
				if err != nil {
					t.Fatal(err)
				}
				return flat64(t, out[0])[0]
			}
			const eps = 1e-6
			numeric := func(x []float64) []float64 {
				grad := make([]float64, len(x))
				for i := range x {
					orig := x[i]
					x[i] = orig + eps
					up := loss(lhsFlat, rhsFlat)
					x[i] = orig - eps
					down := loss(lhsFlat, rhsFlat)
					x[i] = orig
					grad[i] = (up - down) / (2 * eps)
				}
				return grad
			}
			wantLhs, wantRhs := numeric(lhsFlat), numeric(rhsFlat)

			compare := func(what string, got, want []float64, tol float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
				}
				for i := range got {
					if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
						t.Fatalf("%s[%d] = %.10g, want %.10g", what, i, got[i], want[i])
					}
				}
			}
			if l0, l1 := flat64(t, oursOut[0])[0], flat64(t, stockOut[0])[0]; math.Abs(l0-l1) > 1e-12 {
				t.Fatalf("loss differs: %g vs stock %g", l0, l1)
			}
			compare("dLhs vs finite differences", flat64(t, oursOut[1]), wantLhs, 1e-6)
			compare("dRhs vs finite differences", flat64(t, oursOut[2]), wantRhs, 1e-6)
			compare("dLhs vs stock", flat64(t, oursOut[1]), flat64(t, stockOut[1]), 1e-12)
			compare("dRhs vs stock", flat64(t, oursOut[2]), flat64(t, stockOut[2]), 1e-12)
		})
	}
}

// TestDotGeneralGradientFloat32Dense checks a float32 Dense stack (the benchmark's shape, scaled down)
// against the stock gradient, and that registering is idempotent and reversible.
func TestDotGeneralGradientFloat32Dense(t *testing.T) {
	b := testBackend(t)
	RegisterDotGeneralGradient()
	RegisterDotGeneralGradient() // Idempotent.
	x, w1, w2 := denseStackInputs(4, 8, 16, 32)
	run := func() ([]*tensors.Tensor, map[graph.NodeType]int) {
		e, err := graph.NewExec(b, denseStackGradient)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Exec(x, w1, w2)
		if err != nil {
			t.Fatal(err)
		}
		return out, countNodeTypes(t, e, x, w1, w2)
	}
	ours, oursCounts := run()
	UseStockDotGeneralGradient()
	UseStockDotGeneralGradient() // Idempotent.
	stock, stockCounts := run()
	RegisterDotGeneralGradient()
	if oursCounts[graph.NodeTypeDotGeneral] <= stockCounts[graph.NodeTypeDotGeneral] {
		t.Errorf("registered gradient graph has %d DotGeneral nodes, stock has %d: registration had no effect",
			oursCounts[graph.NodeTypeDotGeneral], stockCounts[graph.NodeTypeDotGeneral])
	}
	for i := range ours {
		got, err := tensors.CopyFlatData[float32](ours[i])
		if err != nil {
			t.Fatal(err)
		}
		want, err := tensors.CopyFlatData[float32](stock[i])
		if err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if d := math.Abs(float64(got[j] - want[j])); d > 1e-3*(1+math.Abs(float64(want[j]))) {
				t.Fatalf("output %d [%d] = %g, stock gives %g", i, j, got[j], want[j])
			}
		}
	}
}

// denseStackInputs returns float32 inputs x [batch, seq, hidden], w1 [hidden, inner], w2 [inner, hidden].
func denseStackInputs(batch, seq, hidden, inner int) (x, w1, w2 *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func(scale float64, dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		flat := make([]float32, n)
		for i := range flat {
			flat[i] = float32((rng.Float64()*2 - 1) * scale)
		}
		return tensors.FromFlatDataAndDimensions(flat, dims...)
	}
	return mk(1, batch, seq, hidden), mk(1/math.Sqrt(float64(hidden)), hidden, inner),
		mk(1/math.Sqrt(float64(inner)), inner, hidden)
}

// denseStackGradient is a BERT-feed-forward-like Dense stack (x·w1 → GELU-ish tanh → ·w2) and its gradients
// with respect to the input and both weights.
func denseStackGradient(x, w1, w2 *graph.Node) []*graph.Node {
	h := graph.Tanh(graph.Einsum("bsi,io->bso", x, w1))
	y := graph.Einsum("bsi,io->bso", h, w2)
	loss := graph.ReduceAllMean(graph.Square(y))
	grads := graph.Gradient(loss, x, w1, w2)
	return append([]*graph.Node{loss}, grads...)
}

// BenchmarkDotGeneralGradient times one gradient step of a BERT-tiny-shaped Dense stack (batch 32 x seq 64
// x 128 → 512 → 128, float32) with GoMLX's stock DotGeneral gradient and with the registered one.
func BenchmarkDotGeneralGradient(b *testing.B) {
	backend := testBackend(b)
	x, w1, w2 := denseStackInputs(32, 64, 128, 512)
	for _, variant := range []struct {
		name     string
		register func()
	}{{"stock", UseStockDotGeneralGradient}, {"registered", RegisterDotGeneralGradient}} {
		b.Run(variant.name, func(b *testing.B) {
			variant.register()
			defer RegisterDotGeneralGradient()
			e, err := graph.NewExec(backend, denseStackGradient)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Finalize()
			if _, err := e.Exec(x, w1, w2); err != nil { // Compile outside the timing.
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				out, err := e.Exec(x, w1, w2)
				if err != nil {
					b.Fatal(err)
				}
				finalizeAll(out)
			}
		})
	}
}
