package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// FLOPS is the FLOPS regulariser of sparse representations: the sum over vocabulary terms of the squared mean
// absolute weight of the term in the batch,
//
//	L = Σ_j ( 1/B Σ_i |w_ij| )²
//
// a smooth proxy of the expected number of floating-point operations of an inverted-index dot product,
// which pushes the batch towards terms that are rarely active (rather than to uniformly small weights, as L1
// does). From Paria, Yeh, Yen, Xu, Ravikumar & Póczos, "Minimizing FLOPs to Learn Efficient Sparse
// Representations", ICLR 2020 (arXiv:2004.05665); used by SPLADE (Formal, Piwowarski & Clinchant, SIGIR 2021,
// arXiv:2107.05720) on queries and documents separately, weighted by [SparsityWeight].
//
// weights is [B, V] (SPLADE's term weights are non-negative, so |w| = w there). The result is not a mean over
// the batch: it is a sum over the V terms of batch means, as defined above. A batch of one-hot rows on
// distinct terms gives B·(1/B)² = 1/B.
func FLOPS(weights *Node) *Node {
	const fn = "FLOPS"
	in := named{"weights", weights}
	requireFloat(fn, in)
	requireMatrix(fn, in, 1, "[B, V] term weights")
	return ReduceAllSum(Square(ReduceMean(Abs(weights), 0)))
}
