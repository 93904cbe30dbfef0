package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// BinaryCrossEntropy is the pointwise binary cross-entropy of relevance logits x against labels y in [0, 1],
// computed from the logits in the numerically stable form
//
//	ℓ(x, y) = max(x, 0) − x·y + log(1 + exp(−|x|))        (= −y·log σ(x) − (1−y)·log(1 − σ(x)))
//	L = mean over all elements of ℓ
//
// which never overflows, as PyTorch's BCEWithLogitsLoss (reduction "mean") computes it. Its gradient is
// σ(x) − y, also at x = 0. This is how monoBERT-style cross-encoders are trained on (query, passage) pairs
// labelled relevant (1) or not (0): Nogueira & Cho, "Passage Re-ranking with BERT" (2019),
// arXiv:1901.04085. Soft labels (e.g. teacher probabilities) are allowed.
//
// logits and labels must have the same shape (typically [B], or [B, 1+n] with labels 1 in column 0); the
// labels are treated as constants.
func BinaryCrossEntropy(logits, labels *Node) *Node {
	const fn = "BinaryCrossEntropy"
	in := []named{{"logits", logits}, {"labels", labels}}
	requireFloat(fn, in...)
	requireSameShape(fn, in...)
	y := StopGradient(labels)
	x := logits
	loss := Add(Sub(MaxScalar(x, 0.0), Mul(x, y)), Log1p(Exp(Neg(Abs(x)))))
	return ReduceAllMean(loss)
}
