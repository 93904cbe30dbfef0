package models

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// CrossEncoderLogits is the cross-encoder ("full interaction") head, in Hugging Face's
// BertForSequenceClassification layout with num_labels=1: the pair `[CLS] q [SEP] p [SEP]` goes
// through BERT, the pooler (tanh dense on [CLS]), dropout and a linear layer to one relevance logit.
// See Nogueira & Cho, "Passage Re-ranking with BERT" (2019).
//
// ctx is the model's root scope (holding "bert" and "classifier"); ids, tokenTypes, mask are [B, L];
// the result is [B].
func CrossEncoderLogits(ctx *context.Context, cfg *Config, ids, tokenTypes, mask *Node) *Node {
	hidden := BertEncoder(ctx.In("bert"), cfg, ids, tokenTypes, mask)
	pooled := BertPooler(ctx.In("bert"), cfg, hidden)
	pooled = layers.DropoutStatic(ctx, pooled, cfg.HiddenDropoutProb)
	numLabels := max(cfg.NumLabels, 1)
	logits := linear(ctx.In("classifier"), cfg, pooled, numLabels, true)
	if numLabels == 1 {
		return Reshape(logits, logits.Shape().Dimensions[0])
	}
	return logits
}

// DefaultColBERTDim is the width of ColBERT's token embeddings (Khattab & Zaharia 2020; PyLate).
const DefaultColBERTDim = 128

// ColBERTEmbeddings is ColBERT's encoder (Khattab & Zaharia, "ColBERT: Efficient and Effective
// Passage Search via Contextualized Late Interaction over BERT", SIGIR 2020): BERT's token states →
// a linear layer without bias to dim → L2-normalised per token. The result is [B, L, dim].
//
// ctx is the model's root scope (holding "bert" and "linear", as in ColBERT's and PyLate's
// checkpoints). attentionMask is the encoder's padding mask [B, L]: for queries augmented with
// [MASK] tokens it is false on the [MASK]s unless they should be attended to (ColBERT's default:
// they are not attended to, but their embeddings do take part in MaxSim).
func ColBERTEmbeddings(ctx *context.Context, cfg *Config, dim int, ids, attentionMask *Node) *Node {
	hidden := BertEncoder(ctx.In("bert"), cfg, ids, nil, attentionMask)
	projected := linear(ctx.In("linear"), cfg, hidden, dim, false)
	return L2Normalize(projected, -1)
}

// MaxSim is ColBERT's late-interaction score: for each query token, the maximum cosine similarity
// over the document's tokens, summed over query tokens:
//
//	s(q, d) = Σ_i max_j  q_i · d_j      (j over unmasked document tokens)
//
// q is [B, Lq, dim] (every query token counts, [MASK] expansions included). docs is either
// [B, Ld, dim] with docMask [B, Ld] — one document per query, result [B] — or [B, N, Ld, dim] with
// docMask [B, N, Ld] — N documents per query, result [B, N]. docMask is true (or 1) on tokens that
// take part (not padding, not skip-listed punctuation); a document with no such token scores 0.
func MaxSim(q, docs, docMask *Node) *Node {
	single := docs.Rank() == 3
	if single {
		docs = InsertAxes(docs, 1)
		docMask = InsertAxes(docMask, 1)
	}
	g := q.Graph()
	if docMask.DType() != dtypes.Bool {
		docMask = NotEqual(docMask, ScalarZero(g, docMask.DType()))
	}
	sim := Einsum("bqd,bnkd->bnqk", q, docs) // [B, N, Lq, Ld]
	mask := BroadcastToShape(InsertAxes(docMask, 2), shapes.Make(dtypes.Bool, sim.Shape().Dimensions...))
	neg := BroadcastToShape(Scalar(g, sim.DType(), maskedScore), sim.Shape())
	best := ReduceMax(Where(mask, sim, neg), -1) // [B, N, Lq]
	// A document whose tokens are all masked has best = maskedScore: count it as 0.
	best = Where(GreaterThan(best, Scalar(g, best.DType(), maskedScore/2)), best, ZerosLike(best))
	scores := ReduceSum(best, -1)
	if single {
		scores = Reshape(scores, scores.Shape().Dimensions[0])
	}
	return scores
}

// SpladeVectors is SPLADE's encoder (Formal et al., "SPLADE: Sparse Lexical and Expansion Model for
// First Stage Ranking", SIGIR 2021; "SPLADE v2", 2021): BERT's masked-language-model head gives
// logits over the vocabulary for every token; the text's vector is
//
//	w_j = max_i log(1 + ReLU(logit_ij))      (i over non-padding tokens)
//
// a |V|-dimensional vector, sparse once trained with a FLOPS/L1 penalty. The score of a (query,
// document) pair is the dot product of their vectors.
//
// ctx is the model's root scope (holding "bert" and "cls", Hugging Face's BertForMaskedLM layout,
// with the decoder tied to the word embeddings); ids, tokenTypes, mask are [B, L]; the result is [B, V].
func SpladeVectors(ctx *context.Context, cfg *Config, ids, tokenTypes, mask *Node) *Node {
	hidden := BertEncoder(ctx.In("bert"), cfg, ids, tokenTypes, mask)
	logits := MLMLogits(ctx, cfg, hidden) // [B, L, V]
	weights := Log1p(activations.Relu(logits))
	m := mask
	if m.DType() != weights.DType() {
		if m.DType() != dtypes.Bool {
			m = NotEqual(m, ScalarZero(m.Graph(), m.DType()))
		}
		m = ConvertDType(m, weights.DType())
	}
	weights = Mul(weights, InsertAxes(m, -1))
	return ReduceMax(weights, 1)
}

// SpladeTermBias is the name of the MLM decoder's bias: one value per vocabulary term, added to
// that term's logit at every position. In a SPLADE model it is the term's activation threshold, the
// parameter through which term weighting (an IDF) is learnt most directly (see
// train.Optimizer.LRMultipliers).
const SpladeTermBias = "cls.predictions.bias"

// MLMLogits is BERT's masked-language-model head (HF BertForMaskedLM's `cls.predictions`): dense +
// activation + LayerNorm, then a decoder tied to the word-embedding table plus a bias. hidden is
// [B, L, H]; the result is [B, L, V].
func MLMLogits(ctx *context.Context, cfg *Config, hidden *Node) *Node {
	g := hidden.Graph()
	pred := ctx.In("cls").In("predictions")
	tr := pred.In("transform")
	h := linear(tr.In("dense"), cfg, hidden, cfg.HiddenSize, true)
	h = activation(cfg, h)
	h = layerNorm(tr.In("LayerNorm"), cfg, h)
	word := weightVar(ctx.In("bert").In("embeddings").In("word_embeddings").Reuse(), cfg, "weight", cfg.VocabSize, cfg.HiddenSize)
	logits := DotGeneral(h, []int{2}, nil, word.ValueGraph(g), []int{1}, nil)
	return Add(logits, ExpandLeftToRank(biasVar(pred, cfg, "bias", cfg.VocabSize).ValueGraph(g), 3))
}

// TiedMLMLogits predicts tokens from BERT's token states with the word-embedding table alone,
// logits = h · Eᵀ, adding no parameter: the masked-language-model head of multi-task students whose
// checkpoints have no `cls` head (ColBERT). ctx is the model's root scope (holding "bert"); hidden is
// [B, L, H]; the result is [B, L, V].
func TiedMLMLogits(ctx *context.Context, cfg *Config, hidden *Node) *Node {
	word := weightVar(ctx.In("bert").In("embeddings").In("word_embeddings").Reuse(), cfg, "weight", cfg.VocabSize, cfg.HiddenSize)
	return DotGeneral(hidden, []int{2}, nil, word.ValueGraph(hidden.Graph()), []int{1}, nil)
}

// MeanPooled is the dense bi-encoder baseline (Sentence-BERT, Reimers & Gurevych 2019): the mean of
// BERT's token states over non-padding tokens, [B, H]; the score of a pair is the dot product (or
// cosine) of the two vectors.
func MeanPooled(ctx *context.Context, cfg *Config, ids, mask *Node) *Node {
	hidden := BertEncoder(ctx.In("bert"), cfg, ids, nil, mask)
	m := mask
	if m.DType() != dtypes.Bool {
		m = NotEqual(m, ScalarZero(m.Graph(), m.DType()))
	}
	mf := ConvertDType(m, hidden.DType())
	sum := ReduceSum(Mul(hidden, InsertAxes(mf, -1)), 1)
	count := Max(InsertAxes(ReduceSum(mf, 1), -1), ScalarOne(hidden.Graph(), hidden.DType()))
	return Div(sum, count)
}
