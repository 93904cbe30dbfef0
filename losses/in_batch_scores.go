package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// InBatchScores is the in-batch contrastive loss on a precomputed score matrix, for students whose
// relevance score is not a dot product of two vectors (ColBERT's MaxSim): each query must pick out its own
// positive among all the passages of the batch, every other query's passages serving as its negatives,
//
//	L = mean_i −log softmax(S_i / τ)_{i·g} = mean_i ( log Σ_k exp(S_ik / τ) − S_{i,i·g} / τ )
//
// scores is [B, B·g]: row i holds query i's scores against every passage of the batch, laid out as B groups
// of g passages (each query's positive first in its group, then its own hard negatives), so query i's
// positive is column i·g. With g = 1 and scores = q·dᵀ it is [InfoNCE] (van den Oord, Li & Vinyals 2018,
// arXiv:1807.03748); with hard negatives in the groups it is the in-batch training of ColBERTv2 and of
// PyLate's losses.Contrastive (Santhanam et al. 2022, arXiv:2112.01488). τ > 0 is the temperature.
func InBatchScores(scores *Node, group int, temperature float64) *Node {
	const fn = "InBatchScores"
	requireTemperature(fn, temperature)
	in := named{"scores", scores}
	requireFloat(fn, in)
	requireMatrix(fn, in, 1, "[B, B·g] scores")
	dims := scores.Shape().Dimensions
	if group < 1 || dims[1] != dims[0]*group {
		panicf(fn, "scores (%s) must have B·g = %d·%d columns", scores.Shape(), dims[0], group)
	}
	logProbs := LogSoftmax(DivScalar(scores, temperature), -1)
	pos := boolConst(scores.Graph(), dims[0], dims[1], func(i, j int) bool { return j == i*group })
	return Neg(ReduceAllMean(ReduceSum(Where(pos, logProbs, ZerosLike(logProbs)), 1)))
}
