package losses_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models/backend/backendtest"
)

// Tolerances of the cross-backend comparisons of losses, SimpleGo's result being the reference (see
// backendtest.Tolerance). A loss reduces a few dozen values through exp/log/softmax: XLA sums them in
// another order and evaluates exp and log with its own approximations, which moved float32 results
// by at most 1.2e-7 of the tensor's largest magnitude (1 ulp; see -v). 5e-6 (about 40 ulps) leaves room
// for other CPUs' code generation and still catches a wrong axis, a missing StopGradient or a dropped
// term, which change results by percents. float64 differences were below 3e-16 of the scale.
var (
	lossFP32 = backendtest.Tolerance{Rel: 5e-6, Scale: 5e-6}
	lossFP64 = backendtest.Tolerance{Rel: 1e-13, Scale: 1e-14}
)

// crossLoss is a loss compared across backends: its inputs' shapes, whether they must be positive
// (sparse weights), and the loss.
type crossLoss struct {
	name     string
	shapes   [][]int
	positive bool
	fn       func(xs []*Node) *Node
}

var crossLosses = []crossLoss{
	{"BinaryCrossEntropy", [][]int{{8}, {8}}, false, func(x []*Node) *Node {
		return losses.BinaryCrossEntropy(x[0], Sigmoid(x[1])) // soft labels in (0, 1)
	}},
	{"FixedMarginMSE", [][]int{{8}, {8}}, false, func(x []*Node) *Node { return losses.FixedMarginMSE(x[0], x[1], 1.5) }},
	{"FLOPS", [][]int{{6, 50}}, true, func(x []*Node) *Node { return losses.FLOPS(x[0]) }},
	{"InBatchScores", [][]int{{4, 12}}, false, func(x []*Node) *Node { return losses.InBatchScores(x[0], 3, 0.05) }},
	{"InfoNCE", [][]int{{5, 16}, {5, 16}}, false, func(x []*Node) *Node { return losses.InfoNCE(x[0], x[1], 0.05) }},
	{"KLDivergence", [][]int{{6, 8}, {6, 8}}, false, func(x []*Node) *Node { return losses.KLDivergence(x[0], x[1], 2) }},
	{"KLPlusMarginMSE", [][]int{{6, 8}, {6, 8}}, false, func(x []*Node) *Node {
		return losses.KLPlusMarginMSE(x[0], x[1], 1, 0.5, 0.05)
	}},
	{"L1", [][]int{{6, 50}}, true, func(x []*Node) *Node { return losses.L1(x[0]) }},
	{"LocalizedContrastive", [][]int{{6, 8}}, false, func(x []*Node) *Node { return losses.LocalizedContrastive(x[0]) }},
	{"MarginMSE", [][]int{{8}, {8}, {8}, {8}}, false, func(x []*Node) *Node { return losses.MarginMSE(x[0], x[1], x[2], x[3]) }},
	{"MarginMSEMulti", [][]int{{6, 8}, {6, 8}}, false, func(x []*Node) *Node { return losses.MarginMSEMulti(x[0], x[1]) }},
	{"MarginMSEAllPairs", [][]int{{6, 8}, {6, 8}}, false, func(x []*Node) *Node { return losses.MarginMSEAllPairs(x[0], x[1]) }},
	{"MSE", [][]int{{6, 8}, {6, 8}}, false, func(x []*Node) *Node { return losses.MSE(x[0], x[1]) }},
	{"PairwiseHinge", [][]int{{8}, {8}}, false, func(x []*Node) *Node { return losses.PairwiseHinge(x[0], x[1], 1) }},
	// The score transforms, through a loss that depends on every entry.
	{"Standardize", [][]int{{6, 8}, {6, 8}}, false, func(x []*Node) *Node { return losses.MSE(losses.Standardize(x[0]), x[1]) }},
	{"MinMaxNormalize", [][]int{{6, 8}, {6, 8}}, false, func(x []*Node) *Node {
		return losses.MSE(losses.MinMaxNormalize(x[0]), x[1])
	}},
}

// TestCrossBackendLosses computes every loss and its gradient with respect to all its inputs (zero for
// the teacher's, which the losses stop) on SimpleGo and XLA-CPU, in float32 and float64, from the same
// random inputs, and compares them.
func TestCrossBackendLosses(t *testing.T) {
	both := backendtest.Both(t)
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		tol := lossFP32
		if dtype == dtypes.Float64 {
			tol = lossFP64
		}
		for i, lc := range crossLosses {
			t.Run(lc.name+"/"+dtype.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(i), 9))
				inputs := make([]*tensors.Tensor, len(lc.shapes))
				for k, dims := range lc.shapes {
					inputs[k] = randomTensor(rng, dtype, lc.positive, dims...)
				}
				var results [][]*tensors.Tensor
				for _, nb := range both {
					var err error
					exec, err := NewExec(nb.Backend, func(xs []*Node) []*Node {
						loss := lc.fn(xs)
						return append([]*Node{loss}, Gradient(loss, xs...)...)
					})
					if err != nil {
						t.Fatal(err)
					}
					// A tensor may live on one backend only: each gets its own copy of the inputs.
					args := make([]any, len(inputs))
					for k, in := range inputs {
						if args[k], err = in.LocalClone(); err != nil {
							t.Fatal(err)
						}
					}
					outs, err := exec.Exec(args...)
					exec.Finalize()
					if err != nil {
						t.Fatalf("%s: %v", nb.Name, err)
					}
					results = append(results, outs)
				}
				backendtest.Compare(t, "loss", results[1][0], results[0][0], tol)
				for k := range lc.shapes {
					backendtest.Compare(t, "∂loss/∂input"+string(rune('0'+k)), results[1][k+1], results[0][k+1], tol)
				}
			})
		}
	}
}

// randomTensor is a tensor of normal (or, if positive, absolute normal) values.
func randomTensor(rng *rand.Rand, dtype dtypes.DType, positive bool, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
		if positive {
			v[i] = max(v[i], -v[i])
		}
	}
	if dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	f := make([]float32, n)
	for i, x := range v {
		f[i] = float32(x)
	}
	return tensors.FromFlatDataAndDimensions(f, dims...)
}
