package teacher

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/models/embed"
)

// A cross-encoder whose configuration has a positive models.Config.DenseWeight adds that weight
// times the cosine similarity of query and passage under a frozen bi-encoder (models.Config.
// DenseModel) to its score, beside the BM25 term of a residual one: BM25 knows which words match,
// the pretrained bi-encoder what they mean, and the network learns what both miss. Fine-tuning a
// cross-encoder from a sentence-transformers checkpoint on a few hundred queries does not make it
// rank better than BM25 on its own (README, "SciFact with MiniLM"); with both terms it starts where
// their fitted sum is.

// Dense is the dense term of a cross-encoder's score: cosine similarities under a frozen
// bi-encoder, with every text's embedding kept once computed (passages recur across queries, and
// across training, annotation and reranking). It is safe for concurrent use.
type Dense struct {
	// Encoder is the bi-encoder (models/embed: its pooling and normalisation).
	Encoder *embed.Encoder

	mu      sync.Mutex
	queries map[string][]float32
	docs    map[string][]float32
}

// LoadDense loads the bi-encoder ref (a folder or hub id) on be, reading texts of up to maxLen
// tokens (0: the model's own limit).
func LoadDense(ref string, be backends.Backend, maxLen int) (*Dense, error) {
	enc, err := embed.Load(ref, be)
	if err != nil {
		return nil, fmt.Errorf("dense residual: %w", err)
	}
	if maxLen > 0 && (enc.Model.MaxSeqLength == 0 || maxLen < enc.Model.MaxSeqLength) {
		enc.MaxLen = maxLen
	}
	return &Dense{Encoder: enc}, nil
}

// Cosines returns the cosine similarity of each (queries[i], passages[i]) pair.
func (d *Dense) Cosines(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("dense residual: %d queries but %d passages", len(queries), len(passages))
	}
	qv, err := d.vectors(queries, true)
	if err != nil {
		return nil, err
	}
	pv, err := d.vectors(passages, false)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(queries))
	for i := range out {
		out[i] = embed.Cosine(qv[i], pv[i])
	}
	return out, nil
}

// Warm encodes passages ahead of time (e.g. the whole corpus, in length-sorted batches).
func (d *Dense) Warm(passages []string) error {
	_, err := d.vectors(passages, false)
	return err
}

// vectors returns the embeddings of texts, encoding those not seen before.
func (d *Dense) vectors(texts []string, query bool) ([][]float32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cache := &d.docs
	if query {
		cache = &d.queries
	}
	if *cache == nil {
		*cache = map[string][]float32{}
	}
	var todo []string
	seen := map[string]bool{}
	for _, t := range texts {
		if _, ok := (*cache)[t]; !ok && !seen[t] {
			seen[t] = true
			todo = append(todo, t)
		}
	}
	if len(todo) > 0 {
		embs, err := d.Encoder.Encode(todo, query)
		if err != nil {
			return nil, fmt.Errorf("dense residual: %w", err)
		}
		for i, e := range embs {
			(*cache)[todo[i]] = e.Vector
		}
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = (*cache)[t]
	}
	return out, nil
}

// FitResidualWeights fits the weights of a residual cross-encoder's two first-stage terms, BM25
// and the dense cosine, as FitBM25Weight fits BM25's alone: (w_bm25, w_dense) ≥ 0 minimising the
// listwise softmax cross-entropy of w_bm25·BM25 + w_dense·cos over each training group's BM25 top
// depth, the group's first positive the target. The loss is convex in the weights; it is minimised
// by cyclic coordinate descent, a golden-section search per weight (w_bm25 in [0, 10], w_dense in
// [0, 100]), until the weights move by less than 1e-4. dense nil fits w_bm25 alone (w_dense 0).
func FitResidualWeights(ix *bm25.Index, dense *Dense, set *negatives.TrainingSet, depth int) (wBM25, wDense float64, err error) {
	return fitResidual(ix, dense, set, depth, true)
}

// fitResidual is FitResidualWeights, with w_bm25 fitted or held at 0.
func fitResidual(ix *bm25.Index, dense *Dense, set *negatives.TrainingSet, depth int, withBM25 bool) (wBM25, wDense float64, err error) {
	var queries []datasets.Query
	for _, g := range set.Train {
		if len(g.Positives) > 0 {
			queries = append(queries, datasets.Query{ID: g.QID, Text: g.Query})
		}
	}
	hits := ix.SearchBatch(queries, depth)
	type group struct{ b, c []float64 }
	var groups []group
	var qs, ps []string // every candidate pair, group after group, for one call of dense.Cosines
	for _, g := range set.Train {
		if len(g.Positives) == 0 {
			continue
		}
		var gr group
		var ids []string
		target := -1
		for _, h := range hits[g.QID] {
			if h.DocID == g.Positives[0] {
				target = len(gr.b)
			} else if slices.Contains(g.Positives, h.DocID) {
				continue
			}
			gr.b, ids = append(gr.b, h.Score), append(ids, h.DocID)
		}
		if target < 0 || len(gr.b) < 2 {
			continue
		}
		gr.b[0], gr.b[target] = gr.b[target], gr.b[0]
		ids[0], ids[target] = ids[target], ids[0]
		gr.c = make([]float64, len(ids))
		for _, id := range ids {
			qs, ps = append(qs, g.Query), append(ps, set.Texts[id])
		}
		groups = append(groups, gr)
	}
	if len(groups) == 0 {
		return 0, 0, fmt.Errorf("fitting the residual weights: no training query has its positive and another passage in BM25's top %d", depth)
	}
	if dense != nil {
		cos, err := dense.Cosines(qs, ps)
		if err != nil {
			return 0, 0, err
		}
		for _, g := range groups {
			n := copy(g.c, cos)
			cos = cos[n:]
		}
	}
	loss := func(wb, wd float64) float64 {
		total := 0.0
		for _, g := range groups {
			m := math.Inf(-1)
			for i := range g.b {
				m = max(m, wb*g.b[i]+wd*g.c[i])
			}
			sum := 0.0
			for i := range g.b {
				sum += math.Exp(wb*g.b[i] + wd*g.c[i] - m)
			}
			total += m + math.Log(sum) - (wb*g.b[0] + wd*g.c[0])
		}
		return total / float64(len(groups))
	}
	wb, wd := 0.0, 0.0
	for range 50 {
		nb := 0.0
		if withBM25 {
			nb = goldenMin(func(w float64) float64 { return loss(w, wd) }, 0, 10, 1e-5)
		}
		nd := 0.0
		if dense != nil {
			nd = goldenMin(func(w float64) float64 { return loss(nb, w) }, 0, 100, 1e-5)
		}
		done := math.Abs(nb-wb) < 1e-4 && math.Abs(nd-wd) < 1e-4
		wb, wd = nb, nd
		if done {
			break
		}
	}
	return wb, wd, nil
}

// goldenMin returns the minimiser of a unimodal f on [lo, hi] within tol, by golden-section search.
func goldenMin(f func(float64) float64, lo, hi, tol float64) float64 {
	phi := (math.Sqrt(5) - 1) / 2
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := f(a), f(b)
	for hi-lo > tol {
		if fa <= fb {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = f(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = f(b)
		}
	}
	return (lo + hi) / 2
}
