package splade

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/mimicry-ir/mimicry/datasets/bm25"
)

// IndexOptions configure BuildIndex. Zero values take the defaults in brackets.
type IndexOptions struct {
	// Bits is the precision of the quantised impacts: 8 [default] or 16.
	Bits int
	// MaxDocTerms keeps only each document's MaxDocTerms heaviest terms (0: all).
	MaxDocTerms int
}

// Index is an inverted index of SPLADE document vectors with quantised impact weights.
//
// Quantisation. With M the largest document weight in the collection and L = 2^Bits − 1 levels, a
// weight w is stored as the integer impact round(w·L/M) and read back as impact·M/L: the global
// scale Scale() = M/L. The error on each stored weight is at most Scale()/2, so the error on a
// score is at most Scale()/2 · Σ_j q_j (the query's L1 norm). Weights below Scale()/2 round to 0
// and are left out of the index (with 8 bits, those under 1/510 of the largest weight).
//
// Search is exact for the stored weights: term at a time, each query term's postings add
// q_j · impact · Scale() to an accumulator per document, then a bounded heap picks the top k.
type Index struct {
	vocab   int
	bits    int
	scale   float32
	ids     []string
	offsets []int64  // term t's postings are [offsets[t], offsets[t+1])
	docs    []uint32 // document numbers, increasing within a term
	impacts []uint16 // quantised weights

	pool sync.Pool // *[]float32 accumulators
}

// BuildIndex indexes the document vectors docs[i] of the documents named ids[i], over a
// vocabulary of vocab terms. Terms must lie in [0, vocab) and weights be finite and ≥ 0.
func BuildIndex(ids []string, docs []SparseVector, vocab int, opts IndexOptions) (*Index, error) {
	if len(ids) != len(docs) {
		return nil, fmt.Errorf("sparse index: %d ids but %d vectors", len(ids), len(docs))
	}
	if vocab <= 0 {
		return nil, fmt.Errorf("sparse index: vocabulary size %d", vocab)
	}
	if len(docs) > math.MaxUint32 {
		return nil, fmt.Errorf("sparse index: %d documents is more than %d", len(docs), math.MaxUint32)
	}
	bits := opts.Bits
	if bits == 0 {
		bits = 8
	}
	if bits != 8 && bits != 16 {
		return nil, fmt.Errorf("sparse index: impacts have 8 or 16 bits, not %d", bits)
	}
	var maxW float32
	for i, d := range docs {
		if len(d.Terms) != len(d.Weights) {
			return nil, fmt.Errorf("sparse index: document %q: %d terms but %d weights", ids[i], len(d.Terms), len(d.Weights))
		}
		for j, t := range d.Terms {
			w := d.Weights[j]
			if t < 0 || int(t) >= vocab {
				return nil, fmt.Errorf("sparse index: document %q: term %d outside the vocabulary [0, %d)", ids[i], t, vocab)
			}
			if !(w >= 0) || math.IsInf(float64(w), 0) {
				return nil, fmt.Errorf("sparse index: document %q: term %d has weight %v (want finite and ≥ 0)", ids[i], t, w)
			}
			maxW = max(maxW, w)
		}
	}
	levels := float32(uint32(1)<<bits - 1)
	scale := float32(1)
	if maxW > 0 {
		scale = maxW / levels
	}
	quant := func(w float32) uint16 {
		return uint16(min(levels, float32(math.Round(float64(w/scale)))))
	}
	ix := &Index{vocab: vocab, bits: bits, scale: scale, ids: slices.Clone(ids), offsets: make([]int64, vocab+1)}
	pruned := make([]SparseVector, len(docs))
	for i, d := range docs {
		pruned[i] = d.Top(opts.MaxDocTerms)
		for j, t := range pruned[i].Terms {
			if quant(pruned[i].Weights[j]) > 0 {
				ix.offsets[t+1]++
			}
		}
	}
	for t := range vocab {
		ix.offsets[t+1] += ix.offsets[t]
	}
	n := ix.offsets[vocab]
	ix.docs, ix.impacts = make([]uint32, n), make([]uint16, n)
	next := slices.Clone(ix.offsets[:vocab])
	for i, d := range pruned {
		for j, t := range d.Terms {
			if q := quant(d.Weights[j]); q > 0 {
				p := next[t]
				ix.docs[p], ix.impacts[p] = uint32(i), q
				next[t]++
			}
		}
	}
	return ix, nil
}

// Len is the number of documents.
func (ix *Index) Len() int { return len(ix.ids) }

// Vocab is the vocabulary size.
func (ix *Index) Vocab() int { return ix.vocab }

// Bits is the precision of the impacts.
func (ix *Index) Bits() int { return ix.bits }

// Scale is the weight of impact 1: a stored weight is impact × Scale().
func (ix *Index) Scale() float32 { return ix.scale }

// Postings is the number of (term, document) entries.
func (ix *Index) Postings() int64 { return int64(len(ix.docs)) }

// DocID is the id of document number i.
func (ix *Index) DocID(i int) string { return ix.ids[i] }

// DocFreq is the number of documents in which term t has a stored weight.
func (ix *Index) DocFreq(t int) int {
	if t < 0 || t >= ix.vocab {
		return 0
	}
	return int(ix.offsets[t+1] - ix.offsets[t])
}

// AvgDocTerms is the average number of stored terms per document.
func (ix *Index) AvgDocTerms() float64 {
	if len(ix.ids) == 0 {
		return 0
	}
	return float64(len(ix.docs)) / float64(len(ix.ids))
}

// Document reconstructs document i's stored (dequantised) vector.
func (ix *Index) Document(i int) SparseVector {
	var v SparseVector
	for t := range ix.vocab {
		lo, hi := ix.offsets[t], ix.offsets[t+1]
		if p, ok := slices.BinarySearch(ix.docs[lo:hi], uint32(i)); ok {
			v.Terms = append(v.Terms, int32(t))
			v.Weights = append(v.Weights, float32(ix.impacts[lo+int64(p)])*ix.scale)
		}
	}
	return v
}

// Search returns the k documents with the highest dot product with q (over the stored weights),
// best first; ties go to the document indexed first. Documents scoring 0 are not returned. Terms of
// q outside the vocabulary are ignored. It is safe for concurrent use.
func (ix *Index) Search(q SparseVector, k int) []bm25.Hit {
	if k <= 0 || len(ix.ids) == 0 {
		return nil
	}
	accp, _ := ix.pool.Get().(*[]float32)
	if accp == nil || len(*accp) != len(ix.ids) {
		a := make([]float32, len(ix.ids))
		accp = &a
	}
	acc := *accp
	for i, t := range q.Terms {
		w := q.Weights[i]
		if t < 0 || int(t) >= ix.vocab || !(w > 0) {
			continue
		}
		lo, hi := ix.offsets[t], ix.offsets[t+1]
		qw := w * ix.scale
		docs, imps := ix.docs[lo:hi], ix.impacts[lo:hi]
		imps = imps[:len(docs)]
		for j, d := range docs {
			acc[d] += qw * float32(imps[j])
		}
	}
	top := sparseTopDocs(acc, k)
	clear(acc)
	ix.pool.Put(accp)
	hits := make([]bm25.Hit, len(top))
	for i, d := range top {
		hits[i] = bm25.Hit{DocID: ix.ids[d.doc], Score: float64(d.score)}
	}
	return hits
}

// sparseScoredDoc is a document number and its score.
type sparseScoredDoc struct {
	doc   uint32
	score float32
}

// before reports whether a ranks before b: higher score, then smaller document number.
func (a sparseScoredDoc) before(b sparseScoredDoc) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.doc < b.doc
}

// sparseTopDocs returns the k best documents of the accumulators with a positive score, best first.
func sparseTopDocs(acc []float32, k int) []sparseScoredDoc {
	heap := make([]sparseScoredDoc, 0, k) // heap[0] is the worst of the best k so far
	for d, s := range acc {
		if s <= 0 {
			continue
		}
		c := sparseScoredDoc{uint32(d), s}
		if len(heap) < k {
			heap = append(heap, c)
			for i := len(heap) - 1; i > 0; {
				p := (i - 1) / 2
				if !heap[p].before(heap[i]) {
					break
				}
				heap[p], heap[i] = heap[i], heap[p]
				i = p
			}
			continue
		}
		if !c.before(heap[0]) {
			continue
		}
		heap[0] = c
		for i := 0; ; {
			l := 2*i + 1
			if l >= len(heap) {
				break
			}
			w := l
			if r := l + 1; r < len(heap) && heap[l].before(heap[r]) {
				w = r
			}
			if !heap[i].before(heap[w]) {
				break
			}
			heap[i], heap[w] = heap[w], heap[i]
			i = w
		}
	}
	slices.SortFunc(heap, func(a, b sparseScoredDoc) int {
		if a.before(b) {
			return -1
		}
		if b.before(a) {
			return 1
		}
		return 0
	})
	return heap
}
