package splade

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// SparseVector is a text's SPLADE representation: the vocabulary terms with a non-zero weight, in
// increasing term order, and their weights (all > 0).
type SparseVector struct {
	// Terms are token ids, increasing.
	Terms []int32
	// Weights are the terms' weights, Weights[i] for Terms[i].
	Weights []float32
}

// Len is the number of active terms.
func (v SparseVector) Len() int { return len(v.Terms) }

// Dot is the dot product of two sparse vectors (both with increasing terms), in float64.
func (v SparseVector) Dot(o SparseVector) float64 {
	var s float64
	i, j := 0, 0
	for i < len(v.Terms) && j < len(o.Terms) {
		switch {
		case v.Terms[i] < o.Terms[j]:
			i++
		case v.Terms[i] > o.Terms[j]:
			j++
		default:
			s += float64(v.Weights[i]) * float64(o.Weights[j])
			i++
			j++
		}
	}
	return s
}

// Top keeps the k largest weights (ties: the smaller term id), in increasing term order: the
// budget pruning of queries and documents. k ≤ 0 or k ≥ Len() returns v itself.
func (v SparseVector) Top(k int) SparseVector {
	if k <= 0 || k >= len(v.Terms) {
		return v
	}
	idx := make([]int, len(v.Terms))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(v.Weights[b], v.Weights[a]); c != 0 {
			return c
		}
		return cmp.Compare(v.Terms[a], v.Terms[b])
	})
	idx = idx[:k]
	slices.Sort(idx)
	out := SparseVector{Terms: make([]int32, k), Weights: make([]float32, k)}
	for i, j := range idx {
		out.Terms[i], out.Weights[i] = v.Terms[j], v.Weights[j]
	}
	return out
}

// SparseFromDense turns a dense |V| vector into a SparseVector of its positive entries.
func SparseFromDense(dense []float32) SparseVector {
	var v SparseVector
	for j, w := range dense {
		if w > 0 {
			v.Terms = append(v.Terms, int32(j))
			v.Weights = append(v.Weights, w)
		}
	}
	return v
}

// TermWeight is one term of a sparse vector with its weight, for display.
type TermWeight struct {
	// Term is the vocabulary string ("river", "##ing").
	Term string `json:"term"`
	// Weight is the term's weight.
	Weight float32 `json:"weight"`
}

// TopTerms lists the k heaviest terms of v, heaviest first (ties: smaller id first), as tokenizer
// strings: what a document or query has been expanded to. k ≤ 0 lists them all.
func TopTerms(v SparseVector, tk tokenizer.Tokenizer, k int) []TermWeight {
	top := v.Top(k)
	out := make([]TermWeight, len(top.Terms))
	for i, id := range top.Terms {
		tok, ok := tk.IDToToken(int(id))
		if !ok {
			tok = fmt.Sprintf("[id %d]", id)
		}
		out[i] = TermWeight{Term: tok, Weight: top.Weights[i]}
	}
	slices.SortStableFunc(out, func(a, b TermWeight) int { return cmp.Compare(b.Weight, a.Weight) })
	return out
}
