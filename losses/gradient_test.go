package losses_test

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/mimicry-ir/mimicry/losses"
)

// gradCase is a loss whose gradient is checked against central finite differences in float64.
type gradCase struct {
	name   string
	fn     lossFn
	dims   [][]int   // shape of each input
	lo, hi []float64 // inputs are drawn uniformly from ±[lo, hi] (lo > 0 keeps them away from 0)
	// constant marks the inputs the loss treats as targets (teacher scores, labels): their gradient must be 0.
	constant []bool
}

func gradCases() []gradCase {
	pair := func(n int) [][]int { return [][]int{{n}, {n}} }
	return []gradCase{
		{name: "BinaryCrossEntropy", fn: func(xs []*Node) *Node { return losses.BinaryCrossEntropy(xs[0], xs[1]) },
			dims: [][]int{{2, 3}, {2, 3}}, lo: []float64{0, 0}, hi: []float64{3, 1}, constant: []bool{false, true}},
		{name: "LocalizedContrastive", fn: func(xs []*Node) *Node { return losses.LocalizedContrastive(xs[0]) },
			dims: [][]int{{2, 4}}, lo: []float64{0}, hi: []float64{2}},
		{name: "MarginMSE", fn: func(xs []*Node) *Node { return losses.MarginMSE(xs[0], xs[1], xs[2], xs[3]) },
			dims: [][]int{{3}, {3}, {3}, {3}}, lo: []float64{0, 0, 0, 0}, hi: []float64{2, 2, 2, 2},
			constant: []bool{false, false, true, true}},
		{name: "MarginMSEMulti", fn: func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) },
			dims: [][]int{{2, 4}, {2, 4}}, lo: []float64{0, 0}, hi: []float64{2, 2}, constant: []bool{false, true}},
		{name: "MarginMSEAllPairs", fn: func(xs []*Node) *Node { return losses.MarginMSEAllPairs(xs[0], xs[1]) },
			dims: [][]int{{2, 4}, {2, 4}}, lo: []float64{0, 0}, hi: []float64{2, 2}, constant: []bool{false, true}},
		{name: "MSE", fn: func(xs []*Node) *Node { return losses.MSE(xs[0], xs[1]) },
			dims: [][]int{{2, 3}, {2, 3}}, lo: []float64{0, 0}, hi: []float64{2, 2}, constant: []bool{false, true}},
		{name: "FLOPS", fn: func(xs []*Node) *Node { return losses.FLOPS(xs[0]) },
			dims: [][]int{{3, 4}}, lo: []float64{0.1}, hi: []float64{1}},
		{name: "L1", fn: func(xs []*Node) *Node { return losses.L1(xs[0]) },
			dims: [][]int{{3, 4}}, lo: []float64{0.1}, hi: []float64{1}},
		{name: "KLDivergence", fn: func(xs []*Node) *Node { return losses.KLDivergence(xs[0], xs[1], 0.7) },
			dims: [][]int{{2, 4}, {2, 4}}, lo: []float64{0, 0}, hi: []float64{2, 2}, constant: []bool{false, true}},
		{name: "KLPlusMarginMSE", fn: func(xs []*Node) *Node { return losses.KLPlusMarginMSE(xs[0], xs[1], 2, 0.6, 0.4) },
			dims: [][]int{{2, 4}, {2, 4}}, lo: []float64{0, 0}, hi: []float64{2, 2}, constant: []bool{false, true}},
		{name: "InBatchScores", fn: func(xs []*Node) *Node { return losses.InBatchScores(xs[0], 2, 0.5) },
			dims: [][]int{{2, 4}}, lo: []float64{-1}, hi: []float64{1}},
		{name: "FixedMarginMSE", fn: func(xs []*Node) *Node { return losses.FixedMarginMSE(xs[0], xs[1], 1) },
			dims: pair(3), lo: []float64{0, 0}, hi: []float64{2, 2}},
		{name: "PairwiseHinge", fn: func(xs []*Node) *Node { return losses.PairwiseHinge(xs[0], xs[1], 1) },
			dims: pair(8), lo: []float64{0, 0}, hi: []float64{3, 3}},
		{name: "InfoNCE", fn: func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], 0.5) },
			dims: [][]int{{3, 2}, {4, 2}}, lo: []float64{0, 0}, hi: []float64{1, 1}},
		{name: "Standardize", fn: func(xs []*Node) *Node { return weightedSum(losses.Standardize(xs[0])) },
			dims: [][]int{{2, 3}}, lo: []float64{0}, hi: []float64{3}},
		{name: "MinMaxNormalize", fn: func(xs []*Node) *Node { return weightedSum(losses.MinMaxNormalize(xs[0])) },
			dims: [][]int{{2, 4}}, lo: []float64{0}, hi: []float64{3}},
	}
}

// TestGradientsFiniteDifferences compares, for every loss, the gradient GoMLX builds with respect to every
// element of every input with central finite differences in float64, and checks that the inputs the loss
// treats as targets get a zero gradient.
func TestGradientsFiniteDifferences(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(7, 11))
	for _, c := range gradCases() {
		t.Run(c.name, func(t *testing.T) {
			// Random inputs, magnitudes in [lo, hi] with random signs (for lo > 0: away from kinks at 0).
			inputs := make([][]float64, len(c.dims))
			for i, dims := range c.dims {
				n := 1
				for _, d := range dims {
					n *= d
				}
				inputs[i] = make([]float64, n)
				for k := range inputs[i] {
					v := c.lo[i] + (c.hi[i]-c.lo[i])*rng.Float64()
					if c.lo[i] > 0 && rng.IntN(2) == 0 {
						v = -v
					}
					inputs[i][k] = v
				}
			}
			if c.name == "BinaryCrossEntropy" {
				// Logits of both signs; labels stay in [0, 1].
				for k := range inputs[0] {
					inputs[0][k] -= 1.5
				}
			}
			args := func() []any {
				a := make([]any, len(inputs))
				for i := range inputs {
					a[i] = tensors.FromFlatDataAndDimensions(append([]float64(nil), inputs[i]...), c.dims[i]...)
				}
				return a
			}

			gradExec, err := NewExec(b, func(xs []*Node) []*Node {
				loss := c.fn(xs)
				return append([]*Node{loss}, Gradient(loss, xs...)...)
			})
			if err != nil {
				t.Fatal(err)
			}
			defer gradExec.Finalize()
			out, err := gradExec.Exec(args()...)
			if err != nil {
				t.Fatal(err)
			}
			lossExec, err := NewExec(b, c.fn)
			if err != nil {
				t.Fatal(err)
			}
			defer lossExec.Finalize()
			lossAt := func() float64 {
				o, err := lossExec.Exec(args()...)
				if err != nil {
					t.Fatal(err)
				}
				return o[0].Value().(float64)
			}
			if l0 := lossAt(); math.Abs(l0-out[0].Value().(float64)) > 1e-12 {
				t.Fatalf("loss %g from the gradient graph, %g alone", out[0].Value(), l0)
			}

			const eps = 1e-6
			for i := range inputs {
				grad := tensors.MustCopyFlatData[float64](out[i+1])
				isConstant := i < len(c.constant) && c.constant[i]
				for k := range inputs[i] {
					if isConstant {
						if grad[k] != 0 {
							t.Errorf("input %d (a target) [%d]: gradient %g, want 0", i, k, grad[k])
						}
						continue
					}
					orig := inputs[i][k]
					inputs[i][k] = orig + eps
					plus := lossAt()
					inputs[i][k] = orig - eps
					minus := lossAt()
					inputs[i][k] = orig
					numeric := (plus - minus) / (2 * eps)
					if !near(grad[k], numeric, 1e-7, 1e-5) {
						t.Errorf("input %d [%d]: gradient %.10g, finite differences %.10g", i, k, grad[k], numeric)
					}
				}
			}
		})
	}
}
