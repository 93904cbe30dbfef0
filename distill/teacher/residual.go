package teacher

import (
	"fmt"
	"math"
	"slices"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/models"
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
	return goldenMin(loss, 0, 10, 1e-4), nil
}

// UseCollection gives the scorer what a residual model needs to rank col: the BM25 index of the
// collection, which a model with a BM25 term (models.Config.BM25Weight > 0) and one that marks rare
// matches (models.Config.MarkRareDF > 0) need, and the bi-encoder of a dense term
// (models.Config.DenseWeight > 0), loaded from models.Config.DenseModel. For other models it does
// nothing.
func (c *CrossEncoder) UseCollection(col *datasets.Collection) error {
	cfg := c.Model.Config
	if NeedsCollection(cfg) && c.BM25 == nil {
		ix, err := bm25.Build(col.Docs, bm25.Config{})
		if err != nil {
			return err
		}
		c.BM25 = ix
	}
	if cfg.DenseWeight > 0 && c.Dense == nil {
		dense, err := LoadDense(cfg.DenseModel, c.Backend, c.MaxLen)
		if err != nil {
			return err
		}
		c.Dense = dense
	}
	return nil
}

// residual is the first-stage part of a residual cross-encoder's scores of the (unmarked) pairs:
// BM25Weight·BM25 + DenseWeight·cos.
func residual(cfg *models.Config, ix *bm25.Index, dense *Dense, queries, passages []string) ([]float64, error) {
	out := make([]float64, len(queries))
	if w := cfg.BM25Weight; w > 0 {
		if ix == nil {
			return nil, fmt.Errorf("cross-encoder: the model adds %g × BM25 to its scores (mimicry_bm25_weight) but has no BM25 index: give it the collection it ranks (CrossEncoder.UseCollection; --data on the command line)", w)
		}
		b, err := (&score.BM25{Index: ix}).Score(queries, passages)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] += w * b[i]
		}
	}
	if w := cfg.DenseWeight; w > 0 {
		if dense == nil {
			return nil, fmt.Errorf("cross-encoder: the model adds %g × the cosine under %s to its scores (mimicry_dense_weight) but has no bi-encoder (CrossEncoder.UseCollection loads it)", w, cfg.DenseModel)
		}
		c, err := dense.Cosines(queries, passages)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] += w * c[i]
		}
	}
	return out, nil
}
