package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// InfoNCE is the in-batch contrastive loss: each query must pick out its own positive among all the documents
// of the batch, the other queries' positives serving as its negatives:
//
//	S = q · dᵀ / τ                                  [B, N] similarity logits
//	L = mean_i −log softmax(S_i)_i = mean_i ( log Σ_k exp(S_ik) − S_ii )
//
// queries is [B, D] and docs is [N, D] with N ≥ B, where row i of docs is the positive of query i; rows B..N−1,
// if any, are extra (e.g. hard) negatives shared by all queries. τ > 0 is the temperature (sentence-transformers'
// MultipleNegativesRankingLoss uses scale 1/τ = 20 on cosine similarities). The similarity is the plain dot
// product: L2-normalise queries and docs first for cosine similarity.
//
// From van den Oord, Li & Vinyals, "Representation Learning with Contrastive Predictive Coding" (2018),
// arXiv:1807.03748; with docs a second dropout view of the same sentences it is the unsupervised SimCSE
// objective (Gao, Yao & Chen, "SimCSE: Simple Contrastive Learning of Sentence Embeddings", EMNLP 2021,
// arXiv:2104.08821). It is one-directional (queries → docs), not the symmetric CLIP form.
func InfoNCE(queries, docs *Node, temperature float64) *Node {
	const fn = "InfoNCE"
	requireTemperature(fn, temperature)
	q, d := named{"queries", queries}, named{"docs", docs}
	requireFloat(fn, q, d)
	requireMatrix(fn, q, 1, "[B, D] embeddings")
	requireMatrix(fn, d, 1, "[N, D] embeddings")
	qDims, dDims := queries.Shape().Dimensions, docs.Shape().Dimensions
	if dDims[1] != qDims[1] {
		panicf(fn, "queries (%s) and docs (%s) must have the same embedding size", queries.Shape(), docs.Shape())
	}
	if dDims[0] < qDims[0] {
		panicf(fn, "docs (%s) must have at least one row per query (%s)", docs.Shape(), queries.Shape())
	}
	logits := DivScalar(Einsum("bd,nd->bn", queries, docs), temperature)
	return Neg(ReduceAllMean(diagonal(LogSoftmax(logits, -1))))
}
