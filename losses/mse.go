package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// MSE is pointwise score regression: the student reproduces the teacher's scores themselves,
//
//	L = mean over all elements of (s − t)²
//
// as in SPLADE's pointwise distillation (Formal, Lassance, Piwowarski & Clinchant, "From Distillation to Hard
// Negative Sampling: Making Sparse Neural IR Models More Effective", SIGIR 2022, arXiv:2205.04733) and
// sentence-transformers' MSELoss. Unlike [MarginMSE] it requires the student to match the teacher's scale and
// offset; [Standardize] the teacher scores first if they live on another scale.
//
// student and teacher must have the same shape ([B] or [B, 1+n]); the teacher is treated as a constant.
func MSE(student, teacher *Node) *Node {
	const fn = "MSE"
	in := []named{{"student", student}, {"teacher", teacher}}
	requireFloat(fn, in...)
	requireSameShape(fn, in...)
	return ReduceAllMean(Square(Sub(student, StopGradient(teacher))))
}
