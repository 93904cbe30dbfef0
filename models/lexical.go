package models

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// DefaultLexicalThreshold is τ of LexicalInit, in units of the spread of unrelated logits: on the
// synthetic collection with the tiny preset, τ = 3.5 leaves the untrained SPLADE student about 27
// active terms per passage (τ = 3: 69, τ = 4: 19) and ranks best of those. Narrower models need a
// lower τ: their own-token logits stand out less.
const DefaultLexicalThreshold = 3.5

// LexicalInit turns a freshly initialised SPLADE model (models.New, KindSPLADE) into a bag of words
// before training, the start a pre-trained BERT gives SPLADE and a random one lacks: a random MLM
// head activates hundreds of unrelated vocabulary entries for every token, so the untrained
// student's vectors are dense noise and a few minutes of CPU training do not make them rank.
//
//   - Every residual branch starts as the identity: the output projections of each layer's
//     attention and feed-forward blocks (attention.output.dense, output.dense) are zero, as in
//     SkipInit/ReZero (De & Smith, NeurIPS 2020; Bachlechner et al., 2020), so a token's final state
//     is its own embedding plus its position's, normalised.
//   - The MLM head's transform (cls.predictions.transform.dense) is the identity, so its logits are
//     that state's dot products with the (tied) word embeddings: largest for the token itself.
//   - The decoder bias is −threshold·σ, with σ = √H · rms(word embeddings) the spread of the logits
//     of unrelated entries, so that, through log(1 + ReLU(·)), the token's own entry is active and
//     almost nothing else. (For the tiny preset σ = 1.)
//
// The untrained student then scores a pair by the tokens query and passage share (on the synthetic
// collection, full-corpus nDCG@10 0.34 instead of 0.007); training learns the weights and the
// expansions. The model must be materialised on backend (it is, if not yet).
func LexicalInit(m *Model, backend backends.Backend, threshold float64) error {
	return lexicalInit(m, backend, threshold, true)
}

// LexicalHeadInit is LexicalInit's MLM head alone, for a SPLADE student whose body is a pretrained
// checkpoint without a trained MLM head (a sentence-transformers model, say): the transform is the
// identity and the decoder bias −threshold·σ, so that each token starts by activating the
// vocabulary entries its final state is closest to, and few others; the body is left as it is.
func LexicalHeadInit(m *Model, backend backends.Backend, threshold float64) error {
	return lexicalInit(m, backend, threshold, false)
}

// lexicalInit is LexicalInit, with the body's residual branches set to the identity or not.
func lexicalInit(m *Model, backend backends.Backend, threshold float64, body bool) error {
	if m.Kind != KindSPLADE {
		return fmt.Errorf("lexical initialisation is for SPLADE models, not %s", m.Kind)
	}
	if !(threshold >= 0) {
		return fmt.Errorf("lexical initialisation: the threshold must be ≥ 0, got %v", threshold)
	}
	if err := m.Materialize(backend); err != nil {
		return err
	}
	cfg := m.Config
	h, inter, v := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	dtype := cfg.DTypeOf()
	filled := func(n int, at func(i int) float64, dims ...int) *tensors.Tensor {
		if dtype == dtypes.Float64 {
			data := make([]float64, n)
			for i := range data {
				data[i] = at(i)
			}
			return tensors.FromFlatDataAndDimensions(data, dims...)
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(at(i))
		}
		return tensors.FromFlatDataAndDimensions(data, dims...)
	}
	params, err := m.Params()
	if err != nil {
		return err
	}
	word := params["bert.embeddings.word_embeddings.weight"]
	sq, n := 0.0, word.Size()
	if dtype == dtypes.Float64 {
		data, err := tensors.CopyFlatData[float64](word)
		if err != nil {
			return err
		}
		for _, x := range data {
			sq += x * x
		}
	} else {
		data, err := tensors.CopyFlatData[float32](word)
		if err != nil {
			return err
		}
		for _, x := range data {
			sq += float64(x) * float64(x)
		}
	}
	sigma := math.Sqrt(float64(h) * sq / float64(max(n, 1)))
	zero := func(int) float64 { return 0 }
	set := map[string]*tensors.Tensor{
		"cls.predictions.transform.dense.weight": filled(h*h, func(i int) float64 {
			if i/h == i%h {
				return 1
			}
			return 0
		}, h, h),
		"cls.predictions.transform.dense.bias": filled(h, zero, h),
		SpladeTermBias:                         filled(v, func(int) float64 { return -threshold * sigma }, v),
	}
	for l := range cfg.NumHiddenLayers {
		if !body {
			break
		}
		set[fmt.Sprintf("bert.encoder.layer.%d.attention.output.dense.weight", l)] = filled(h*h, zero, h, h)
		set[fmt.Sprintf("bert.encoder.layer.%d.output.dense.weight", l)] = filled(h*inter, zero, h, inter)
	}
	for name, t := range set {
		if err := m.SetParam(name, t); err != nil {
			return fmt.Errorf("lexical initialisation: %w", err)
		}
	}
	return nil
}
