package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// MarginMSE is the Margin-MSE distillation loss: the student learns the teacher's margin between a positive
// and a negative document rather than the teacher's absolute scores, so students and teachers whose scores
// live on different scales (a ColBERT MaxSim sum and a cross-encoder logit) can be paired:
//
//	L = mean_b ( (s⁺_b − s⁻_b) − (t⁺_b − t⁻_b) )²
//
// where s are student scores and t teacher scores. From Hofstätter, Althammer, Schröder, Sertkan & Hanbury,
// "Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge Distillation" (2020),
// arXiv:2010.02666. It equals sentence-transformers' MarginMSELoss (nn.MSELoss of the student margins
// against labels t⁺ − t⁻) and SPLADE's DistilMarginMSE.
//
// All four inputs must have the same shape, usually [B]; the mean is over all their elements. The teacher
// scores are treated as constants. See [MarginMSEMulti] for n negatives per query and [MarginMSEAllPairs]
// for the margins between every two documents of a query.
func MarginMSE(studentPos, studentNeg, teacherPos, teacherNeg *Node) *Node {
	const fn = "MarginMSE"
	in := []named{{"studentPos", studentPos}, {"studentNeg", studentNeg},
		{"teacherPos", teacherPos}, {"teacherNeg", teacherNeg}}
	requireFloat(fn, in...)
	requireSameShape(fn, in...)
	studentMargin := Sub(studentPos, studentNeg)
	teacherMargin := Sub(StopGradient(teacherPos), StopGradient(teacherNeg))
	return ReduceAllMean(Square(Sub(studentMargin, teacherMargin)))
}

// MarginMSEMulti is [MarginMSE] with n negatives per query: each negative gives one margin to the positive,
// and the loss is the mean of the squared margin errors over the batch and the negatives:
//
//	L = 1/(B·n) Σ_b Σ_{i=1..n} ( (s_b0 − s_bi) − (t_b0 − t_bi) )²
//
// student and teacher are [B, 1+n] scores with the positive in column 0 and n ≥ 1.
//
// This is exactly what sentence-transformers' MarginMSELoss computes for (query, positive, negative_1, …,
// negative_n) inputs: it stacks the student margins s_0 − s_i into a [B, n] tensor, turns [B, 1+n] teacher
// labels into the [B, n] margins t_0 − t_i (labels[:, 0:1] − labels[:, 1:]), and applies nn.MSELoss() with
// its default reduction "mean", i.e. the average over all B·n margins — neither a sum over the negatives nor
// a per-negative loss averaged differently (all queries have the same n, so the mean over negatives then over
// queries is the same number). The margins are formed as in sentence-transformers (student and teacher
// margins first, then their difference), to stay close to it in float32. With n = 1 it equals [MarginMSE].
// The teacher scores are treated as constants.
func MarginMSEMulti(student, teacher *Node) *Node {
	const fn = "MarginMSEMulti"
	in := []named{{"student", student}, {"teacher", teacher}}
	requireFloat(fn, in...)
	requireMatrix(fn, in[0], 2, "[B, 1+n] scores with n ≥ 1")
	requireSameShape(fn, in...)
	teacher = StopGradient(teacher)
	// Column 0 of both margin tensors is exactly 0 and adds nothing to the sum (nor to the gradient).
	studentMargins := Sub(broadcastFirstColumn(student), student)
	teacherMargins := Sub(broadcastFirstColumn(teacher), teacher)
	dims := student.Shape().Dimensions
	numMargins := dims[0] * (dims[1] - 1)
	return DivScalar(ReduceAllSum(Square(Sub(studentMargins, teacherMargins))), float64(numMargins))
}

// MarginMSEAllPairs extends [MarginMSEMulti] from the margins to the positive to the margins between every
// two documents i < j of a query's list (positive against negatives, and negatives against each other):
//
//	L = mean_b  1/P Σ_{0≤i<j≤n} ( (s_bi − s_bj) − (t_bi − t_bj) )²,        P = (n+1)·n/2 pairs
//
// student and teacher are [B, 1+n] scores (any m = 1+n ≥ 2 candidates; which one is the positive does not
// matter here). It is computed in O(m) per query rather than O(m²) with the identity, for d = s − t and d̄ its
// mean over the row,
//
//	Σ_{i<j} (d_i − d_j)² = m · Σ_i (d_i − d̄)²,    so   L = mean_b 2/(m−1) · Σ_i (d_bi − d̄_b)²,
//
// i.e. twice the mean over queries of the unbiased variance of the student-minus-teacher scores: the loss
// vanishes exactly when the student equals the teacher up to a per-query shift. Hofstätter et al. (2020,
// arXiv:2010.02666) define Margin-MSE on one pair; this all-pairs form is the same loss applied to every pair
// of the list. The teacher scores are treated as constants.
func MarginMSEAllPairs(student, teacher *Node) *Node {
	const fn = "MarginMSEAllPairs"
	in := []named{{"student", student}, {"teacher", teacher}}
	requireFloat(fn, in...)
	requireMatrix(fn, in[0], 2, "[B, m] scores with m ≥ 2")
	requireSameShape(fn, in...)
	d := Sub(student, StopGradient(teacher))
	centered := Sub(d, ReduceAndKeep(d, ReduceMean, -1))
	dims := student.Shape().Dimensions
	scale := 2.0 / float64(dims[0]*(dims[1]-1))
	return MulScalar(ReduceAllSum(Square(centered)), scale)
}
