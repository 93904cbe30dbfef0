package teacher

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Teacher losses.
const (
	// LossLCE is the listwise softmax cross-entropy over (1 positive + n negatives): losses.LocalizedContrastive.
	LossLCE = "lce"
	// LossBCE is pointwise binary cross-entropy on each pair: losses.BinaryCrossEntropy.
	LossBCE = "bce"
)

// Options configure Train. Zero values take the defaults in brackets.
type Options struct {
	// Model is the cross-encoder to fine-tune (fresh from models.New or imported from HF).
	Model *models.Model
	// Tokenizer encodes the pairs.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graphs.
	Backend backends.Backend
	// Steps is the number of optimisation steps.
	Steps int
	// QueriesPerBatch is the number of training groups per step [8].
	QueriesPerBatch int
	// Negatives is the number of hard negatives per group in a step [7].
	Negatives int
	// Loss is LossLCE [default] or LossBCE.
	Loss string
	// MaxLen is the pair length limit [tokenizer.PairMaxLen].
	MaxLen int
	// Optimizer is AdamW's configuration [lr 2e-4, warm-up 10% of steps, weight decay 0.01, clip 1].
	Optimizer *train.Optimizer
	// Seed drives the data order and the sampling of positives and negatives.
	Seed int64
	// OutDir keeps checkpoints and metrics.jsonl (resumable); empty: none.
	OutDir string
	// CheckpointEvery saves every so many steps [100].
	CheckpointEvery int
	// EvalEvery calls Eval every so many steps (0: never).
	EvalEvery int
	// Eval evaluates the teacher during training (e.g. reranking BM25 top-k on dev queries).
	Eval func(step int) (map[string]float64, error)
	// SelectBy names one of Eval's measures (e.g. "nDCG@10"): training ends with the weights of the
	// evaluation where it was highest, not the last step's (train.Config.SelectBy). Empty: the last.
	SelectBy string
	// OnLog receives each logged record (live plots).
	OnLog func(train.Record)
	// Quiet hides the progress bar.
	Quiet bool
	// BM25 is the collection's index, which a residual model (models.Config.BM25Weight > 0) adds to
	// its scores and a model that marks rare matches (models.Config.MarkRareDF > 0) consults.
	BM25 *bm25.Index
	// Dense is the bi-encoder of a model with a dense residual (models.Config.DenseWeight > 0).
	Dense *Dense
}

// Train fine-tunes a cross-encoder on (query, positive, hard negatives) groups: each step
// takes QueriesPerBatch groups in a seeded order, one positive and Negatives negatives each, scores
// the (1+n) pairs and applies the listwise LCE loss (or pointwise BCE). When the model's
// configuration has MarkExactMatches, the pairs are marked first ([MarkExactMatches]); when it has
// a BM25Weight, the loss applies to logit + weight·BM25 (a residual model, [FitBM25Weight]).
func Train(set *negatives.TrainingSet, opts Options) (*train.Result, error) {
	if opts.Model == nil || opts.Model.Kind != models.KindCrossEncoder {
		return nil, fmt.Errorf("teacher: a cross-encoder model is required")
	}
	if len(set.Train) == 0 {
		return nil, fmt.Errorf("teacher: the training set has no groups")
	}
	b := opts.QueriesPerBatch
	if b <= 0 {
		b = 8
	}
	n := opts.Negatives
	if n <= 0 {
		n = 7
	}
	maxLen := opts.MaxLen
	if maxLen <= 0 {
		maxLen = tokenizer.PairMaxLen
	}
	lossName := opts.Loss
	if lossName == "" {
		lossName = LossLCE
	}
	if lossName != LossLCE && lossName != LossBCE {
		return nil, fmt.Errorf("teacher: unknown loss %q (want %q or %q)", lossName, LossLCE, LossBCE)
	}
	opt := train.Optimizer{LearningRate: 2e-4, WarmupSteps: opts.Steps / 10, WeightDecay: 0.01, ClipNorm: 1}
	if opts.Optimizer != nil {
		opt = *opts.Optimizer
	}
	sampler := newGroupSampler(set, opts.Seed, b, n)
	cfg := opts.Model.Config
	tk, prepare, err := pairEncoder(cfg, opts.Tokenizer, opts.BM25)
	if err != nil {
		return nil, fmt.Errorf("teacher: %w", err)
	}
	isResidual := cfg.BM25Weight > 0 || cfg.DenseWeight > 0
	if cfg.BM25Weight > 0 && opts.BM25 == nil {
		return nil, fmt.Errorf("teacher: the model adds %g × BM25 to its scores (mimicry_bm25_weight) but Options.BM25 is nil", cfg.BM25Weight)
	}
	if cfg.DenseWeight > 0 && opts.Dense == nil {
		return nil, fmt.Errorf("teacher: the model adds %g × the cosine under %s to its scores (mimicry_dense_weight) but Options.Dense is nil", cfg.DenseWeight, cfg.DenseModel)
	}
	batches := func(step int) ([]any, error) {
		rawQs, rawPs := sampler.pairs(step)
		qs, ps := prepare(rawQs, rawPs)
		in, err := models.PairInputs(tk, qs, ps, maxLen)
		if err != nil {
			return nil, err
		}
		if !isResidual {
			return []any{in.IDs, in.TypeIDs, in.Mask}, nil
		}
		prior, err := residual(cfg, opts.BM25, opts.Dense, rawQs, rawPs)
		if err != nil {
			return nil, err
		}
		return []any{in.IDs, in.TypeIDs, in.Mask, prior}, nil
	}
	loss := func(ctx *context.Context, _ *Node, in []*Node) (*Node, []*Node) {
		logits := models.CrossEncoderLogits(ctx, cfg, in[0], in[1], in[2])
		scores := Reshape(logits, b, 1+n)
		if isResidual {
			scores = Add(scores, Reshape(ConvertDType(in[3], scores.DType()), b, 1+n))
		}
		var l *Node
		if lossName == LossBCE {
			labels := Const(logits.Graph(), positiveFirstLabels(b, n, logits.DType() == dtypesFloat64))
			l = losses.BinaryCrossEntropy(scores, ConvertDType(labels, scores.DType()))
		} else {
			l = losses.LocalizedContrastive(scores)
		}
		return l, []*Node{positiveMargin(scores)}
	}
	tr := &train.Trainer{
		Model: opts.Model, Backend: opts.Backend, Loss: loss, Batches: batches, Eval: opts.Eval, OnLog: opts.OnLog,
		Config: train.Config{
			Name: "teacher", Steps: opts.Steps, Optimizer: opt, OutDir: opts.OutDir,
			CheckpointEvery: train.OrDefault(opts.CheckpointEvery, 100), EvalEvery: opts.EvalEvery,
			SelectBy: opts.SelectBy, PartNames: []string{"pos_margin"}, Quiet: opts.Quiet,
		},
	}
	return tr.Run()
}

// positiveMargin is the mean of (positive score − best negative score): > 0 when the model ranks the
// positive first. It is logged as a training diagnostic.
func positiveMargin(scores *Node) *Node {
	g := scores.Graph()
	n := scores.Shape().Dimensions[1]
	first := Einsum("bn,n->b", scores, oneHot(g, n, 0, scores.DType()))
	// Best negative: mask the positive with a very low score.
	penalty := MulScalar(oneHot(g, n, 0, scores.DType()), -1e9)
	bestNeg := ReduceMax(Add(scores, InsertAxes(penalty, 0)), 1)
	return ReduceAllMean(Sub(first, bestNeg))
}

// groupSampler draws the training pairs of a step as a pure function of the step.
type groupSampler struct {
	set  *negatives.TrainingSet
	seed int64
	b, n int
}

func newGroupSampler(set *negatives.TrainingSet, seed int64, b, n int) *groupSampler {
	return &groupSampler{set: set, seed: seed, b: b, n: n}
}

// group returns the index of the group at position pos of the stream of groups: the groups in a
// seeded random order, a new order each epoch.
func (s *groupSampler) group(pos int) int {
	total := len(s.set.Train)
	epoch := pos / total
	perm := rand.New(rand.NewPCG(uint64(s.seed), uint64(epoch)+1)).Perm(total)
	return perm[pos%total]
}

// pairs returns the step's B·(1+n) (query, passage) texts, group by group, positive first.
func (s *groupSampler) pairs(step int) (qs, ps []string) {
	for j := range s.b {
		g := s.set.Train[s.group(step*s.b+j)]
		rng := rand.New(rand.NewPCG(uint64(s.seed)^0x9e3779b97f4a7c15, uint64(step*s.b+j)))
		pos := g.Positives[rng.IntN(len(g.Positives))]
		qs, ps = append(qs, g.Query), append(ps, s.set.Texts[pos])
		for _, neg := range s.negatives(g, rng) {
			qs, ps = append(qs, g.Query), append(ps, s.set.Texts[neg])
		}
	}
	return qs, ps
}

// negatives samples n of the group's hard negatives without replacement (with replacement when the
// group has fewer than n; random passages of the training set when it has none).
func (s *groupSampler) negatives(g negatives.TrainGroup, rng *rand.Rand) []string {
	out := make([]string, 0, s.n)
	if len(g.Negatives) == 0 {
		for len(out) < s.n {
			other := s.set.Train[rng.IntN(len(s.set.Train))]
			if len(other.Positives) > 0 && other.QID != g.QID {
				out = append(out, other.Positives[0])
			}
		}
		return out
	}
	if len(g.Negatives) >= s.n {
		for _, i := range rng.Perm(len(g.Negatives))[:s.n] {
			out = append(out, g.Negatives[i])
		}
		return out
	}
	for len(out) < s.n {
		out = append(out, g.Negatives[rng.IntN(len(g.Negatives))])
	}
	return out
}
