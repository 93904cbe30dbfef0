package losses

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// SparsityWeight is SPLADE's quadratic warm-up of the weight λ of a sparsity regulariser ([FLOPS] or [L1]):
//
//	λ_t = λ · min(1, t/T)²
//
// at training step t with T warm-up steps, so that the regulariser is switched on gradually while the
// representations form (Formal, Piwowarski & Clinchant, "SPLADE: Sparse Lexical and Expansion Model for First
// Stage Ranking", SIGIR 2021, arXiv:2107.05720). step counts the steps already taken: step 0 gives 0 (a
// scheduler that advances its counter before it is read corresponds to step+1), and every step ≥ T gives λ.
// Negative steps give 0; warmupSteps ≤ 0 means no warm-up (λ at every step).
//
// It is a plain Go function, to compute on the host; [SparsityWeightNode] is the same schedule inside a
// training graph, from the step counter.
func SparsityWeight(lambda float64, step, warmupSteps int) float64 {
	if warmupSteps <= 0 || step >= warmupSteps {
		return lambda
	}
	if step <= 0 {
		return 0
	}
	r := float64(step) / float64(warmupSteps)
	return lambda * r * r
}

// SparsityWeightNode is [SparsityWeight] computed in the graph from step, the number of updates applied
// so far (an integer scalar node, such as a trainer's global step): λ·min(1, max(0, step/T))², or λ at
// every step when warmupSteps ≤ 0. The result is a scalar of the given dtype.
func SparsityWeightNode(step *Node, lambda float64, warmupSteps int, dtype dtypes.DType) *Node {
	g := step.Graph()
	if warmupSteps <= 0 || lambda == 0 {
		return Scalar(g, dtype, lambda)
	}
	r := DivScalar(ConvertDType(step, dtype), float64(warmupSteps))
	r = Min(Max(r, ScalarZero(g, dtype)), ScalarOne(g, dtype))
	return MulScalar(Square(r), lambda)
}
