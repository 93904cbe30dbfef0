package losses

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// MaskedLM is the masked-language-model loss of BERT's pre-training (Devlin, Chang, Lee & Toutanova,
// "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding", NAACL 2019,
// arXiv:1810.04805): the cross-entropy of the original token at each masked position,
//
//	L = − Σ_{b,l} w_bl · log softmax(logits_bl)[label_bl] / max(1, Σ_{b,l} w_bl)
//
// with logits [B, L, V], labels [B, L] (token ids) and weights [B, L] (1 at the positions to predict,
// 0 elsewhere). It also returns the accuracy of the arg-max prediction at those positions. Mimicry uses
// it to warm up from-scratch encoders and as the auxiliary task of multi-task ColBERT training.
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
