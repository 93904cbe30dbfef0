package teacher

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/progress"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// CrossEncoder runs a cross-encoder model as a score.Scorer. Pairs are scored in batches sorted by length
// (bucketing: little compute is wasted on padding) and returned in the caller's order. A model whose
// configuration has MarkExactMatches gets its pairs marked ([MarkExactMatches]) as in training.
type CrossEncoder struct {
	// Model is a models.KindCrossEncoder model.
	Model *models.Model
	// Tokenizer encodes the pairs.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graph.
	Backend backends.Backend
	// MaxLen is the pair length limit (default tokenizer.PairMaxLen).
	MaxLen int
	// BatchSize is the number of pairs per forward pass (default score.DefaultBatchSize).
	BatchSize int
	// NoBucketing keeps the caller's order for batching (for benchmarks).
	NoBucketing bool
	// Label names the scorer (default "cross-encoder").
	Label string
	// Progress shows a progress bar when a Score call has more than progressMinPairs pairs
	// (reranking a test set); annotation has its own.
	Progress bool
	// BM25 is the index of the collection being ranked, which a residual model
	// (models.Config.BM25Weight > 0: its score adds that weight times the pair's BM25 score) and a
	// model that marks rare matches (models.Config.MarkRareDF > 0) need; see UseCollection. Other
	// models ignore it.
	BM25 *bm25.Index
	// Dense is the frozen bi-encoder of a model with a dense residual (models.Config.DenseWeight >
	// 0: its score adds that weight times the pair's cosine similarity under it); UseCollection
	// loads it from models.Config.DenseModel.
	Dense *Dense

	exec *context.Exec
}

// Name implements score.Scorer.
func (c *CrossEncoder) Name() string {
	if c.Label != "" {
		return c.Label
	}
	return "cross-encoder"
}

// Score implements score.Scorer.
func (c *CrossEncoder) Score(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("cross-encoder: %d queries but %d passages", len(queries), len(passages))
	}
	if c.exec == nil {
		if err := c.Model.Materialize(c.Backend); err != nil {
			return nil, err
		}
		m := c.Model
		exec, err := context.NewExec(c.Backend, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
			return models.CrossEncoderLogits(ctx.In(models.ModelScope), m.Config, ids, types, mask)
		})
		if err != nil {
			return nil, err
		}
		c.exec = exec
	}
	maxLen := c.MaxLen
	if maxLen <= 0 {
		maxLen = tokenizer.PairMaxLen
	}
	tk, prepare, err := pairEncoder(c.Model.Config, c.Tokenizer, c.BM25)
	if err != nil {
		return nil, err
	}
	raw, rawPassages := queries, passages
	queries, passages = prepare(queries, passages)
	order := make([]int, len(queries))
	for i := range order {
		order[i] = i
	}
	if !c.NoBucketing {
		lengths := make([]int, len(queries))
		for i := range queries {
			lengths[i] = len(tk.Encode(queries[i])) + len(tk.Encode(passages[i]))
		}
		sort.SliceStable(order, func(a, b int) bool { return lengths[order[a]] < lengths[order[b]] })
	}
	out := make([]float64, len(queries))
	bs := train.OrDefault(c.BatchSize, score.DefaultBatchSize)
	bar := progress.Quiet(len(order))
	if c.Progress && len(order) > progressMinPairs {
		bar = progress.New(len(order), c.Name()+" scoring", "pairs")
	}
	defer bar.Finish()
	for start := 0; start < len(order); start += bs {
		idx := order[start:min(start+bs, len(order))]
		qs, ps := make([]string, len(idx)), make([]string, len(idx))
		for j, i := range idx {
			qs[j], ps[j] = queries[i], passages[i]
		}
		in, err := models.PairInputs(tk, qs, ps, maxLen)
		if err != nil {
			return nil, err
		}
		res, err := c.exec.Exec(in.IDs, in.TypeIDs, in.Mask)
		if err != nil {
			return nil, err
		}
		scores := floats(res[0])
		for j, i := range idx {
			out[i] = scores[j]
		}
		bar.Add(len(idx), "")
	}
	if cfg := c.Model.Config; cfg.BM25Weight > 0 || cfg.DenseWeight > 0 {
		prior, err := residual(cfg, c.BM25, c.Dense, raw, rawPassages)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] += prior[i]
		}
	}
	return out, nil
}

// floats reads a float tensor as float64s.
func floats(t *tensors.Tensor) []float64 {
	switch v := t.Value().(type) {
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return slices.Clone(v)
	}
	flat32, err := tensors.CopyFlatData[float32](t)
	if err == nil {
		out := make([]float64, len(flat32))
		for i, x := range flat32 {
			out[i] = float64(x)
		}
		return out
	}
	return tensors.MustCopyFlatData[float64](t)
}

// progressMinPairs is the number of pairs above which a Score call with Progress shows a bar.
const progressMinPairs = 2000
