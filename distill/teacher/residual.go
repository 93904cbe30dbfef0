package teacher

import (
	"fmt"
	"math"
	"slices"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/score"
)

// FitBM25Weight returns the softmax temperature at which BM25 best predicts the training positives
// among its own top depth results: the weight w ≥ 0 that minimises the listwise softmax
// cross-entropy −log softmax(w·BM25)[positive] over each training group's BM25 top depth (groups
// whose first positive is not in it are skipped; other positives are left out of the list). It is
// the residual cross-encoder's starting point — at initialisation it ranks as BM25 does, with the
// confidence BM25 has earned on the reranking task — and the network learns what to add. The loss
// is convex in w; it is minimised by golden-section search on [0, 10].
func FitBM25Weight(ix *bm25.Index, set *negatives.TrainingSet, depth int) (float64, error) {
	var queries []datasets.Query
	for _, g := range set.Train {
		if len(g.Positives) > 0 {
			queries = append(queries, datasets.Query{ID: g.QID, Text: g.Query})
		}
	}
	hits := ix.SearchBatch(queries, depth)
	var groups [][]float64
	for _, g := range set.Train {
		if len(g.Positives) == 0 {
			continue
		}
		var list []float64
		target := -1
		for _, h := range hits[g.QID] {
			switch {
			case h.DocID == g.Positives[0]:
				target = len(list)
			case slices.Contains(g.Positives, h.DocID):
				continue
			}
			list = append(list, h.Score)
		}
		if target < 0 || len(list) < 2 {
			continue
		}
		list[0], list[target] = list[target], list[0]
		groups = append(groups, list)
	}
	if len(groups) == 0 {
		return 0, fmt.Errorf("fitting the BM25 weight: no training query has its positive and another passage in BM25's top %d", depth)
	}
	loss := func(w float64) float64 {
		total := 0.0
		for _, s := range groups {
			m := math.Inf(-1)
			for _, v := range s {
				m = max(m, w*v)
			}
			sum := 0.0
			for _, v := range s {
				sum += math.Exp(w*v - m)
			}
			total += m + math.Log(sum) - w*s[0]
		}
		return total / float64(len(groups))
	}
	lo, hi := 0.0, 10.0
	phi := (math.Sqrt(5) - 1) / 2
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := loss(a), loss(b)
	for hi-lo > 1e-4 {
		if fa <= fb {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = loss(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = loss(b)
		}
	}
	return (lo + hi) / 2, nil
}

// UseCollection gives the scorer the BM25 index of the collection it will rank, which a residual
// cross-encoder (models.Config.BM25Weight > 0) and one that marks rare matches
// (models.Config.MarkRareDF > 0) need; for other models it does nothing.
func (c *CrossEncoder) UseCollection(col *datasets.Collection) error {
	if !NeedsCollection(c.Model.Config) || c.BM25 != nil {
		return nil
	}
	ix, err := bm25.Build(col.Docs, bm25.Config{})
	if err != nil {
		return err
	}
	c.BM25 = ix
	return nil
}

// addBM25 adds weight times the BM25 scores of the (unmarked) pairs to scores.
func addBM25(ix *bm25.Index, weight float64, queries, passages []string, scores []float64) error {
	if ix == nil {
		return fmt.Errorf("cross-encoder: the model adds %g × BM25 to its scores (mimicry_bm25_weight) but has no BM25 index: give it the collection it ranks (CrossEncoder.UseCollection; --data on the command line)", weight)
	}
	b, err := (&score.BM25{Index: ix}).Score(queries, passages)
	if err != nil {
		return err
	}
	for i := range scores {
		scores[i] += weight * b[i]
	}
	return nil
}
