// Package models holds Mimicry's neural models: a BERT encoder written to be bit-compatible with
// Hugging Face's BertModel, and the three heads that knowledge distillation for retrieval needs —
// the cross-encoder teacher ([CrossEncoderLogits]), the ColBERT late-interaction student
// ([ColBERTEmbeddings], [MaxSim]) and the SPLADE sparse student ([SpladeVectors]) — plus
// checkpoints and Hugging Face import/export.
//
// Parameters are GoMLX context variables named exactly as Hugging Face names them, with the same
// shapes: the variable "weight" in scope "/model/bert/encoder/layer/0/attention/self/query" is HF's
// `bert.encoder.layer.0.attention.self.query.weight`, stored [out, in] as torch.nn.Linear stores it.
// So import and export are a copy, never a reshuffle.
//
// The encoder follows Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
// Language Understanding" (2019): embeddings (word + position + token type, LayerNorm, dropout), then
// post-LN transformer layers (multi-head self-attention with a padding mask, GELU feed-forward).
package models

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// maskedScore is added to attention scores of padding keys, so their softmax weight is exactly 0.
// (HF adds torch.finfo(dtype).min; both underflow exp() to 0.)
const maskedScore = -1e9

// BertEncoder runs BERT on a batch of token sequences and returns the last hidden states [B, L, H].
//
// ctx is the scope that holds "embeddings" and "encoder" (HF's `bert.` prefix: pass ctx.In("bert")).
// ids and tokenTypes are integer [B, L]; mask is [B, L], true (or 1) on real tokens and false on
// padding. Dropout applies only when ctx is in training mode.
func BertEncoder(ctx *context.Context, cfg *Config, ids, tokenTypes, mask *Node) *Node {
	x := bertEmbeddings(ctx.In("embeddings"), cfg, ids, tokenTypes)
	bias := attentionBias(mask, x.DType())
	enc := ctx.In("encoder")
	for i := range cfg.NumHiddenLayers {
		x = bertLayer(enc.In("layer").Inf("%d", i), cfg, x, bias)
	}
	return x
}

// BertPooler is BERT's pooler: tanh(W · h[CLS] + b), the input of BertForSequenceClassification's
// classifier. ctx is the "bert" scope; hidden is [B, L, H]; the result is [B, H].
func BertPooler(ctx *context.Context, cfg *Config, hidden *Node) *Node {
	return Tanh(linear(ctx.In("pooler").In("dense"), cfg, FirstToken(hidden), cfg.HiddenSize, true))
}

// FirstToken returns hidden[:, 0, :] ([B, H]) as a contraction with a one-hot vector rather than a
// Slice: GoMLX's SimpleGo backend has no Pad op, so no gradient flows back through Slice there.
func FirstToken(hidden *Node) *Node {
	g := hidden.Graph()
	seqLen := hidden.Shape().Dimensions[1]
	oneHot := ConvertDType(Equal(Iota(g, shapes.Make(hidden.DType(), seqLen), 0), ScalarZero(g, hidden.DType())), hidden.DType())
	return Einsum("blh,l->bh", hidden, oneHot)
}

// bertEmbeddings sums word, position and token-type embeddings, then LayerNorm and dropout.
func bertEmbeddings(ctx *context.Context, cfg *Config, ids, tokenTypes *Node) *Node {
	g := ids.Graph()
	seqLen := ids.Shape().Dimensions[1]
	word := weightVar(ctx.In("word_embeddings"), cfg, "weight", cfg.VocabSize, cfg.HiddenSize)
	pos := weightVar(ctx.In("position_embeddings"), cfg, "weight", cfg.MaxPositionEmbeddings, cfg.HiddenSize)
	typ := weightVar(ctx.In("token_type_embeddings"), cfg, "weight", cfg.TypeVocabSize, cfg.HiddenSize)

	x := Gather(word.ValueGraph(g), InsertAxes(ids, -1))
	// Positions 0..L-1 through Gather (not Slice) so that gradients flow on every backend.
	positions := Iota(g, shapes.Make(ids.DType(), seqLen, 1), 0)
	x = Add(x, InsertAxes(Gather(pos.ValueGraph(g), positions), 0))
	if tokenTypes == nil {
		tokenTypes = ZerosLike(ids)
	}
	x = Add(x, Gather(typ.ValueGraph(g), InsertAxes(tokenTypes, -1)))
	x = layerNorm(ctx.In("LayerNorm"), cfg, x)
	return layers.DropoutStatic(ctx, x, cfg.HiddenDropoutProb)
}

// attentionBias turns a [B, L] padding mask into an additive [B, 1, 1, L] bias: 0 on real tokens and
// maskedScore on padding.
func attentionBias(mask *Node, dtype dtypes.DType) *Node {
	g := mask.Graph()
	if mask.DType() != dtypes.Bool {
		mask = NotEqual(mask, ScalarZero(g, mask.DType()))
	}
	zero := ScalarZero(g, dtype)
	neg := Scalar(g, dtype, maskedScore)
	shape := shapes.Make(dtype, mask.Shape().Dimensions...)
	bias := Where(mask, BroadcastToShape(zero, shape), BroadcastToShape(neg, shape))
	return InsertAxes(bias, 1, 1)
}

// bertLayer is one post-LN transformer layer: x = LN(x + Attention(x)); x = LN(x + FFN(x)).
func bertLayer(ctx *context.Context, cfg *Config, x, bias *Node) *Node {
	att := ctx.In("attention")
	a := selfAttention(att.In("self"), cfg, x, bias)
	a = linear(att.In("output").In("dense"), cfg, a, cfg.HiddenSize, true)
	a = layers.DropoutStatic(ctx, a, cfg.HiddenDropoutProb)
	x = layerNorm(att.In("output").In("LayerNorm"), cfg, Add(a, x))

	h := linear(ctx.In("intermediate").In("dense"), cfg, x, cfg.IntermediateSize, true)
	h = activation(cfg, h)
	h = linear(ctx.In("output").In("dense"), cfg, h, cfg.HiddenSize, true)
	h = layers.DropoutStatic(ctx, h, cfg.HiddenDropoutProb)
	return layerNorm(ctx.In("output").In("LayerNorm"), cfg, Add(h, x))
}

// selfAttention is multi-head scaled dot-product attention (Vaswani et al. 2017) over [B, L, H].
func selfAttention(ctx *context.Context, cfg *Config, x, bias *Node) *Node {
	dims := x.Shape().Dimensions
	b, l := dims[0], dims[1]
	nh, hd := cfg.NumAttentionHeads, cfg.HeadDim()
	split := func(t *Node) *Node { return Reshape(t, b, l, nh, hd) }
	q := split(linear(ctx.In("query"), cfg, x, cfg.HiddenSize, true))
	k := split(linear(ctx.In("key"), cfg, x, cfg.HiddenSize, true))
	v := split(linear(ctx.In("value"), cfg, x, cfg.HiddenSize, true))
	scores := MulScalar(Einsum("bqhd,bkhd->bhqk", q, k), 1/math.Sqrt(float64(hd)))
	scores = Add(scores, bias)
	probs := Softmax(scores, -1)
	probs = layers.DropoutStatic(ctx, probs, cfg.AttentionProbsDropoutProb)
	out := Einsum("bhqk,bkhd->bqhd", probs, v)
	return Reshape(out, b, l, cfg.HiddenSize)
}

// activation applies the configured feed-forward activation.
func activation(cfg *Config, x *Node) *Node {
	switch cfg.HiddenAct {
	case "gelu_new", "gelu_pytorch_tanh":
		return activations.GeluApproximate(x)
	case "relu":
		return activations.Relu(x)
	default:
		return activations.Gelu(x)
	}
}

// linear is torch.nn.Linear: y = x · Wᵀ + b, with W stored [out, in] in variable "weight" and b in
// "bias" of the ctx scope. x is [..., in]; the result is [..., out].
func linear(ctx *context.Context, cfg *Config, x *Node, out int, useBias bool) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	g := x.Graph()
	w := weightVar(ctx, cfg, "weight", out, in).ValueGraph(g)
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil)
	if useBias {
		y = Add(y, ExpandLeftToRank(biasVar(ctx, cfg, "bias", out).ValueGraph(g), y.Rank()))
	}
	return y
}

// layerNorm is torch.nn.LayerNorm over the last axis, with learned "weight" (gain) and "bias".
func layerNorm(ctx *context.Context, cfg *Config, x *Node) *Node {
	g := x.Graph()
	h := x.Shape().Dimensions[x.Rank()-1]
	gain := layerNormGainVar(ctx, cfg, h).ValueGraph(g)
	offset := biasVar(ctx, cfg, "bias", h).ValueGraph(g)
	mean := ReduceAndKeep(x, ReduceMean, -1)
	centered := Sub(x, mean)
	variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
	normed := Div(centered, Sqrt(AddScalar(variance, cfg.LayerNormEps))) // Rsqrt has no gradient in GoMLX v0.26
	return Add(Mul(normed, ExpandLeftToRank(gain, x.Rank())), ExpandLeftToRank(offset, x.Rank()))
}

// weightVar returns (creating if needed) a weight matrix initialised N(0, initializer_range²) as BERT does.
func weightVar(ctx *context.Context, cfg *Config, name string, dims ...int) *context.Variable {
	std := cfg.InitializerRange
	if std <= 0 {
		std = 0.02
	}
	return ctx.WithInitializer(initializers.RandomNormalFn(ctx, std)).VariableWithShape(name, shapes.Make(cfg.DTypeOf(), dims...))
}

// biasVar returns (creating if needed) a zero-initialised vector.
func biasVar(ctx *context.Context, cfg *Config, name string, dim int) *context.Variable {
	return ctx.WithInitializer(initializers.Zero).VariableWithShape(name, shapes.Make(cfg.DTypeOf(), dim))
}

// layerNormGainVar returns (creating if needed) a LayerNorm gain, initialised to ones.
func layerNormGainVar(ctx *context.Context, cfg *Config, dim int) *context.Variable {
	return ctx.WithInitializer(initializers.One).VariableWithShape("weight", shapes.Make(cfg.DTypeOf(), dim))
}
