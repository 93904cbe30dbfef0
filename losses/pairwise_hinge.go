package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// PairwiseHinge is the classic hard-label pairwise ranking loss: a hinge on the margin between the positive
// and the negative score,
//
//	L = mean_b max(0, m − (s⁺_b − s⁻_b))
//
// zero once the positive beats the negative by at least the margin m (Herbrich, Graepel & Obermayer, "Large
// Margin Rank Boundaries for Ordinal Regression", 2000; Joachims, "Optimizing Search Engines using
// Clickthrough Data", KDD 2002). PyTorch's MarginRankingLoss(margin=m) with target 1 computes the same.
//
// studentPos and studentNeg must have the same shape, usually [B].
func PairwiseHinge(studentPos, studentNeg *Node, margin float64) *Node {
	const fn = "PairwiseHinge"
	in := []named{{"studentPos", studentPos}, {"studentNeg", studentNeg}}
	requireFloat(fn, in...)
	requireSameShape(fn, in...)
	return ReduceAllMean(MaxScalar(AddScalar(Sub(studentNeg, studentPos), margin), 0.0))
}
