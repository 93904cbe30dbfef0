package splade

import (
	"fmt"
	"sort"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/distill/progress"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Encoder encodes texts with a SPLADE model (models.KindSPLADE) into sparse vectors. score.Texts are
// batched by token length (little compute is wasted on padding) and returned in the caller's order.
// It is not safe for concurrent use.
type Encoder struct {
	// Model is a models.KindSPLADE model.
	Model *models.Model
	// Tokenizer encodes the texts.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graph.
	Backend backends.Backend
	// BatchSize is the largest number of texts per forward pass [score.DefaultBatchSize]; it is lowered so
	// that a batch's [B, L, V] logits stay within about 2^25 values.
	BatchSize int
	// Quiet hides the progress bar.
	Quiet bool

	exec *context.Exec
}

// spladeLogitBudget bounds B·L·V, the size of the MLM logits of one encoding batch.
const spladeLogitBudget = 1 << 25

// Encode returns the sparse vectors of texts, each encoded as `[CLS] text [SEP]` cut to maxLen
// tokens. label names the progress bar ("documents", "queries").
func (e *Encoder) Encode(texts []string, maxLen int, label string) ([]SparseVector, error) {
	if e.Model == nil || e.Model.Kind != models.KindSPLADE {
		return nil, fmt.Errorf("splade encoder: a %s model is required", models.KindSPLADE)
	}
	if e.exec == nil {
		if err := e.Model.Materialize(e.Backend); err != nil {
			return nil, err
		}
		m := e.Model
		exec, err := context.NewExec(e.Backend, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
			return models.SpladeVectors(ctx.In(models.ModelScope), m.Config, ids, types, mask)
		})
		if err != nil {
			return nil, err
		}
		// One graph per batch shape: passages of up to 512 tokens padded to multiples of 8 give up
		// to 64 lengths, and queries and smaller last batches add more than GoMLX's default cache of 32.
		e.exec = exec.SetMaxCache(-1)
	}
	tk := e.Tokenizer
	ids := tokenizer.EncodeAll(tk, texts)
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(ids[order[a]]) < len(ids[order[b]]) })
	vocab := e.Model.Config.VocabSize
	bs := train.OrDefault(e.BatchSize, score.DefaultBatchSize)
	bar := progress.Quiet(len(texts))
	if !e.Quiet {
		bar = progress.New(len(texts), "splade encode "+label, label)
	}
	out := make([]SparseVector, len(texts))
	for start := 0; start < len(order); {
		// The batch's padded length is at most that of its longest (last) text.
		longest := min(len(ids[order[min(start+bs, len(order))-1]])+2, maxLen)
		n := max(1, min(bs, spladeLogitBudget/max(1, (longest+7)/8*8*vocab)))
		idx := order[start:min(start+n, len(order))]
		rows := make([][]int, len(idx))
		for j, i := range idx {
			rows[j] = ids[i]
		}
		b, err := tokenizer.BatchFromIDs(tk, rows, maxLen, tokenizer.WithPadToMultiple(8))
		if err != nil {
			return nil, err
		}
		res, err := e.exec.Exec(
			tensors.FromFlatDataAndDimensions(b.IDs, b.Size, b.Len),
			tensors.FromFlatDataAndDimensions(b.TypeIDs, b.Size, b.Len),
			tensors.FromFlatDataAndDimensions(b.Mask, b.Size, b.Len))
		if err != nil {
			return nil, err
		}
		flat, err := models.Float32s(res[0])
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = SparseFromDense(flat[j*vocab : (j+1)*vocab])
		}
		start += len(idx)
		bar.Add(len(idx), "")
	}
	bar.Finish()
	return out, nil
}
