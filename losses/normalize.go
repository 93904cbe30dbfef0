package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// StandardizeEpsilon is added to the variance in [Standardize], so that a batch of identical scores maps to
// zeros instead of dividing by zero.
const StandardizeEpsilon = 1e-8

// MinMaxEpsilon is added to the range in [MinMaxNormalize], as in PyLate.
const MinMaxEpsilon = 1e-8

// Standardize returns the z-scores of all the scores of the batch, with one mean and one standard deviation
// for the whole tensor:
//
//	μ = mean(s),   σ² = mean((s − μ)²),   z = (s − μ) / √(σ² + ε),   ε = StandardizeEpsilon
//
// σ² is the population variance (divided by the number of elements, numpy's default ddof=0, not PyTorch's
// unbiased torch.std). Use it to put teacher scores on a fixed scale before [MSE] or [KLDivergence]
// (optional teacher-score standardisation); margins are rescaled by 1/σ, so it changes [MarginMSE] too.
// The result has the shape of scores (any shape with at least one element). It is differentiable.
func Standardize(scores *Node) *Node {
	const fn = "Standardize"
	in := named{"scores", scores}
	requireFloat(fn, in)
	requireSameShape(fn, in)
	centered := Sub(scores, ReduceAllMean(scores))
	variance := ReduceAllMean(Square(centered))
	// 1/√ rather than Rsqrt: GoMLX v0.26 has no gradient for Rsqrt.
	return Div(centered, Sqrt(AddScalar(variance, StandardizeEpsilon)))
}

// MinMaxNormalize rescales each query's scores to [0, 1]:
//
//	ŝ_bj = (s_bj − min_k s_bk) / (max_k s_bk − min_k s_bk + ε),   ε = MinMaxEpsilon
//
// This is the normalisation PyLate's Distillation loss applies to the student's scores before its KL
// divergence (normalize_scores=True), so KLDivergence(MinMaxNormalize(student), teacher, 1) reproduces
// PyLate's loss. scores is [B, m]; the result has the same shape. It is differentiable (the gradient flows
// through the minimum and maximum entries too).
func MinMaxNormalize(scores *Node) *Node {
	const fn = "MinMaxNormalize"
	in := named{"scores", scores}
	requireFloat(fn, in)
	requireMatrix(fn, in, 1, "[B, m] scores")
	lo := ReduceAndKeep(scores, ReduceMin, -1)
	hi := ReduceAndKeep(scores, ReduceMax, -1)
	return Div(Sub(scores, lo), AddScalar(Sub(hi, lo), MinMaxEpsilon))
}
