package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// KLPlusMarginMSE is the weighted sum of the listwise [KLDivergence] and the multi-negative [MarginMSEMulti],
//
//	L = klWeight · KLDivergence(s, t, τ) + mseWeight · MarginMSEMulti(s, t)
//
// the mix of distillation losses SPLADE-v3 is trained with (Lassance, Déjean, Formal & Clinchant,
// "SPLADE-v3: New baselines for SPLADE", 2024, arXiv:2403.06789): the KL term matches the teacher's ranking
// distribution over the candidates, the Margin-MSE term its score margins. The temperature applies to the KL
// term only; the margins are those of the raw scores. The two weights are hyper-parameters, not fixed here
// (set them from the training configuration).
//
// student and teacher are [B, 1+n] scores with the positive in column 0 and n ≥ 1; the teacher is treated as
// a constant.
func KLPlusMarginMSE(student, teacher *Node, temperature, klWeight, mseWeight float64) *Node {
	kl := KLDivergence(student, teacher, temperature)
	mse := MarginMSEMulti(student, teacher)
	return Add(MulScalar(kl, klWeight), MulScalar(mse, mseWeight))
}
