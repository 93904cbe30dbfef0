package splade

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Train distils the answer key into a SPLADE student (Formal et al., "SPLADE v2", 2021;
// "From Distillation to Hard Negative Sampling", SIGIR 2022). Each step takes QueriesPerBatch
// queries, in a seeded order (a new permutation each epoch), and PassagesPerQuery of each one's
// scored passages, drawn as a pure function of the step; the student's score of a pair is the dot
// product of the SPLADE vectors of query and passage, and the loss is
//
//	L = MSE(s − mean(s), t − mean(t)) + λ_q(t)·R(Q) + λ_d(t)·R(D),   λ(t) = λ·min(1, t/T)²
//
// (with Loss = LossMarginMSE the first term is instead the Margin-MSE of each query's first passage
// against its others, losses.MarginMSEMulti, as sentence-transformers' SparseMarginMSELoss computes)
// with R losses.FLOPS (or losses.L1) over the batch's query vectors Q and passage vectors D,
// and the warm-up of losses.SparsityWeight computed in the graph from the step. Scores are
// compared up to one constant per batch (the means): a ranking cannot see a constant, and SPLADE's
// non-negative dot products could not reach a teacher's negative logits otherwise.
//
// Teacher scores t are used as they are unless Standardize is set, which replaces them by their
// z-scores in the batch (losses.Standardize): then λ has one meaning whatever the teacher's scale
// (the MSE grows with the square of that scale: BM25 scores span tens, cross-encoder logits a few
// units), but the student must match the spread of z-scores instead of the spread it has. Raw is
// the default because it ranks better where it was measured: on the synthetic collection, a
// bag-of-words student trained 200 steps (decoder bias at ×1000) reaches nDCG@10 0.3731 on raw
// scores and falls to 0.2042 (its terms dying, 27 → 18 per document) on standardised ones (README,
// "The SPLADE student").
//
// Every LogEvery steps the record holds the parts named by the Part* constants: the distillation
// loss, the weighted regulariser, the current λs, the average active terms per query and per
// document and the FLOPS estimate. The Guard stops training with a *SparsityError when the
// vectors collapse to zero or stay dense (the model is left as trained so far).
func Train(key []datasets.ScoredPair, queries, texts map[string]string, opts Options) (*train.Result, error) {
	if opts.Model == nil || opts.Model.Kind != models.KindSPLADE {
		return nil, fmt.Errorf("splade: a %s model (BERT + MLM head) is required", models.KindSPLADE)
	}
	if opts.Tokenizer == nil {
		return nil, errors.New("splade: a tokenizer is required")
	}
	if opts.Steps <= 0 {
		return nil, fmt.Errorf("splade: number of steps must be positive, got %d", opts.Steps)
	}
	if opts.LambdaQ < 0 || opts.LambdaD < 0 || math.IsNaN(opts.LambdaQ+opts.LambdaD) || math.IsInf(opts.LambdaQ+opts.LambdaD, 0) {
		return nil, fmt.Errorf("splade: λ_q = %g and λ_d = %g must be finite and ≥ 0", opts.LambdaQ, opts.LambdaD)
	}
	lossName := cmp.Or(opts.Loss, LossMSE)
	if lossName != LossMSE && lossName != LossMarginMSE {
		return nil, fmt.Errorf("splade: unknown loss %q (want %q or %q)", opts.Loss, LossMSE, LossMarginMSE)
	}
	reg := cmp.Or(opts.Regularizer, RegFLOPS)
	if reg != RegFLOPS && reg != RegL1 {
		return nil, fmt.Errorf("splade: unknown regulariser %q (want %q or %q)", reg, RegFLOPS, RegL1)
	}
	if tv, mv := opts.Tokenizer.VocabSize(), opts.Model.Config.VocabSize; tv != mv {
		return nil, fmt.Errorf("splade: the tokenizer has %d tokens but the model's vocabulary has %d", tv, mv)
	}
	nq := train.OrDefault(opts.QueriesPerBatch, 8)
	m := train.OrDefault(opts.PassagesPerQuery, 4)
	if lossName == LossMarginMSE && m < 2 {
		return nil, fmt.Errorf("splade: Margin-MSE needs at least 2 passages per query, got %d", m)
	}
	qLen := train.OrDefault(opts.QueryMaxLen, tokenizer.QueryMaxLen)
	dLen := train.OrDefault(opts.DocMaxLen, tokenizer.DocMaxLen)
	warm := opts.SparsityWarmup
	if warm == 0 {
		warm = opts.Steps / 3
	}
	warm = max(warm, 0)
	logEvery := train.OrDefault(opts.LogEvery, 10)
	guard := opts.Guard.withDefaults(warm, logEvery)
	sampler, err := newSpladeSampler(key, queries, texts, opts.Seed, nq, m)
	if err != nil {
		return nil, err
	}
	opt := spladeOptimizer(opts)
	cfg := opts.Model.Config
	tk := opts.Tokenizer
	vocab := cfg.VocabSize
	var guardErr *SparsityError
	batches := func(step int) ([]any, error) {
		if guardErr != nil {
			return nil, guardErr
		}
		qs, ps, scores := sampler.batch(step)
		qin, err := models.TextInputs(tk, qs, qLen)
		if err != nil {
			return nil, err
		}
		din, err := models.TextInputs(tk, ps, dLen)
		if err != nil {
			return nil, err
		}
		return []any{qin.IDs, qin.TypeIDs, qin.Mask, din.IDs, din.TypeIDs, din.Mask,
			tensors.FromFlatDataAndDimensions(scores, len(scores))}, nil
	}
	spec := spladeLossSpec{lambdaQ: opts.LambdaQ, lambdaD: opts.LambdaD, warmup: warm, reg: reg, standardize: opts.Standardize,
		marginMSE: lossName == LossMarginMSE, perQuery: m}
	loss := func(ctx *context.Context, step *Node, in []*Node) (*Node, []*Node) {
		qv := models.SpladeVectors(ctx, cfg, in[0], in[1], in[2]) // [nq, V]
		dv := models.SpladeVectors(ctx, cfg, in[3], in[4], in[5]) // [nq·m, V]
		student := Reshape(Einsum("qv,qmv->qm", qv, Reshape(dv, nq, m, vocab)), nq*m)
		teacher := ConvertDType(in[6], student.DType())
		return spec.loss(step, qv, dv, student, teacher)
	}
	onLog := func(rec train.Record) {
		if guardErr == nil {
			guardErr = guard.check(rec, vocab, opts.LambdaQ, opts.LambdaD, reg)
		}
		if opts.OnLog != nil {
			opts.OnLog(rec)
		}
	}
	tr := &train.Trainer{
		Model: opts.Model, Backend: opts.Backend, Loss: loss, Batches: batches, Eval: opts.Eval, OnLog: onLog,
		Config: train.Config{
			Name: "splade", Steps: opts.Steps, Optimizer: opt, OutDir: opts.OutDir, LogEvery: logEvery,
			CheckpointEvery: train.OrDefault(opts.CheckpointEvery, 100), EvalEvery: opts.EvalEvery,
			PartNames: spladePartNames, Quiet: opts.Quiet,
		},
	}
	res, err := tr.Run()
	if guardErr != nil {
		return res, guardErr
	}
	return res, err
}

// spladeOptimizer is opts.Optimizer, or Train's default for opts.Steps.
func spladeOptimizer(opts Options) train.Optimizer {
	if opts.Optimizer != nil {
		return *opts.Optimizer
	}
	return train.Optimizer{LearningRate: 2e-4, WarmupSteps: opts.Steps / 10, WeightDecay: 0.01, ClipNorm: 1}
}

// withTermBiasLR returns opts with the decoder bias's learning rate multiplied by DefaultTermBiasLR,
// unless its optimizer already names a multiplier for that bias (the caller's map is not changed).
func withTermBiasLR(opts Options) Options {
	opt := spladeOptimizer(opts)
	if _, ok := opt.LRMultipliers[models.SpladeTermBias]; ok {
		return opts
	}
	mult := maps.Clone(opt.LRMultipliers)
	if mult == nil {
		mult = map[string]float64{}
	}
	mult[models.SpladeTermBias] = DefaultTermBiasLR
	opt.LRMultipliers = mult
	opts.Optimizer = &opt
	return opts
}

// spladeLossSpec is the SPLADE loss's configuration.
type spladeLossSpec struct {
	lambdaQ, lambdaD float64
	warmup           int
	reg              string
	standardize      bool
	// marginMSE selects LossMarginMSE over the pairs, grouped perQuery passages per query.
	marginMSE bool
	perQuery  int
}

// loss returns the SPLADE loss and the parts named by spladePartNames. qv [nq, V] and dv [nd, V] are
// the batch's vectors; student and teacher the pairs' scores.
func (s spladeLossSpec) loss(step, qv, dv, student, teacher *Node) (*Node, []*Node) {
	var distill *Node
	if s.marginMSE {
		if s.standardize {
			teacher = losses.Standardize(teacher)
		}
		n := student.Shape().Size() / s.perQuery
		distill = losses.MarginMSEMulti(Reshape(student, n, s.perQuery), Reshape(teacher, n, s.perQuery))
	} else {
		distill = spladeDistillLoss(student, teacher, s.standardize)
	}
	dtype := distill.DType()
	lq := losses.SparsityWeightNode(step, s.lambdaQ, s.warmup, dtype)
	ld := losses.SparsityWeightNode(step, s.lambdaD, s.warmup, dtype)
	reg := Add(Mul(lq, spladeRegularizer(qv, s.reg)), Mul(ld, spladeRegularizer(dv, s.reg)))
	qa, da, flops := spladeBatchStats(qv, dv)
	return Add(distill, reg), []*Node{distill, reg, lq, ld, qa, da, flops}
}

// spladeDistillLoss is the score-MSE of Train, up to one constant per batch:
// MSE(s − mean(s), t' − mean(t')) with t' the teacher's scores, standardised or not.
func spladeDistillLoss(student, teacher *Node, standardize bool) *Node {
	if standardize {
		teacher = losses.Standardize(teacher)
	}
	return losses.MSE(Sub(student, ReduceAllMean(student)), Sub(teacher, ReduceAllMean(teacher)))
}

// spladeRegularizer is the sparsity penalty of [B, V] vectors.
func spladeRegularizer(w *Node, reg string) *Node {
	if reg == RegL1 {
		return losses.L1(w)
	}
	return losses.FLOPS(w)
}

// spladeBatchStats returns the average numbers of active (non-zero) terms per query and per
// document, and the FLOPS estimate Σ_j p_q(j)·p_d(j).
func spladeBatchStats(qv, dv *Node) (qActive, dActive, flops *Node) {
	qa := ConvertDType(GreaterThan(StopGradient(qv), ZerosLike(qv)), qv.DType())
	da := ConvertDType(GreaterThan(StopGradient(dv), ZerosLike(dv)), dv.DType())
	pq, pd := ReduceMean(qa, 0), ReduceMean(da, 0)
	return ReduceAllSum(pq), ReduceAllSum(pd), ReduceAllSum(Mul(pq, pd))
}

// spladeGroup is one query of the answer key with its scored passages.
type spladeGroup struct {
	query    string
	passages []string
	scores   []float32
}

// spladeSampler draws the (query, passage, teacher score) triples of a step as a pure function of
// the step.
type spladeSampler struct {
	groups []spladeGroup
	seed   int64
	q, m   int
}

// newSpladeSampler groups the answer key by query (in order of first appearance), looking up the
// texts; an id without text is an error.
func newSpladeSampler(key []datasets.ScoredPair, queries, texts map[string]string, seed int64, q, m int) (*spladeSampler, error) {
	if len(key) == 0 {
		return nil, errors.New("splade: the answer key is empty")
	}
	index := map[string]int{}
	var groups []spladeGroup
	for _, p := range key {
		i, ok := index[p.QueryID]
		if !ok {
			qt, ok := queries[p.QueryID]
			if !ok {
				return nil, fmt.Errorf("splade: answer key query %q has no text in the collection", p.QueryID)
			}
			i = len(groups)
			index[p.QueryID] = i
			groups = append(groups, spladeGroup{query: qt})
		}
		pt, ok := texts[p.DocID]
		if !ok {
			return nil, fmt.Errorf("splade: answer key passage %q (query %q) has no text in the collection", p.DocID, p.QueryID)
		}
		groups[i].passages = append(groups[i].passages, pt)
		groups[i].scores = append(groups[i].scores, float32(p.Score))
	}
	return &spladeSampler{groups: groups, seed: seed, q: q, m: m}, nil
}

// group returns the group at position pos of the stream: the groups in a seeded random order, a
// new order each epoch.
func (s *spladeSampler) group(pos int) int {
	total := len(s.groups)
	perm := rand.New(rand.NewPCG(uint64(s.seed), uint64(pos/total)+1)).Perm(total)
	return perm[pos%total]
}

// batch returns the step's q queries, q·m passages (query by query) and their teacher scores.
func (s *spladeSampler) batch(step int) (qs, ps []string, scores []float32) {
	for j := range s.q {
		pos := step*s.q + j
		g := s.groups[s.group(pos)]
		rng := rand.New(rand.NewPCG(uint64(s.seed)^0x5851f42d4c957f2d, uint64(pos)))
		qs = append(qs, g.query)
		var pick []int
		if len(g.passages) >= s.m {
			pick = rng.Perm(len(g.passages))[:s.m]
		} else {
			pick = rng.Perm(len(g.passages))
			for len(pick) < s.m {
				pick = append(pick, rng.IntN(len(g.passages)))
			}
		}
		for _, i := range pick {
			ps = append(ps, g.passages[i])
			scores = append(scores, g.scores[i])
		}
	}
	return qs, ps, scores
}

// spladeLastParts returns the parts of the last logged record, or nil.
func spladeLastParts(res *train.Result) map[string]float64 {
	if res == nil || len(res.History) == 0 {
		return nil
	}
	return res.History[len(res.History)-1].Parts
}

// spladeSortedUnique returns xs sorted, without duplicates.
func spladeSortedUnique(xs []float64) []float64 {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
