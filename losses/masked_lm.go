package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// MaskedLM is the masked-language-model cross-entropy: logits [B, L, V] against labels [B, L],
// averaged over the positions of weight 1 (weights [B, L]); also the accuracy of those predictions.
func MaskedLM(logits, labels, weights *Node) (loss, accuracy *Node) {
	vocab := logits.Shape().Dimensions[2]
	logProbs := LogSoftmax(logits, -1)
	target := OneHot(labels, vocab, logits.DType())  // [B, L, V]
	nll := Neg(ReduceSum(Mul(logProbs, target), -1)) // [B, L]
	w := ConvertDType(weights, nll.DType())
	count := Max(ReduceAllSum(w), ScalarOne(nll.Graph(), nll.DType()))
	loss = Div(ReduceAllSum(Mul(nll, w)), count)
	correct := ConvertDType(Equal(ArgMax(logits, -1, labels.DType()), labels), w.DType())
	return loss, Div(ReduceAllSum(Mul(correct, w)), count)
}
