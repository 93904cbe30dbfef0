package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// L1 is the L1 sparsity regulariser: the mean over the batch of each representation's L1 norm,
//
//	L = 1/B Σ_i Σ_j |w_ij|
//
// the simpler alternative to [FLOPS] considered by SPLADE (Formal, Piwowarski & Clinchant, "SPLADE: Sparse
// Lexical and Expansion Model for First Stage Ranking", SIGIR 2021, arXiv:2107.05720), and the query
// regulariser of the efficiency-oriented SPLADE variants (Lassance & Clinchant, "An Efficiency Study for
// SPLADE Models", SIGIR 2022). Weight it with [SparsityWeight].
//
// weights is [B, V].
func L1(weights *Node) *Node {
	const fn = "L1"
	in := named{"weights", weights}
	requireFloat(fn, in)
	requireMatrix(fn, in, 1, "[B, V] term weights")
	return DivScalar(ReduceAllSum(Abs(weights)), float64(weights.Shape().Dimensions[0]))
}
