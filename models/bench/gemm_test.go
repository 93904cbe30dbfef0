package bench

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// gemms are the matrix products of a MiniLM-L6 training step on batch 16 × 128 tokens (2,048 rows):
// the forward X·W of the feed-forward block and of a 384 × 384 projection, and the backward's
// dX = dY·Wᵀ and dW = Xᵀ·dY (contracting the token axis). torch_gemm.py times the same products
// in PyTorch.
var gemms = []struct {
	name             string
	lhs, rhs         [2]int
	lhsAxis, rhsAxis int // the contracted axes
}{
	{"fwd_X2048x384_W384x1536", [2]int{2048, 384}, [2]int{384, 1536}, 1, 0},
	{"dX_dY2048x1536_W384x1536T", [2]int{2048, 1536}, [2]int{384, 1536}, 1, 1},
	{"dW_X2048x384T_dY2048x1536", [2]int{2048, 384}, [2]int{2048, 1536}, 0, 0},
	{"fwd_X2048x384_W384x384", [2]int{2048, 384}, [2]int{384, 384}, 1, 0},
	{"dW_X2048x384T_dY2048x384", [2]int{2048, 384}, [2]int{2048, 384}, 0, 0},
}

// BenchmarkGEMM times each product of gemms alone on XLA-CPU (GFLOP/s as a metric), to tell the
// GEMM kernels' share of the gap between a whole XLA-CPU step and PyTorch's:
//
//	GOMAXPROCS=2 go test -run '^$' -bench GEMM ./models/bench/
//	.venv/bin/python models/bench/torch_gemm.py --threads 2
func BenchmarkGEMM(b *testing.B) {
	be, choice, err := backend.NewXLACPU()
	if err != nil {
		b.Skipf("no XLA-CPU plugin (%v): python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt", err)
	}
	defer be.Finalize()
	b.Logf("backend: %s", choice)
	for _, c := range gemms {
		b.Run(c.name, func(b *testing.B) {
			exec, err := graph.NewExec(be, func(x, y *graph.Node) *graph.Node {
				return graph.DotGeneral(x, []int{c.lhsAxis}, nil, y, []int{c.rhsAxis}, nil)
			})
			if err != nil {
				b.Fatal(err)
			}
			x := tensors.FromShape(shapes.Make(dtypes.Float32, c.lhs[0], c.lhs[1]))
			y := tensors.FromShape(shapes.Make(dtypes.Float32, c.rhs[0], c.rhs[1]))
			out, err := exec.Exec(x, y) // compiles
			if err != nil {
				b.Fatal(err)
			}
			flops := 2 * float64(c.lhs[0]*c.lhs[1]*c.rhs[0]*c.rhs[1]) / float64(c.lhs[c.lhsAxis])
			out[0].FinalizeAll()
			n := 0
			for b.Loop() {
				n++
				out, err := exec.Exec(x, y)
				if err != nil {
					b.Fatal(err)
				}
				out[0].FinalizeAll()
			}
			b.ReportMetric(flops*float64(n)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
