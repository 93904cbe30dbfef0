package losses

// SparsityWeight is SPLADE's quadratic warm-up of the weight λ of a sparsity regulariser ([FLOPS] or [L1]):
//
//	λ_t = λ · min(1, t/T)²
//
// at training step t with T warm-up steps, so that the regulariser is switched on gradually while the
// representations form (Formal, Piwowarski & Clinchant, "SPLADE: Sparse Lexical and Expansion Model for First
// Stage Ranking", SIGIR 2021, arXiv:2107.05720). step counts the steps already taken: step 0 gives 0 (a
// scheduler that advances its counter before it is read corresponds to step+1), and every step ≥ T gives λ.
// Negative steps give 0; warmupSteps ≤ 0 means no warm-up (λ at every step).
//
// It is a plain Go function: compute it on the host each step and feed the value to the graph (for instance
// as a scalar input), so that the graph does not have to be rebuilt.
func SparsityWeight(lambda float64, step, warmupSteps int) float64 {
	if warmupSteps <= 0 || step >= warmupSteps {
		return lambda
	}
	if step <= 0 {
		return 0
	}
	r := float64(step) / float64(warmupSteps)
	return lambda * r * r
}
