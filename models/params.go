package models

import (
	"fmt"
	"slices"
)

// Kind names what a model is for: which head sits on the BERT encoder.
type Kind string

// The model kinds Mimicry trains.
const (
	// KindCrossEncoder scores a (query, passage) pair jointly: the teacher (HF BertForSequenceClassification).
	KindCrossEncoder Kind = "cross-encoder"
	// KindColBERT encodes token embeddings scored by MaxSim (ColBERT / PyLate checkpoints: BertModel + linear).
	KindColBERT Kind = "colbert"
	// KindSPLADE encodes sparse vocabulary vectors (HF BertForMaskedLM).
	KindSPLADE Kind = "splade"
	// KindBiEncoder encodes one mean-pooled vector per text (HF BertModel), the cheap dense baseline.
	KindBiEncoder Kind = "bi-encoder"
)

// ParseKind accepts the kinds' names (and a few common aliases).
func ParseKind(s string) (Kind, error) {
	switch s {
	case "cross-encoder", "crossencoder", "teacher":
		return KindCrossEncoder, nil
	case "colbert":
		return KindColBERT, nil
	case "splade":
		return KindSPLADE, nil
	case "bi-encoder", "biencoder", "dense":
		return KindBiEncoder, nil
	}
	return "", fmt.Errorf("unknown model kind %q: want cross-encoder, colbert, splade or bi-encoder", s)
}

// Architecture is the Hugging Face class name written in config.json for a kind.
func (k Kind) Architecture() string {
	switch k {
	case KindCrossEncoder:
		return "BertForSequenceClassification"
	case KindSPLADE:
		return "BertForMaskedLM"
	case KindColBERT:
		return "HF_ColBERT"
	default:
		return "BertModel"
	}
}

// ParamShapes lists every parameter a model of the given kind has, by Hugging Face name, with its
// shape — exactly the variables the graph-building functions of this package create (a test keeps
// the two in step). colbertDim is used only by KindColBERT.
func ParamShapes(cfg *Config, kind Kind, colbertDim int) map[string][]int {
	h, v := cfg.HiddenSize, cfg.VocabSize
	p := map[string][]int{
		"bert.embeddings.word_embeddings.weight":       {v, h},
		"bert.embeddings.position_embeddings.weight":   {cfg.MaxPositionEmbeddings, h},
		"bert.embeddings.token_type_embeddings.weight": {cfg.TypeVocabSize, h},
		"bert.embeddings.LayerNorm.weight":             {h},
		"bert.embeddings.LayerNorm.bias":               {h},
	}
	for i := range cfg.NumHiddenLayers {
		pre := fmt.Sprintf("bert.encoder.layer.%d.", i)
		for _, lin := range []struct {
			name    string
			out, in int
		}{
			{"attention.self.query", h, h}, {"attention.self.key", h, h}, {"attention.self.value", h, h},
			{"attention.output.dense", h, h}, {"intermediate.dense", cfg.IntermediateSize, h},
			{"output.dense", h, cfg.IntermediateSize},
		} {
			p[pre+lin.name+".weight"] = []int{lin.out, lin.in}
			p[pre+lin.name+".bias"] = []int{lin.out}
		}
		for _, ln := range []string{"attention.output.LayerNorm", "output.LayerNorm"} {
			p[pre+ln+".weight"] = []int{h}
			p[pre+ln+".bias"] = []int{h}
		}
	}
	switch kind {
	case KindCrossEncoder:
		labels := max(cfg.NumLabels, 1)
		p["bert.pooler.dense.weight"] = []int{h, h}
		p["bert.pooler.dense.bias"] = []int{h}
		p["classifier.weight"] = []int{labels, h}
		p["classifier.bias"] = []int{labels}
	case KindColBERT:
		p["linear.weight"] = []int{colbertDim, h}
	case KindSPLADE:
		p["cls.predictions.transform.dense.weight"] = []int{h, h}
		p["cls.predictions.transform.dense.bias"] = []int{h}
		p["cls.predictions.transform.LayerNorm.weight"] = []int{h}
		p["cls.predictions.transform.LayerNorm.bias"] = []int{h}
		p["cls.predictions.bias"] = []int{v}
	}
	return p
}

// sortedNames returns the keys of a parameter map in order.
func sortedNames(p map[string][]int) []string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
