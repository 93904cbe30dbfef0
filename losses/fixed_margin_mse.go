package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// DefaultFixedMargin is the target margin of [FixedMarginMSE] when there is no reason to choose another: one
// unit of score between the positive and the negative.
const DefaultFixedMargin = 1.0

// FixedMarginMSE is a teacher-free variant of [MarginMSE]: every positive–negative margin of the student is
// regressed to the same fixed target margin m,
//
//	L = mean_b ( (s⁺_b − s⁻_b) − m )²
//
// It is Margin-MSE (Hofstätter et al. 2020, arXiv:2010.02666) with the teacher margin t⁺ − t⁻ replaced by the
// constant m (use [DefaultFixedMargin] = 1.0 unless tuning it), Mimicry's ablation that separates the effect
// of the teacher's graded margins from the mere use of a squared margin objective. Unlike [PairwiseHinge],
// it also penalises margins larger than m.
//
// studentPos and studentNeg must have the same shape, usually [B].
func FixedMarginMSE(studentPos, studentNeg *Node, margin float64) *Node {
	const fn = "FixedMarginMSE"
	in := []named{{"studentPos", studentPos}, {"studentNeg", studentNeg}}
	requireFloat(fn, in...)
	requireSameShape(fn, in...)
	return ReduceAllMean(Square(AddScalar(Sub(studentPos, studentNeg), -margin)))
}
