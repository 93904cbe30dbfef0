package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// LocalizedContrastive is the Localized Contrastive Estimation (LCE) loss: a listwise softmax cross-entropy
// over each query's group of one positive and n negatives, with the positive in column 0:
//
//	L = mean_b −log softmax(s_b)_0 = mean_b ( log Σ_{j=0..n} exp(s_bj) − s_b0 )
//
// From Gao, Dai & Callan, "Rethink Training of BERT Rerankers in Multi-Stage Retrieval Pipeline", ECIR 2021
// (arXiv:2101.08751), where the n negatives are hard negatives of the first-stage retriever. It is the same
// computation as PyTorch's CrossEntropyLoss with target 0 for every row and as SPLADE's PairwiseNLL. With
// hard labels only, it is also Mimicry's "no teacher" ablation for ColBERT and SPLADE students.
//
// scores is [B, 1+n] with n ≥ 0 (with n = 0 the loss is 0). An infinite negative score (a masked-out
// candidate given −∞) is allowed; the positive's score must be finite.
func LocalizedContrastive(scores *Node) *Node {
	const fn = "LocalizedContrastive"
	in := named{"scores", scores}
	requireFloat(fn, in)
	requireMatrix(fn, in, 1, "[B, 1+n] scores")
	return Neg(ReduceAllMean(firstColumn(LogSoftmax(scores, -1))))
}
