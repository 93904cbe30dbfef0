package colbert

import (
	"errors"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Explanation shows how ColBERT scores one (query, passage) pair: every query token (the
// [MASK] expansions included) is matched with its most similar passage token, and the score is the
// sum of those maxima.
type Explanation struct {
	// QueryTokens and DocTokens are the tokens that take part (the passage's punctuation is skipped).
	QueryTokens, DocTokens []string
	// Similarity[i][j] is the cosine of query token i and passage token j.
	Similarity [][]float32
	// Best[i] is the passage token that query token i matches (the argmax of row i).
	Best []int
	// Score is Σ_i max_j Similarity[i][j], the MaxSim score.
	Score float32
}

// Explain computes the token-level similarities behind the MaxSim score of (query, passage).
func (e *Encoder) Explain(query, passage string) (*Explanation, error) {
	if e.Tokenizer == nil {
		return nil, errors.New("colbert explain: the encoder has no tokenizer")
	}
	qMarker, dMarker := e.Model.ColBERTMarkers()
	qin, err := models.ColBERTQueryInputs(e.Tokenizer, []string{query}, e.queryLen(), e.AttendExpansion, qMarker)
	if err != nil {
		return nil, err
	}
	qEmb, err := e.embed(qin.IDs, qin.Mask)
	if err != nil {
		return nil, err
	}
	din, err := models.ColBERTDocInputs(e.Tokenizer, []string{passage}, e.docLen(), dMarker)
	if err != nil {
		return nil, err
	}
	dEmb, err := e.embed(din.IDs, din.Mask)
	if err != nil {
		return nil, err
	}
	qIDs, err := tensors.CopyFlatData[int32](qin.IDs)
	if err != nil {
		return nil, err
	}
	dIDs, err := tensors.CopyFlatData[int32](din.IDs)
	if err != nil {
		return nil, err
	}
	keep, err := tensors.CopyFlatData[int32](din.ScoreMask)
	if err != nil {
		return nil, err
	}
	dim := e.Dim()
	ex := &Explanation{}
	var docRows [][]float32
	var kept []int
	for t, k := range keep {
		if k != 0 {
			kept = append(kept, int(dIDs[t]))
			docRows = append(docRows, dEmb[t*dim:(t+1)*dim])
		}
	}
	ex.DocTokens = tokenizer.Tokens(e.Tokenizer, kept)
	qTok := make([]int, len(qIDs))
	for i, id := range qIDs {
		qTok[i] = int(id)
	}
	ex.QueryTokens = tokenizer.Tokens(e.Tokenizer, qTok)
	for i := range qIDs {
		q := qEmb[i*dim : (i+1)*dim]
		row := make([]float32, len(docRows))
		best := 0
		for j, d := range docRows {
			var s float32
			for k := range q {
				s += q[k] * d[k]
			}
			row[j] = s
			if s > row[best] {
				best = j
			}
		}
		ex.Similarity = append(ex.Similarity, row)
		ex.Best = append(ex.Best, best)
		if len(row) > 0 {
			ex.Score += row[best]
		}
	}
	return ex, nil
}
