package distill

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// SPLADE sparsity regularisers.
const (
	// RegFLOPS is losses.FLOPS, SPLADE's default: Σ_j (mean_i w_ij)².
	RegFLOPS = "flops"
	// RegL1 is losses.L1: the mean L1 norm of the vectors.
	RegL1 = "l1"
)

// Default sparsity weights of TrainSPLADE (see SpladeOptions.LambdaQ and LambdaD), chosen on the
// synthetic collection so that a tiny model keeps tens of terms per document; SPLADE v2 (Formal et
// al. 2021) uses λ_q = 3e-4, λ_d = 1e-4 with BERT-base on MS MARCO, where the scores and vectors
// have other scales. Queries get the larger weight: they are encoded at
// search time, and their terms multiply the work of every document.
const (
	DefaultLambdaQ = 3e-3
	DefaultLambdaD = 1e-3
)

// DefaultTermBiasLR multiplies the learning rate of a bag-of-words student's decoder bias
// (models.SpladeTermBias; train.Optimizer.LRMultipliers). Started by models.LexicalInit, the student
// weighs every shared word alike; the bias holds one activation threshold per vocabulary term, the
// parameter through which it learns which words matter (an IDF), but at a learning rate the rest of
// the network tolerates (10⁻⁴) Adam moves it by 0.02 in 200 steps where it must move by units. On the
// synthetic collection (200 steps, raw scores, λ = 0): ×1 keeps nDCG@10 at the start's 0.335, ×300
// reaches 0.381, ×1000 0.373, and ×3000 falls to 0.286 in 50 steps.
const DefaultTermBiasLR = 300

// Names of the parts of the SPLADE loss in train.Record.Parts (metrics.jsonl).
const (
	// PartDistill is the score-MSE between student and teacher.
	PartDistill = "distill"
	// PartReg is the weighted regulariser λ_q(t)·R(queries) + λ_d(t)·R(documents).
	PartReg = "reg"
	// PartLambdaQ and PartLambdaD are the warmed-up weights λ_q(t) and λ_d(t).
	PartLambdaQ = "lambda_q"
	PartLambdaD = "lambda_d"
	// PartQueryActive and PartDocActive are the average numbers of non-zero terms per query and
	// per document of the batch.
	PartQueryActive = "q_active"
	PartDocActive   = "d_active"
	// PartFLOPS is the batch's FLOPS estimate Σ_j p_q(j)·p_d(j), p(j) being the fraction of the
	// batch's queries (documents) where term j is active: the expected number of multiplications
	// per (query, document) pair in an inverted index.
	PartFLOPS = "flops"
)

// spladePartNames are the logged parts, in the order the loss returns them.
var spladePartNames = []string{PartDistill, PartReg, PartLambdaQ, PartLambdaD, PartQueryActive, PartDocActive, PartFLOPS}

// SpladeOptions configure TrainSPLADE. Zero values take the defaults in brackets, except the
// sparsity weights, whose zero means no penalty (use DefaultLambdaQ and DefaultLambdaD).
type SpladeOptions struct {
	// Model is the SPLADE student (models.KindSPLADE: BERT + MLM head), fresh or imported.
	Model *models.Model
	// Tokenizer encodes queries and passages.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graphs.
	Backend backends.Backend
	// Steps is the number of optimisation steps.
	Steps int
	// QueriesPerBatch is the number of queries per step [8].
	QueriesPerBatch int
	// PassagesPerQuery is the number m of each query's scored passages per step [4]; a query with
	// fewer pairs in the answer key has some drawn twice.
	PassagesPerQuery int
	// LambdaQ and LambdaD weigh the regulariser of the query and the document vectors.
	LambdaQ, LambdaD float64
	// Regularizer is RegFLOPS [default] or RegL1.
	Regularizer string
	// SparsityWarmup is T of the quadratic warm-up λ·min(1, t/T)² [Steps/3]; negative: none.
	SparsityWarmup int
	// Standardize fits the student to the teacher's scores standardised per batch (z-scores)
	// instead of the raw scores (see TrainSPLADE).
	Standardize bool
	// QueryMaxLen and DocMaxLen are the length limits in tokens [tokenizer.QueryMaxLen, DocMaxLen].
	QueryMaxLen, DocMaxLen int
	// Optimizer is AdamW's configuration [lr 2e-4, warm-up 10% of steps, weight decay 0.01, clip 1].
	Optimizer *train.Optimizer
	// Seed drives the data order and the sampling of passages.
	Seed int64
	// OutDir keeps checkpoints and metrics.jsonl (resumable); empty: none.
	OutDir string
	// CheckpointEvery saves every so many steps [100].
	CheckpointEvery int
	// LogEvery logs the loss parts every so many steps [10]; the guards look at each log.
	LogEvery int
	// Guard sets the thresholds of the sparsity guards (zero value: the defaults).
	Guard SpladeGuard
	// EvalEvery calls Eval every so many steps (0: never).
	EvalEvery int
	// Eval evaluates the student during training.
	Eval func(step int) (map[string]float64, error)
	// OnLog receives each logged record (live plots).
	OnLog func(train.Record)
	// Quiet hides the progress bar.
	Quiet bool
}

// SpladeGuard configures the checks against SPLADE's two failure modes, made on every logged record
// from the step After on: collapse — the vectors of queries or documents are (almost) all zero, so
// most scores are 0 and nothing can be ranked (λ too high) — and density — (almost) every vocabulary
// term is active, so the inverted index degenerates into a dense scan (λ too low). Density is only
// checked for a side whose λ is positive: with λ = 0 a dense model is what was asked for.
type SpladeGuard struct {
	// Off disables the guards (the sweep records the problem instead of stopping).
	Off bool
	// After is the first step checked [twice the sparsity warm-up, so that the full λ has had as
	// many steps to act as the warm-up took; at least one log interval].
	After int
	// MinActive is the collapse threshold: fewer active terms per query or document on average [1].
	MinActive float64
	// MaxActiveFraction is the density threshold: more than this fraction of the vocabulary active
	// per query or document on average [0.9].
	MaxActiveFraction float64
}

// SparsityError is the error of a tripped SpladeGuard.
type SparsityError struct {
	// Collapsed is true for a collapse (too few active terms), false for density (too many).
	Collapsed bool
	// Side is "documents" or "queries".
	Side string
	// Active is the side's average number of active terms over the logged window.
	Active float64
	// Vocab is the vocabulary size.
	Vocab int
	// Step is the step at which the guard tripped.
	Step int
	// Lambda is the side's λ; Regularizer names the penalty.
	Lambda      float64
	Regularizer string
}

// Error explains what happened and what to try.
func (e *SparsityError) Error() string {
	sym := "λ_d"
	if e.Side == "queries" {
		sym = "λ_q"
	}
	if e.Collapsed {
		try := fmt.Sprintf("try %s = %.3g (a tenth) or lower, or a longer sparsity warm-up", sym, e.Lambda/10)
		if e.Lambda == 0 {
			try = "the penalty is off, so check the learning rate and the teacher scores"
		}
		return fmt.Sprintf("SPLADE collapsed: %s have %.1f active terms on average after %d steps (%s = %g, %s regulariser), "+
			"so most scores are 0; %s is too high: %s", e.Side, e.Active, e.Step, sym, e.Lambda, e.Regularizer, sym, try)
	}
	return fmt.Sprintf("SPLADE is not sparse: %s have %.1f of %d vocabulary terms active on average after %d steps "+
		"(%s = %g, %s regulariser), so an inverted index would scan nearly everything; %s is too low: try %s = %.3g (10×) or higher, "+
		"or more steps", e.Side, e.Active, e.Vocab, e.Step, sym, e.Lambda, e.Regularizer, sym, sym, e.Lambda*10)
}

// check returns the guard's verdict on a logged record, or nil.
func (g SpladeGuard) check(rec train.Record, vocab int, lambdaQ, lambdaD float64, reg string) *SparsityError {
	if g.Off || rec.Step < g.After {
		return nil
	}
	for _, side := range []struct {
		name   string
		part   string
		lambda float64
	}{{"documents", PartDocActive, lambdaD}, {"queries", PartQueryActive, lambdaQ}} {
		active, ok := rec.Parts[side.part]
		if !ok {
			continue
		}
		e := &SparsityError{Side: side.name, Active: active, Vocab: vocab, Step: rec.Step, Lambda: side.lambda, Regularizer: reg}
		if active < g.MinActive {
			e.Collapsed = true
			return e
		}
		if side.lambda > 0 && active > g.MaxActiveFraction*float64(vocab) {
			return e
		}
	}
	return nil
}

// CheckSparsity applies the guard's thresholds (with defaults) to average active-term counts, as
// TrainSPLADE does on its logs: nil when the model is neither collapsed nor dense.
func (g SpladeGuard) CheckSparsity(queryActive, docActive float64, vocab int, lambdaQ, lambdaD float64, reg string, step int) error {
	g = g.withDefaults(0, 0)
	g.Off, g.After = false, 0
	rec := train.Record{Step: step, Parts: map[string]float64{PartQueryActive: queryActive, PartDocActive: docActive}}
	if e := g.check(rec, vocab, lambdaQ, lambdaD, reg); e != nil {
		return e
	}
	return nil
}

// withDefaults fills in the guard's zero values.
func (g SpladeGuard) withDefaults(warmup, logEvery int) SpladeGuard {
	if g.After <= 0 {
		g.After = max(2*warmup, logEvery)
	}
	if g.MinActive <= 0 {
		g.MinActive = 1
	}
	if g.MaxActiveFraction <= 0 {
		g.MaxActiveFraction = 0.9
	}
	return g
}

// TrainSPLADE distils the answer key into a SPLADE student (Formal et al., "SPLADE v2", 2021;
// "From Distillation to Hard Negative Sampling", SIGIR 2022). Each step takes QueriesPerBatch
// queries, in a seeded order (a new permutation each epoch), and PassagesPerQuery of each one's
// scored passages, drawn as a pure function of the step; the student's score of a pair is the dot
// product of the SPLADE vectors of query and passage, and the loss is
//
//	L = MSE(s − mean(s), t − mean(t)) + λ_q(t)·R(Q) + λ_d(t)·R(D),   λ(t) = λ·min(1, t/T)²
//
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
// document and the FLOPS estimate. The SpladeGuard stops training with a *SparsityError when the
// vectors collapse to zero or stay dense (the model is left as trained so far).
func TrainSPLADE(key []datasets.ScoredPair, queries, texts map[string]string, opts SpladeOptions) (*train.Result, error) {
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
	reg := cmp.Or(opts.Regularizer, RegFLOPS)
	if reg != RegFLOPS && reg != RegL1 {
		return nil, fmt.Errorf("splade: unknown regulariser %q (want %q or %q)", reg, RegFLOPS, RegL1)
	}
	if tv, mv := opts.Tokenizer.VocabSize(), opts.Model.Config.VocabSize; tv != mv {
		return nil, fmt.Errorf("splade: the tokenizer has %d tokens but the model's vocabulary has %d", tv, mv)
	}
	nq := defaultInt(opts.QueriesPerBatch, 8)
	m := defaultInt(opts.PassagesPerQuery, 4)
	qLen := defaultInt(opts.QueryMaxLen, tokenizer.QueryMaxLen)
	dLen := defaultInt(opts.DocMaxLen, tokenizer.DocMaxLen)
	warm := opts.SparsityWarmup
	if warm == 0 {
		warm = opts.Steps / 3
	}
	warm = max(warm, 0)
	logEvery := defaultInt(opts.LogEvery, 10)
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
	spec := spladeLossSpec{lambdaQ: opts.LambdaQ, lambdaD: opts.LambdaD, warmup: warm, reg: reg, standardize: opts.Standardize}
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
			CheckpointEvery: defaultInt(opts.CheckpointEvery, 100), EvalEvery: opts.EvalEvery,
			PartNames: spladePartNames, Quiet: opts.Quiet,
		},
	}
	res, err := tr.Run()
	if guardErr != nil {
		return res, guardErr
	}
	return res, err
}

// spladeOptimizer is opts.Optimizer, or TrainSPLADE's default for opts.Steps.
func spladeOptimizer(opts SpladeOptions) train.Optimizer {
	if opts.Optimizer != nil {
		return *opts.Optimizer
	}
	return train.Optimizer{LearningRate: 2e-4, WarmupSteps: opts.Steps / 10, WeightDecay: 0.01, ClipNorm: 1}
}

// withTermBiasLR returns opts with the decoder bias's learning rate multiplied by DefaultTermBiasLR,
// unless its optimizer already names a multiplier for that bias (the caller's map is not changed).
func withTermBiasLR(opts SpladeOptions) SpladeOptions {
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
}

// loss returns the SPLADE loss and the parts named by spladePartNames. qv [nq, V] and dv [nd, V] are
// the batch's vectors; student and teacher the pairs' scores.
func (s spladeLossSpec) loss(step, qv, dv, student, teacher *Node) (*Node, []*Node) {
	distill := spladeDistillLoss(student, teacher, s.standardize)
	dtype := distill.DType()
	lq := sparsityWeightGraph(step, s.lambdaQ, s.warmup, dtype)
	ld := sparsityWeightGraph(step, s.lambdaD, s.warmup, dtype)
	reg := Add(Mul(lq, spladeRegularizer(qv, s.reg)), Mul(ld, spladeRegularizer(dv, s.reg)))
	qa, da, flops := spladeBatchStats(qv, dv)
	return Add(distill, reg), []*Node{distill, reg, lq, ld, qa, da, flops}
}

// spladeDistillLoss is the score-MSE of TrainSPLADE, up to one constant per batch:
// MSE(s − mean(s), t' − mean(t')) with t' the teacher's scores, standardised or not.
func spladeDistillLoss(student, teacher *Node, standardize bool) *Node {
	if standardize {
		teacher = losses.Standardize(teacher)
	}
	return losses.MSE(Sub(student, ReduceAllMean(student)), Sub(teacher, ReduceAllMean(teacher)))
}

// sparsityWeightGraph is losses.SparsityWeight in the graph: λ·min(1, t/T)² with t the step node
// (the number of updates applied so far); λ at every step when T ≤ 0.
func sparsityWeightGraph(step *Node, lambda float64, warmup int, dtype dtypes.DType) *Node {
	g := step.Graph()
	if warmup <= 0 || lambda == 0 {
		return Scalar(g, dtype, lambda)
	}
	r := DivScalar(ConvertDType(step, dtype), float64(warmup))
	r = Min(Max(r, ScalarZero(g, dtype)), ScalarOne(g, dtype))
	return MulScalar(Square(r), lambda)
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

// SpladeJob is the SPLADE phase for one collection: choose the tokenizer (normally the teacher's),
// create (or import) the student, distil the answer key into it (TrainSPLADE), export it as a Hugging
// Face BertForMaskedLM folder (OutDir/model), encode the corpus into an inverted index
// (OutDir/index.splade), retrieve the collection's evaluation queries and write OutDir/splade.json
// (a SpladeReport). Re-running it resumes training from OutDir's checkpoints.
type SpladeJob struct {
	// Collection supplies the texts of the answer key's ids, the corpus and the evaluation queries.
	Collection *datasets.Collection
	// AnswerKey is the teacher's scores (datasets.LoadAnswerKey).
	AnswerKey []datasets.ScoredPair
	// Backend runs the graphs.
	Backend backends.Backend
	// OutDir receives checkpoints/, metrics.jsonl, model/, index.splade and splade.json.
	OutDir string
	// Tokenizer encodes the texts; nil: Init's, else a vocabulary of Vocab tokens trained on the
	// corpus (saved in OutDir/tokenizer), else bert-base-uncased's.
	Tokenizer tokenizer.Tokenizer
	// Vocab > 0 trains a WordPiece vocabulary of that size when no Tokenizer or Init is given.
	Vocab int
	// Preset is the model size when not starting from Init ("tiny" [default], "small", "base").
	Preset string
	// Config, when set, is used instead of Preset's configuration (its VocabSize is set from the tokenizer).
	Config *models.Config
	// Init is a Hugging Face folder to start from (a BertForMaskedLM, or any BERT, e.g. the teacher:
	// the MLM head's transform then starts fresh); empty: from scratch.
	Init string
	// MLMSteps > 0 first pre-trains a from-scratch student (no Init) with masked-language modelling
	// on the corpus and training queries for that many steps (MLMWarmup, in OutDir/mlm), so that its
	// MLM head starts out lexical — the start SPLADE gets from a pre-trained BERT.
	MLMSteps int
	// LexicalInit starts a from-scratch student (no Init) as a bag of words (models.LexicalInit):
	// every token activates its own vocabulary entry, with the decoder bias at −LexicalThreshold
	// [models.DefaultLexicalThreshold]. Without it, a random MLM head's vectors are dense noise.
	// Such a student learns its decoder bias DefaultTermBiasLR times faster than the rest, unless
	// Train.Optimizer's LRMultipliers names models.SpladeTermBias itself.
	LexicalInit      bool
	LexicalThreshold float64
	// Train configures the distillation; its Model, Tokenizer, Backend, Seed and OutDir are filled in.
	Train SpladeOptions
	// Index configures the inverted index.
	Index SparseIndexOptions
	// Search configures the retrieval of the evaluation queries.
	Search SparseSearchOptions
	// Depth is the number of documents retrieved per query [1000].
	Depth int
	// Seed drives everything random.
	Seed int64
}

// SpladeReport is splade.json: the student's effectiveness and efficiency on the collection's
// evaluation queries, with BM25 beside it.
type SpladeReport struct {
	Dataset string `json:"dataset"`
	Queries int    `json:"queries"`
	// Measures are the student's nDCG@10, RR@10, R@100 and AP; BM25 BM25's on the same queries.
	Measures map[string]float64 `json:"measures"`
	BM25     map[string]float64 `json:"bm25"`
	// AvgDocActive is the average number of terms per document in the index (after pruning and
	// quantisation); AvgDocActiveRaw before them.
	AvgDocActive    float64 `json:"avg_doc_active"`
	AvgDocActiveRaw float64 `json:"avg_doc_active_raw"`
	// AvgQueryActive is the average number of terms per evaluation query searched.
	AvgQueryActive float64 `json:"avg_query_active"`
	// FLOPS is Σ_j p_q(j)·p_d(j) over the evaluation queries and the indexed corpus.
	FLOPS float64 `json:"flops"`
	// QueryMs is the median index search time per query (encoding excluded); QueryEncodeMs the mean
	// encoding time per query.
	QueryMs       float64 `json:"query_ms"`
	QueryP95Ms    float64 `json:"query_p95_ms"`
	QueryEncodeMs float64 `json:"query_encode_ms"`
	// Documents, Postings, IndexBits describe the index; EncodeSecs and IndexSecs how long encoding
	// the corpus and building the index took.
	Documents  int     `json:"documents"`
	Postings   int64   `json:"postings"`
	IndexBits  int     `json:"index_bits"`
	EncodeSecs float64 `json:"encode_s"`
	IndexSecs  float64 `json:"index_s"`
	// The training run: λs, regulariser, standardisation, steps, pairs and time, and the loss parts
	// of the last logged window.
	LambdaQ      float64            `json:"lambda_q"`
	LambdaD      float64            `json:"lambda_d"`
	Regularizer  string             `json:"regularizer"`
	Standardized bool               `json:"standardized"`
	Steps        int                `json:"steps"`
	TrainPairs   int                `json:"train_pairs"`
	TrainSecs    float64            `json:"train_s"`
	FinalParts   map[string]float64 `json:"final_parts,omitempty"`
	// Warning holds a SparsityError's message when the guards were off and the model is collapsed
	// or dense.
	Warning string `json:"warning,omitempty"`
}

// Run executes the job and returns the trained student, its tokenizer, the index and the report.
// With the guards on (the default) a collapsed or dense student stops the job with a *SparsityError.
func (j *SpladeJob) Run() (*models.Model, tokenizer.Tokenizer, *SparseIndex, *SpladeReport, error) {
	col := j.Collection
	if col == nil {
		return nil, nil, nil, nil, errors.New("splade: no collection")
	}
	if err := os.MkdirAll(j.OutDir, 0o755); err != nil {
		return nil, nil, nil, nil, err
	}
	tk, err := j.tokenizer()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	m, err := j.model(tk)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	opts := j.Train
	if j.LexicalInit && j.Init == "" {
		if err := models.LexicalInit(m, j.Backend, cmp.Or(j.LexicalThreshold, models.DefaultLexicalThreshold)); err != nil {
			return nil, nil, nil, nil, err
		}
		opts = withTermBiasLR(opts)
	}
	if j.MLMSteps > 0 && j.Init == "" {
		if err := j.mlmWarmup(m, tk); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	opts.Model, opts.Tokenizer, opts.Backend, opts.Seed, opts.OutDir = m, tk, j.Backend, j.Seed, j.OutDir
	texts := Texts(col.Docs)
	start := time.Now()
	res, trainErr := TrainSPLADE(j.AnswerKey, TrainingQueries(col), texts, opts)
	var sparsity *SparsityError
	if trainErr != nil && !(errors.As(trainErr, &sparsity) && opts.Guard.Off) {
		return nil, nil, nil, nil, trainErr
	}
	trainSecs := time.Since(start).Seconds()
	if err := models.ExportHF(filepath.Join(j.OutDir, "model"), m, j.Backend, tk); err != nil {
		return nil, nil, nil, nil, err
	}
	enc := &SpladeEncoder{Model: m, Tokenizer: tk, Backend: j.Backend, Quiet: opts.Quiet}
	start = time.Now()
	ids := make([]string, len(col.Docs))
	docTexts := make([]string, len(col.Docs))
	for i, d := range col.Docs {
		ids[i], docTexts[i] = d.ID, texts[d.ID]
	}
	vecs, err := enc.Encode(docTexts, defaultInt(opts.DocMaxLen, tokenizer.DocMaxLen), "documents")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	encodeSecs := time.Since(start).Seconds()
	start = time.Now()
	ix, err := BuildSparseIndex(ids, vecs, m.Config.VocabSize, j.Index)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	indexSecs := time.Since(start).Seconds()
	if err := ix.Save(filepath.Join(j.OutDir, "index.splade")); err != nil {
		return nil, nil, nil, nil, err
	}
	search := j.Search
	search.QueryMaxLen = cmp.Or(search.QueryMaxLen, opts.QueryMaxLen)
	depth := defaultInt(j.Depth, 1000)
	run, st, err := SpladeSearch(enc, ix, col.Queries, depth, search)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := spladeWriteRun(filepath.Join(j.OutDir, "run.trec"), run, "splade", depth); err != nil {
		return nil, nil, nil, nil, err
	}
	measures, err := Measure(col.Qrels, run)
	if err != nil && spladeRetrievedNothing(run) {
		// A collapsed student (the guards off) finds no document for any query: it scores 0.
		measures, err = map[string]float64{}, nil
		for _, m := range eval.DefaultMeasures() {
			measures[m.String()] = 0
		}
	}
	if err != nil {
		return nil, nil, nil, nil, err
	}
	bix, err := bm25.Build(col.Docs, bm25.Config{})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	bmMeasures, err := Measure(col.Qrels, RunFromHits(bix.SearchBatch(col.Queries, depth)))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	raw := 0
	for _, v := range vecs {
		raw += v.Len()
	}
	rep := &SpladeReport{
		Dataset: col.Name, Queries: len(col.Queries), Measures: measures, BM25: bmMeasures,
		AvgDocActive: ix.AvgDocTerms(), AvgDocActiveRaw: float64(raw) / float64(max(1, len(vecs))),
		AvgQueryActive: st.AvgQueryTerms, FLOPS: st.FLOPS,
		QueryMs: st.MedianMs, QueryP95Ms: st.P95Ms, QueryEncodeMs: st.EncodeMs,
		Documents: ix.Len(), Postings: ix.Postings(), IndexBits: ix.Bits(), EncodeSecs: encodeSecs, IndexSecs: indexSecs,
		LambdaQ: opts.LambdaQ, LambdaD: opts.LambdaD, Regularizer: cmp.Or(opts.Regularizer, RegFLOPS),
		Standardized: opts.Standardize, TrainPairs: len(j.AnswerKey), TrainSecs: trainSecs,
		FinalParts: spladeLastParts(res),
	}
	if res != nil {
		rep.Steps = res.Steps
	}
	if sparsity != nil {
		rep.Warning = sparsity.Error()
	} else if err := opts.Guard.CheckSparsity(st.AvgQueryTerms, rep.AvgDocActive, ix.Vocab(), opts.LambdaQ, opts.LambdaD, rep.Regularizer, rep.Steps); err != nil {
		rep.Warning = err.Error()
	}
	if err := spladeWriteJSON(filepath.Join(j.OutDir, "splade.json"), rep); err != nil {
		return nil, nil, nil, nil, err
	}
	return m, tk, ix, rep, nil
}

// spladeRetrievedNothing reports whether no query of run has a document.
func spladeRetrievedNothing(run eval.Run) bool {
	for _, docs := range run {
		if len(docs) > 0 {
			return false
		}
	}
	return true
}

// tokenizer picks the job's tokenizer (see SpladeJob.Tokenizer).
func (j *SpladeJob) tokenizer() (tokenizer.Tokenizer, error) {
	return jobTokenizer(j.Tokenizer, j.Init, j.Vocab, j.OutDir, j.Collection)
}

// mlmWarmup pre-trains a copy of the fresh student m with masked-language modelling on the corpus
// and the training queries, then copies every parameter into m (m's own step counter and optimizer
// state stay fresh for the distillation).
func (j *SpladeJob) mlmWarmup(m *models.Model, tk tokenizer.Tokenizer) error {
	warm, err := models.New(models.KindSPLADE, m.Config, 0, j.Seed)
	if err != nil {
		return err
	}
	texts := CorpusTexts(j.Collection)
	pairs := make([][2]string, len(texts))
	for i, t := range texts {
		pairs[i] = [2]string{t, ""}
	}
	if _, err := MLMWarmup(pairs, MLMOptions{Model: warm, Tokenizer: tk, Backend: j.Backend, Steps: j.MLMSteps,
		MaxLen: defaultInt(j.Train.DocMaxLen, tokenizer.DocMaxLen), Seed: j.Seed, OutDir: filepath.Join(j.OutDir, "mlm"),
		Quiet: j.Train.Quiet}); err != nil {
		return fmt.Errorf("splade: MLM warm-up: %w", err)
	}
	if err := m.Materialize(j.Backend); err != nil {
		return err
	}
	params, err := warm.Params()
	if err != nil {
		return err
	}
	for name, t := range params {
		clone, err := t.LocalClone()
		if err != nil {
			return err
		}
		if err := m.SetParam(name, clone); err != nil {
			return err
		}
	}
	return nil
}

// model creates or imports the student.
func (j *SpladeJob) model(tk tokenizer.Tokenizer) (*models.Model, error) {
	if j.Init != "" {
		m, report, err := models.ImportHF(j.Init, models.KindSPLADE, j.Seed)
		if err != nil {
			return nil, err
		}
		if m.Config.VocabSize != tk.VocabSize() {
			return nil, fmt.Errorf("splade: %s has a vocabulary of %d but the tokenizer has %d tokens", j.Init, m.Config.VocabSize, tk.VocabSize())
		}
		if len(report.Missing) > 0 && !j.Train.Quiet {
			fmt.Fprintf(os.Stderr, "splade: %d parameters not in %s are initialised fresh (e.g. %s)\n", len(report.Missing), j.Init, report.Missing[0])
		}
		return m, nil
	}
	cfg, err := models.NewConfig(cmp.Or(j.Preset, models.PresetTiny), tk.VocabSize())
	if err != nil {
		return nil, err
	}
	if j.Config != nil {
		c := *j.Config
		c.VocabSize = tk.VocabSize()
		cfg = &c
	}
	return models.New(models.KindSPLADE, cfg, 0, j.Seed)
}

// spladeWriteRun writes a run as a TREC file, each query's top depth.
func spladeWriteRun(path string, run eval.Run, tag string, depth int) error {
	entries, err := datasets.RankRun(run, tag, depth)
	if err != nil {
		return err
	}
	return datasets.WriteTRECRun(path, entries)
}

// spladeWriteJSON writes v as indented JSON, atomically.
func spladeWriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return datasets.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// SpladeSweepRow is one point of the sparsity trade-off (SpladeSweep).
type SpladeSweepRow struct {
	// LambdaD and LambdaQ are the sparsity weights trained with.
	LambdaD float64 `json:"lambda_d"`
	LambdaQ float64 `json:"lambda_q"`
	// AvgDocActive and AvgQueryActive are the average terms per indexed document and per query.
	AvgDocActive   float64 `json:"avg_doc_active"`
	AvgQueryActive float64 `json:"avg_query_active"`
	// FLOPS is the expected multiplications per (query, document) pair.
	FLOPS float64 `json:"flops"`
	// NDCG10 is nDCG@10 on the evaluation queries.
	NDCG10 float64 `json:"nDCG@10"`
	// QueryMs is the median index search time per query.
	QueryMs float64 `json:"query_ms"`
	// Postings is the size of the index.
	Postings int64 `json:"postings"`
	// Warning says when the model collapsed or stayed dense.
	Warning string `json:"warning,omitempty"`
}

// SpladeSweepLambdas returns the λ_d values of a default sweep around def: 0, def/100, def/10, def,
// 10·def and 100·def.
func SpladeSweepLambdas(def float64) []float64 {
	return []float64{0, def / 100, def / 10, def, def * 10, def * 100}
}

// SpladeSweep trains, indexes and evaluates one SPLADE student per λ_d of lambdas — 0 and
// DefaultLambdaD are always added — to draw the sparsity/effectiveness trade-off. Each student is
// job with Train.LambdaD = λ_d and Train.LambdaQ = λ_d·(job's λ_q/λ_d; DefaultLambdaQ/DefaultLambdaD
// when job's λ_d is 0), in OutDir/sweep/lambda_d=<λ>/ (resumable), with the guards off: a collapsed
// or dense student is a row with a Warning rather than an error. The rows, by increasing λ_d, are
// also written to OutDir/sweep.json. Rows in known (students of the same job already trained and
// measured, e.g. a pipeline's λ = 0 and default-λ stages) are used as they are, not trained again.
func SpladeSweep(lambdas []float64, job SpladeJob, known ...SpladeSweepRow) ([]SpladeSweepRow, error) {
	for _, l := range lambdas {
		if !(l >= 0) || math.IsInf(l, 0) {
			return nil, fmt.Errorf("splade sweep: λ_d = %g must be finite and ≥ 0", l)
		}
	}
	ratio := DefaultLambdaQ / DefaultLambdaD
	if job.Train.LambdaD > 0 {
		ratio = job.Train.LambdaQ / job.Train.LambdaD
	}
	var rows []SpladeSweepRow
	for _, l := range spladeSortedUnique(append(slices.Clone(lambdas), 0, DefaultLambdaD)) {
		if i := slices.IndexFunc(known, func(r SpladeSweepRow) bool { return r.LambdaD == l }); i >= 0 {
			rows = append(rows, known[i])
			continue
		}
		sub := job
		sub.OutDir = filepath.Join(job.OutDir, "sweep", "lambda_d="+strconv.FormatFloat(l, 'g', -1, 64))
		sub.Train.LambdaD, sub.Train.LambdaQ = l, l*ratio
		sub.Train.Guard.Off = true
		sub.Train.OnLog = nil
		_, _, _, rep, err := sub.Run()
		if err != nil {
			return rows, fmt.Errorf("splade sweep: λ_d = %g: %w", l, err)
		}
		rows = append(rows, SpladeSweepRow{
			LambdaD: l, LambdaQ: sub.Train.LambdaQ, AvgDocActive: rep.AvgDocActive, AvgQueryActive: rep.AvgQueryActive,
			FLOPS: rep.FLOPS, NDCG10: rep.Measures["nDCG@10"], QueryMs: rep.QueryMs, Postings: rep.Postings, Warning: rep.Warning,
		})
	}
	if err := spladeWriteJSON(filepath.Join(job.OutDir, "sweep.json"), rows); err != nil {
		return rows, err
	}
	return rows, nil
}

// SpladeScorer scores (query, passage) pairs with a SPLADE student — the dot product of their sparse
// vectors — so that it can rerank candidates (Rerank, DevRerank) or serve wherever a Scorer does.
type SpladeScorer struct {
	// Encoder encodes the texts.
	Encoder *SpladeEncoder
	// QueryMaxLen and DocMaxLen are the length limits [tokenizer.QueryMaxLen, tokenizer.DocMaxLen].
	QueryMaxLen, DocMaxLen int
}

// Name implements Scorer.
func (s *SpladeScorer) Name() string { return "splade" }

// Score implements Scorer. Each distinct text is encoded once.
func (s *SpladeScorer) Score(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("splade: %d queries but %d passages", len(queries), len(passages))
	}
	encode := func(texts []string, maxLen int, label string) ([]SparseVector, error) {
		index := map[string]int{}
		var uniq []string
		for _, t := range texts {
			if _, ok := index[t]; !ok {
				index[t] = len(uniq)
				uniq = append(uniq, t)
			}
		}
		vecs, err := s.Encoder.Encode(uniq, maxLen, label)
		if err != nil {
			return nil, err
		}
		out := make([]SparseVector, len(texts))
		for i, t := range texts {
			out[i] = vecs[index[t]]
		}
		return out, nil
	}
	qv, err := encode(queries, defaultInt(s.QueryMaxLen, tokenizer.QueryMaxLen), "queries")
	if err != nil {
		return nil, err
	}
	pv, err := encode(passages, defaultInt(s.DocMaxLen, tokenizer.DocMaxLen), "passages")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(queries))
	for i := range out {
		out[i] = qv[i].Dot(pv[i])
	}
	return out, nil
}
