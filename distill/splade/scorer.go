package splade

import (
	"fmt"

	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Scorer scores (query, passage) pairs with a SPLADE student — the dot product of their sparse
// vectors — so that it can rerank candidates (score.Rerank, teacher.DevRerank) or serve wherever a score.Scorer does.
type Scorer struct {
	// Encoder encodes the texts.
	Encoder *Encoder
	// QueryMaxLen and DocMaxLen are the length limits [tokenizer.QueryMaxLen, tokenizer.DocMaxLen].
	QueryMaxLen, DocMaxLen int
}

// Name implements score.Scorer.
func (s *Scorer) Name() string { return "splade" }

// Score implements score.Scorer. Each distinct text is encoded once.
func (s *Scorer) Score(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("splade: %d queries but %d passages", len(queries), len(passages))
	}
	encode := func(texts []string, maxLen int, label string) ([]SparseVector, error) {
		index := map[string]int{}
		var uniq []string
		for _, t := range texts {
			if _, ok := index[t]; !ok {
				index[t] = len(uniq)
				uniq = append(uniq, t)
			}
		}
		vecs, err := s.Encoder.Encode(uniq, maxLen, label)
		if err != nil {
			return nil, err
		}
		out := make([]SparseVector, len(texts))
		for i, t := range texts {
			out[i] = vecs[index[t]]
		}
		return out, nil
	}
	qv, err := encode(queries, train.OrDefault(s.QueryMaxLen, tokenizer.QueryMaxLen), "queries")
	if err != nil {
		return nil, err
	}
	pv, err := encode(passages, train.OrDefault(s.DocMaxLen, tokenizer.DocMaxLen), "passages")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(queries))
	for i := range out {
		out[i] = qv[i].Dot(pv[i])
	}
	return out, nil
}
