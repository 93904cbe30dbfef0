package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// KLDivergence is listwise distillation: the Kullback–Leibler divergence from the teacher's to the student's
// distribution over each query's 1+n candidates, both distributions being a softmax of the scores divided by
// the temperature τ:
//
//	p_t = softmax(t_b / τ),   p_s = softmax(s_b / τ)
//	L = mean_b KL(p_t ‖ p_s) = mean_b Σ_j p_t,j · (log p_t,j − log p_s,j)
//
// student and teacher are [B, 1+n] scores (n ≥ 0; the position of the positive does not matter); the teacher
// is treated as a constant. Both log-probabilities are computed with a stable log-softmax.
//
// The mean over queries is PyTorch's nn.KLDivLoss(reduction="batchmean"), whose input is the student's
// log_softmax and whose target is the teacher's softmax (or, with log_target=True, its log_softmax, which
// is the same loss). This is the distillation loss of ColBERTv2 (Santhanam, Khattab, Saad-Falcon, Potts &
// Zaharia, "ColBERTv2: Effective and Efficient Retrieval via Lightweight Late Interaction", NAACL 2022,
// arXiv:2112.01488) and of PyLate's losses.Distillation, and SPLADE's DistilKLLoss. Two differences to keep in
// mind when comparing numbers:
//
//   - PyLate's Distillation (normalize_scores=True, its default) first min-max normalises the student's scores
//     of each query to [0, 1] (see [MinMaxNormalize]) and applies no temperature: PyLate's loss is
//     KLDivergence(MinMaxNormalize(student), teacher, 1).
//   - No τ² factor is applied (Hinton et al.'s convention for keeping gradient magnitudes comparable across
//     temperatures); multiply by τ² if you want it.
func KLDivergence(student, teacher *Node, temperature float64) *Node {
	const fn = "KLDivergence"
	requireTemperature(fn, temperature)
	in := []named{{"student", student}, {"teacher", teacher}}
	requireFloat(fn, in...)
	requireMatrix(fn, in[0], 1, "[B, 1+n] scores")
	requireSameShape(fn, in...)
	logPs := LogSoftmax(DivScalar(student, temperature), -1)
	logPt := LogSoftmax(DivScalar(StopGradient(teacher), temperature), -1)
	// exp(log p_t) rather than a separate softmax: where p_t underflows to 0, the term is 0·(finite) = 0.
	kl := ReduceSum(Mul(Exp(logPt), Sub(logPt, logPs)), -1)
	return ReduceAllMean(kl)
}
