package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// MLMOptions configure MLMWarmup.
type MLMOptions struct {
	// Model is a BertForMaskedLM-shaped model (models.KindSPLADE): BERT plus the MLM head.
	Model *models.Model
	// Tokenizer encodes the texts.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graphs.
	Backend backends.Backend
	// Steps is the number of optimisation steps.
	Steps int
	// BatchSize is the number of sequences per step [32].
	BatchSize int
	// MaxLen is the sequence length limit [128].
	MaxLen int
	// MaskProb is the fraction of tokens to predict [0.15].
	MaskProb float64
	// Optimizer is AdamW's configuration [lr 1e-3, warm-up 10%, weight decay 0.01, clip 1].
	Optimizer *Optimizer
	// Seed drives the sampling of sequences and masks.
	Seed int64
	// OutDir keeps checkpoints (resumable); empty: none.
	OutDir string
	// Quiet hides the progress bar.
	Quiet bool
}

// MLMWarmup pre-trains an encoder with masked-language modelling (Devlin et al. 2019: 15% of the
// tokens are chosen; 80% of those become [MASK], 10% a random token, 10% stay; the model predicts
// the originals) on pairs of texts encoded as `[CLS] a [SEP] b [SEP]` — for a retrieval teacher,
// (query, relevant passage) pairs of the training set, so that predicting a masked query word often
// means finding it in the passage: the cross-segment attention a cross-encoder needs. A tiny model
// trained from scratch on a CPU starts fine-tuning from there instead of from noise. Pairs with an
// empty second text are encoded as single texts.
func MLMWarmup(pairs [][2]string, opts MLMOptions) (*Result, error) {
	if opts.Model == nil || opts.Model.Kind != models.KindSPLADE {
		return nil, fmt.Errorf("mlm: a BertForMaskedLM-shaped model (kind %s) is required", models.KindSPLADE)
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("mlm: no texts")
	}
	b := OrDefault(opts.BatchSize, 32)
	maxLen := OrDefault(opts.MaxLen, 128)
	maskProb := opts.MaskProb
	if maskProb <= 0 {
		maskProb = 0.15
	}
	opt := Optimizer{LearningRate: 1e-3, WarmupSteps: opts.Steps / 10, WeightDecay: 0.01, ClipNorm: 1}
	if opts.Optimizer != nil {
		opt = *opts.Optimizer
	}
	tk := opts.Tokenizer
	sp := tk.Specials()
	vocab := tk.VocabSize()
	cfg := opts.Model.Config
	batches := func(step int) ([]any, error) {
		rng := rand.New(rand.NewPCG(uint64(opts.Seed), uint64(step)+7))
		firsts, seconds := make([]string, b), make([]string, b)
		for i := range b {
			p := pairs[rng.IntN(len(pairs))]
			firsts[i], seconds[i] = p[0], p[1]
		}
		batch, err := tokenizer.EncodePairBatch(tk, firsts, seconds, maxLen, tokenizer.WithPadToMultiple(8))
		if err != nil {
			return nil, err
		}
		ids, labels, weights := MaskTokens(rng, batch.IDs, batch.Mask, sp, vocab, maskProb)
		shape := []int{batch.Size, batch.Len}
		return []any{
			tensors.FromFlatDataAndDimensions(ids, shape...),
			tensors.FromFlatDataAndDimensions(batch.TypeIDs, shape...),
			tensors.FromFlatDataAndDimensions(batch.Mask, shape...),
			tensors.FromFlatDataAndDimensions(labels, shape...),
			tensors.FromFlatDataAndDimensions(weights, shape...),
		}, nil
	}
	loss := func(ctx *context.Context, _ *Node, in []*Node) (*Node, []*Node) {
		hidden := models.BertEncoder(ctx.In("bert"), cfg, in[0], in[1], in[2])
		l, acc := losses.MaskedLM(models.MLMLogits(ctx, cfg, hidden), in[3], in[4])
		return l, []*Node{acc}
	}
	tr := &Trainer{
		Model: opts.Model, Backend: opts.Backend, Loss: loss, Batches: batches,
		Config: Config{Name: "mlm warm-up", Steps: opts.Steps, Optimizer: opt, OutDir: opts.OutDir,
			CheckpointEvery: 100, PartNames: []string{"accuracy"}, Quiet: opts.Quiet},
	}
	return tr.Run()
}

// MaskTokens chooses BERT's masked-language-model targets in a batch of token ids (mask: 1 on real
// tokens): each real token other than [CLS], [SEP] and padding is chosen with probability prob; a
// chosen token becomes [MASK] 80% of the time, a random token 10%, and stays 10%. It returns the
// corrupted ids, the labels (the original ids at the chosen positions) and their weights (1 there,
// 0 elsewhere).
func MaskTokens(rng *rand.Rand, batchIDs, mask []int32, sp tokenizer.Specials, vocab int, prob float64) (ids, labels []int32, weights []float32) {
	ids = make([]int32, len(batchIDs))
	copy(ids, batchIDs)
	labels = make([]int32, len(ids))
	weights = make([]float32, len(ids))
	for i, id := range batchIDs {
		if mask[i] == 0 || int(id) == sp.CLS || int(id) == sp.SEP || int(id) == sp.Pad {
			continue
		}
		if rng.Float64() >= prob {
			continue
		}
		labels[i], weights[i] = id, 1
		switch r := rng.Float64(); {
		case r < 0.8:
			ids[i] = int32(sp.Mask)
		case r < 0.9:
			ids[i] = int32(rng.IntN(vocab))
		}
	}
	return ids, labels, weights
}
