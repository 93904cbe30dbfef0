package distill

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/progress"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// The ColBERT student (Khattab & Zaharia 2020) learns the answer key by pairwise Margin-MSE
// (Hofstätter et al. 2020, arXiv:2010.02666): for a query q and two of its candidates p1, p2 with
// teacher scores t1, t2, the MaxSim margin s(q,p1) − s(q,p2) is regressed on t1 − t2. Only margins
// are learnt, so the student's scores (a sum of up to 32 cosines) and the teacher's (a logit) may
// live on different scales. The hard-label ablation trains on the same (query, positive, negatives)
// tuples with the teacher's scores ignored.

// Pairing strategies: how a training example's passages are drawn from a query's candidates in the
// answer key.
const (
	// PairingPositiveVsNegative pairs a judged positive of the query with another candidate that is
	// not judged positive (Hofstätter et al.'s (q, p+, p−) triples).
	PairingPositiveVsNegative = "positive-vs-negative"
	// PairingRandomPairs pairs two distinct random candidates of the query; no judgements needed.
	PairingRandomPairs = "random-pairs"
	// PairingNWay takes one judged positive and n candidates not judged positive (losses.MarginMSEMulti).
	PairingNWay = "nway"
)

// Student losses of TrainColBERT.
const (
	// LossMarginMSE regresses the student's margins on the teacher's (losses.MarginMSE, MarginMSEMulti).
	LossMarginMSE = "margin-mse"
	// LossHardLabels is the ablation without a teacher: the same tuples, trained with the judged
	// positive as the only label (HardLossLCE or HardLossHinge).
	LossHardLabels = "hard-labels"
	// LossKL is listwise distillation: KL divergence from the teacher's softmax over each tuple's
	// passages to the student's (losses.KLDivergence; ColBERTv2, PyLate). Best with PairingNWay.
	LossKL = "kl"
	// LossKLMarginMSE is the weighted sum of LossKL and Margin-MSE over the tuple
	// (losses.KLPlusMarginMSE; SPLADE-v3's mix).
	LossKLMarginMSE = "kl+margin-mse"
	// LossFixedMargin needs no teacher: every positive–negative margin of the student is regressed on
	// a fixed target (losses.FixedMarginMSE), on the same tuples.
	LossFixedMargin = "fixed-margin"
)

// Schedules of the multi-task weights (ColBERTOptions.AuxSchedule).
const (
	// ScheduleConstant keeps the auxiliary weights fixed.
	ScheduleConstant = "constant"
	// ScheduleLinearDecay decays them linearly from their value at step 0 to 0 at the last step: the
	// auxiliary tasks shape the encoder early and leave the end of training to distillation.
	ScheduleLinearDecay = "linear-decay"
)

// Hard-label losses of the LossHardLabels ablation.
const (
	// HardLossLCE is the softmax cross-entropy over [positive, negatives] (losses.LocalizedContrastive).
	HardLossLCE = "lce"
	// HardLossHinge is a hinge on each (positive, negative) margin (losses.PairwiseHinge).
	HardLossHinge = "hinge"
)

// Names of the held-out measures TrainColBERT logs in metrics.jsonl's "eval".
const (
	// MetricMarginPearson is Pearson's r between student and teacher margins of held-out pairs.
	MetricMarginPearson = "heldout_margin_pearson"
	// MetricMarginKendall is Kendall's τ-b between the same margins.
	MetricMarginKendall = "heldout_margin_kendall_tau"
	// MetricMarginMSE is the mean squared difference of the same margins (the Margin-MSE loss on
	// held-out pairs).
	MetricMarginMSE = "heldout_margin_mse"
	// MetricPairAccuracy is the fraction of held-out pairs the teacher does not tie that the student
	// orders as the teacher does.
	MetricPairAccuracy = "heldout_pair_accuracy"
	// MetricHeldOutNDCG is nDCG@10 of the student reranking the key's candidates of held-out queries
	// that have judged positives.
	MetricHeldOutNDCG = "heldout_nDCG@10"
	// MetricHeldOutTeacherNDCG is the same for the teacher's scores (the ceiling of distillation).
	MetricHeldOutTeacherNDCG = "heldout_teacher_nDCG@10"
)

// ColBERTOptions configure TrainColBERT. Zero values take the defaults in brackets.
type ColBERTOptions struct {
	// Model is the ColBERT student (models.KindColBERT), fresh from models.New or imported from HF.
	Model *models.Model
	// Tokenizer encodes queries and passages (usually the teacher's).
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graphs.
	Backend backends.Backend
	// Steps is the number of optimisation steps.
	Steps int
	// QueriesPerBatch is the number of training examples (queries) per step [16].
	QueriesPerBatch int
	// Pairing is PairingPositiveVsNegative [default], PairingRandomPairs or PairingNWay.
	Pairing string
	// Negatives is n of PairingNWay [4]; the pairwise strategies use 1.
	Negatives int
	// Loss is LossMarginMSE [default] or LossHardLabels.
	Loss string
	// HardLoss is the loss of LossHardLabels: HardLossLCE [default] or HardLossHinge.
	HardLoss string
	// HingeMargin is the margin of HardLossHinge [1].
	HingeMargin float64
	// Temperature divides the scores of LossKL and of LossKLMarginMSE's KL term [1].
	Temperature float64
	// KLWeight and MarginMSEWeight weigh the two terms of LossKLMarginMSE [1 and 1].
	KLWeight, MarginMSEWeight float64
	// FixedMargin is the target margin of LossFixedMargin [losses.DefaultFixedMargin].
	FixedMargin float64
	// Teacher, when set, scores every training tuple inside the training loop (online distillation):
	// the answer key then only supplies the candidates; its scores are not trained on (the held-out
	// probe still compares the student with them).
	Teacher Scorer
	// RefreshEvery, with Teacher, replaces the training queries' negatives every so many steps by
	// the passages the student itself ranks highest among all texts (a self-refreshing hard-negative
	// pool, as ANCE's); 0: never. Refreshed pools are saved in OutDir/refresh/ for resumed runs.
	RefreshEvery int
	// RefreshDepth is how many of the student's top passages (judged positives excluded) become a
	// query's negatives at a refresh [10].
	RefreshDepth int
	// MLMWeight adds the masked-language-model loss on each tuple's first passage with this weight
	// (multi-task; a decoder tied to the word embeddings, models.TiedMLMLogits, so the student's
	// checkpoint is unchanged); 0: off.
	MLMWeight float64
	// InBatchWeight adds the in-batch contrastive loss (losses.InBatchScores: each query against
	// every passage of the step, its own positive the target) with this weight; 0: off.
	InBatchWeight float64
	// InBatchTemperature is the temperature of the in-batch loss [1].
	InBatchTemperature float64
	// AuxSchedule scales MLMWeight and InBatchWeight along training: ScheduleConstant [default] or
	// ScheduleLinearDecay.
	AuxSchedule string
	// QueryLen is the query length with [MASK] augmentation [tokenizer.QueryMaxLen = 32].
	QueryLen int
	// DocLen is the passage length limit [tokenizer.DocMaxLen = 180].
	DocLen int
	// AttendExpansion lets the encoder attend to the [MASK] expansion tokens of queries.
	AttendExpansion bool
	// Optimizer is AdamW's configuration [lr 2e-4, warm-up 10% of steps, weight decay 0.01, clip 1].
	Optimizer *train.Optimizer
	// Seed drives the held-out split, the data order and the sampling of the tuples.
	Seed int64
	// HeldOutFraction of the answer key's queries is never trained on; their pairs measure how well
	// student margins agree with the teacher's [0.1]. Negative: no held-out queries.
	HeldOutFraction float64
	// HeldOutQueries caps how many held-out queries are measured at each evaluation [64].
	HeldOutQueries int
	// HeldOutPairs caps the number of held-out pairs whose margins are compared [1000].
	HeldOutPairs int
	// OutDir keeps checkpoints and metrics.jsonl (resumable); empty: none.
	OutDir string
	// CheckpointEvery saves every so many steps [100].
	CheckpointEvery int
	// EvalEvery evaluates every so many steps and at the end [0: at the end only; negative: never].
	EvalEvery int
	// NoInitialEval skips the evaluation of the untrained model (logged as step 0).
	NoInitialEval bool
	// Eval, when set, adds measures (e.g. nDCG@10 of a reranking) to each evaluation.
	Eval func(step int) (map[string]float64, error)
	// OnLog receives each logged record (live plots).
	OnLog func(train.Record)
	// BM25 is the index of the collection the texts come from. A residual student (the model's
	// Config.BM25Weight > 0, ColBERTJob.BM25Weight) needs it: its score of a pair is MaxSim plus
	// that weight times the pair's BM25 score, in training and in every evaluation.
	BM25 *bm25.Index
	// EncodeBatch is the number of texts per forward pass when evaluating [DefaultBatchSize].
	EncodeBatch int
	// Quiet hides the progress bar.
	Quiet bool
}

// withDefaults validates the options and fills in the defaults.
func (o ColBERTOptions) withDefaults() (ColBERTOptions, error) {
	if o.Model == nil || o.Model.Kind != models.KindColBERT {
		return o, errors.New("colbert: a ColBERT model (kind colbert) is required")
	}
	if o.Tokenizer == nil || o.Backend == nil {
		return o, errors.New("colbert: a tokenizer and a backend are required")
	}
	if o.Tokenizer.VocabSize() != o.Model.Config.VocabSize {
		return o, fmt.Errorf("colbert: the tokenizer has %d tokens but the model's vocab_size is %d", o.Tokenizer.VocabSize(), o.Model.Config.VocabSize)
	}
	if w := o.Model.Config.BM25Weight; w > 0 && o.BM25 == nil {
		return o, fmt.Errorf("colbert: the student adds %g × BM25 to its scores (mimicry_bm25_weight) but has no BM25 index (ColBERTOptions.BM25)", w)
	}
	if o.Steps <= 0 {
		return o, fmt.Errorf("colbert: number of steps must be positive, got %d", o.Steps)
	}
	o.QueriesPerBatch = defaultInt(o.QueriesPerBatch, 16)
	if o.Pairing == "" {
		o.Pairing = PairingPositiveVsNegative
	}
	switch o.Pairing {
	case PairingPositiveVsNegative, PairingRandomPairs:
		o.Negatives = 1
	case PairingNWay:
		o.Negatives = defaultInt(o.Negatives, 4)
	default:
		return o, fmt.Errorf("colbert: unknown pairing %q (want %q, %q or %q)", o.Pairing, PairingPositiveVsNegative, PairingRandomPairs, PairingNWay)
	}
	if o.Loss == "" {
		o.Loss = LossMarginMSE
	}
	if o.HardLoss == "" {
		o.HardLoss = HardLossLCE
	}
	switch o.Loss {
	case LossMarginMSE, LossHardLabels, LossKL, LossKLMarginMSE, LossFixedMargin:
	default:
		return o, fmt.Errorf("colbert: unknown loss %q (want %q, %q, %q, %q or %q)", o.Loss,
			LossMarginMSE, LossKL, LossKLMarginMSE, LossFixedMargin, LossHardLabels)
	}
	switch {
	case o.HardLoss != HardLossLCE && o.HardLoss != HardLossHinge:
		return o, fmt.Errorf("colbert: unknown hard-label loss %q (want %q or %q)", o.HardLoss, HardLossLCE, HardLossHinge)
	case (o.Loss == LossHardLabels || o.Loss == LossFixedMargin) && o.Pairing == PairingRandomPairs:
		return o, fmt.Errorf("colbert: loss %q needs a judged positive in every tuple: use pairing %q or %q, not %q",
			o.Loss, PairingPositiveVsNegative, PairingNWay, PairingRandomPairs)
	case o.InBatchWeight > 0 && o.Pairing == PairingRandomPairs:
		return o, fmt.Errorf("colbert: the in-batch loss needs a judged positive first in every tuple: use pairing %q or %q, not %q",
			PairingPositiveVsNegative, PairingNWay, PairingRandomPairs)
	case o.RefreshEvery > 0 && o.Teacher == nil:
		return o, errors.New("colbert: refreshing negatives (RefreshEvery) needs an online teacher to score them (Teacher)")
	case o.RefreshEvery < 0 || o.MLMWeight < 0 || o.InBatchWeight < 0 || math.IsNaN(o.MLMWeight) || math.IsNaN(o.InBatchWeight):
		return o, fmt.Errorf("colbert: RefreshEvery (%d), MLMWeight (%g) and InBatchWeight (%g) must not be negative", o.RefreshEvery, o.MLMWeight, o.InBatchWeight)
	}
	if o.HingeMargin <= 0 {
		o.HingeMargin = 1
	}
	for _, t := range []*float64{&o.Temperature, &o.InBatchTemperature} {
		if *t == 0 {
			*t = 1
		}
		if !(*t > 0) || math.IsInf(*t, 0) {
			return o, fmt.Errorf("colbert: temperatures must be positive and finite, got %g", *t)
		}
	}
	if o.KLWeight == 0 && o.MarginMSEWeight == 0 {
		o.KLWeight, o.MarginMSEWeight = 1, 1
	}
	if o.FixedMargin == 0 {
		o.FixedMargin = losses.DefaultFixedMargin
	}
	o.RefreshDepth = defaultInt(o.RefreshDepth, 10)
	switch o.AuxSchedule {
	case "":
		o.AuxSchedule = ScheduleConstant
	case ScheduleConstant, ScheduleLinearDecay:
	default:
		return o, fmt.Errorf("colbert: unknown schedule %q (want %q or %q)", o.AuxSchedule, ScheduleConstant, ScheduleLinearDecay)
	}
	o.QueryLen = defaultInt(o.QueryLen, tokenizer.QueryMaxLen)
	o.DocLen = defaultInt(o.DocLen, tokenizer.DocMaxLen)
	if o.QueryLen < 4 || o.DocLen < 4 {
		return o, fmt.Errorf("colbert: query length %d and document length %d must be at least 4", o.QueryLen, o.DocLen)
	}
	if max(o.QueryLen, o.DocLen) > o.Model.Config.MaxPositionEmbeddings {
		return o, fmt.Errorf("colbert: query length %d or document length %d exceeds the model's max_position_embeddings %d",
			o.QueryLen, o.DocLen, o.Model.Config.MaxPositionEmbeddings)
	}
	if o.HeldOutFraction == 0 {
		o.HeldOutFraction = 0.1
	}
	if o.HeldOutFraction >= 1 || math.IsNaN(o.HeldOutFraction) {
		return o, fmt.Errorf("colbert: held-out fraction must be below 1, got %v", o.HeldOutFraction)
	}
	o.HeldOutQueries = defaultInt(o.HeldOutQueries, 64)
	o.HeldOutPairs = defaultInt(o.HeldOutPairs, 1000)
	o.CheckpointEvery = defaultInt(o.CheckpointEvery, 100)
	return o, nil
}

// TrainColBERT distils an answer key into a ColBERT student. key holds the teacher's scores;
// positives are the judged relevant passages of the training queries (relevance > 0; e.g. the
// collection's TrainQrels, or QrelsFromGroups of a training set) — needed by the pairings with a
// positive, ignored by PairingRandomPairs; queries and texts map query and passage ids to their
// texts (QueryTexts and Texts of the collection).
//
// A seeded fraction of the key's queries (SplitAnswerKey) is held out. Each step takes
// QueriesPerBatch training queries in a seeded order (a new permutation each epoch) and draws one
// tuple per query — (q, p1, p2) or (q, p+, n negatives) with their teacher scores — as a pure
// function of the seed and the step, so a resumed run sees the same data. Queries get exactly
// QueryLen tokens ([MASK]-padded), passages at most DocLen. The loss is Margin-MSE on MaxSim
// scores, or the hard-label ablation on the same tuples. The frontier recipes are options of the same
// loop (colbert_recipes.go): listwise KL or a fixed margin as Loss, an online Teacher scoring each
// batch (with RefreshEvery, on negatives the student retrieves itself), and the multi-task weights
// MLMWeight and InBatchWeight (their losses logged as parts task_distill, task_mlm, task_inbatch).
//
// metrics.jsonl records the loss and its parts (student_margin: the mean student margin s1 − s_i;
// margin_mse: Margin-MSE against the teacher, logged even for the ablation) and, at each evaluation,
// the agreement of student and teacher margins on held-out pairs (MetricMarginPearson, ...), nDCG@10
// of reranking the held-out queries' candidates, and Eval's measures. Unless NoInitialEval, the
// untrained model is evaluated first and logged as step 0: a line with only "step" and "eval" (in
// the returned History, the first record, with Loss 0); a resumed run reads it back rather than
// evaluating again.
func TrainColBERT(key []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string, opts ColBERTOptions) (*train.Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	trainKey, heldKey := SplitAnswerKey(key, opts.HeldOutFraction, opts.Seed)
	sampler, err := newColbertSampler(trainKey, positives, queries, texts, opts.Pairing, opts.Negatives, opts.QueriesPerBatch, opts.Seed)
	if err != nil {
		return nil, err
	}
	var probe *colbertProbe
	if len(heldKey) > 0 {
		if probe, err = newColbertProbe(heldKey, positives, queries, texts, opts.HeldOutQueries, opts.HeldOutPairs, opts.Seed); err != nil {
			return nil, err
		}
	}
	enc := &ColBERTEncoder{Model: opts.Model, Tokenizer: opts.Tokenizer, Backend: opts.Backend, QueryLen: opts.QueryLen,
		DocLen: opts.DocLen, AttendExpansion: opts.AttendExpansion, BatchSize: opts.EncodeBatch, Quiet: true, BM25: opts.BM25}
	var evalFn func(step int) (map[string]float64, error)
	if opts.EvalEvery >= 0 && (probe != nil || opts.Eval != nil) {
		evalFn = func(step int) (map[string]float64, error) {
			out := map[string]float64{}
			if probe != nil {
				m, err := probe.measure(enc)
				if err != nil {
					return nil, err
				}
				maps.Copy(out, m)
			}
			if opts.Eval != nil {
				m, err := opts.Eval(step)
				if err != nil {
					return nil, err
				}
				maps.Copy(out, m)
			}
			return out, nil
		}
	}
	evalEvery := opts.EvalEvery
	if evalEvery == 0 {
		evalEvery = opts.Steps
	}
	if evalFn == nil {
		evalEvery = 0
	}

	opt := train.Optimizer{LearningRate: 2e-4, WarmupSteps: opts.Steps / 10, WeightDecay: 0.01, ClipNorm: 1}
	if opts.Optimizer != nil {
		opt = *opts.Optimizer
	}
	b, m := opts.QueriesPerBatch, 1+opts.Negatives
	tk := opts.Tokenizer
	var refresh *colbertRefresher
	if opts.RefreshEvery > 0 {
		refresh = newColbertRefresher(opts, sampler, enc, positives, texts)
	}
	residual := opts.Model.Config.BM25Weight
	mlmIn := 6 // index of the first MLM input
	if residual > 0 {
		mlmIn++
	}
	mlmRng := func(step int) *rand.Rand { return rand.New(rand.NewPCG(uint64(opts.Seed)^0x6d756c7469, uint64(step))) } // "multi"
	batches := func(step int) ([]any, error) {
		if refresh != nil {
			if err := refresh.at(step); err != nil {
				return nil, err
			}
		}
		exs := sampler.examples(step)
		qs := make([]string, 0, b)
		ps := make([]string, 0, b*m)
		teacher := make([]float32, 0, b*m)
		for _, ex := range exs {
			qs = append(qs, ex.query)
			for i, did := range ex.docs {
				ps = append(ps, texts[did])
				teacher = append(teacher, float32(ex.scores[i]))
			}
		}
		if opts.Teacher != nil {
			if err := colbertOnlineScores(opts.Teacher, exs, ps, teacher); err != nil {
				return nil, err
			}
		}
		qin, err := models.ColBERTQueryInputs(tk, qs, opts.QueryLen, opts.AttendExpansion)
		if err != nil {
			return nil, err
		}
		din, err := models.ColBERTDocInputs(tk, ps, opts.DocLen)
		if err != nil {
			return nil, err
		}
		in := []any{qin.IDs, qin.Mask, din.IDs, din.Mask, din.ScoreMask, tensors.FromFlatDataAndDimensions(teacher, b, m)}
		if residual > 0 {
			lexical, err := enc.lexicalScores(qs, ps, m)
			if err != nil {
				return nil, err
			}
			in = append(in, tensors.FromFlatDataAndDimensions(lexical, b, m))
		}
		if opts.MLMWeight > 0 {
			mlm, err := colbertMLMInputs(mlmRng(step), tk, ps, m, opts.DocLen)
			if err != nil {
				return nil, err
			}
			in = append(in, mlm...)
		}
		return in, nil
	}
	cfg, dim := opts.Model.Config, opts.Model.ColBERTDim
	partNames := []string{"student_margin", "margin_mse"}
	if opts.MLMWeight > 0 || opts.InBatchWeight > 0 {
		partNames = append(partNames, "task_distill")
		if opts.MLMWeight > 0 {
			partNames = append(partNames, "task_mlm", "mlm_accuracy")
		}
		if opts.InBatchWeight > 0 {
			partNames = append(partNames, "task_inbatch")
		}
	}
	lossFn := func(ctx *context.Context, step *Node, in []*Node) (*Node, []*Node) {
		q, d := colbertBatchEmbeddings(ctx, cfg, dim, in)
		scores := colbertTupleScores(q, d, in[4], b, m)
		if residual > 0 {
			scores = Add(scores, MulScalar(ConvertDType(in[6], scores.DType()), residual))
		}
		t := ConvertDType(in[5], scores.DType())
		l := colbertDistillLoss(opts, scores, t)
		pos, negs := colbertFirstAndRest(scores)
		parts := []*Node{ReduceAllMean(Sub(pos, negs)), losses.MarginMSEMulti(scores, t)}
		if opts.MLMWeight == 0 && opts.InBatchWeight == 0 {
			return l, parts
		}
		parts = append(parts, l)
		aux := ScalarOne(scores.Graph(), scores.DType())
		if opts.AuxSchedule == ScheduleLinearDecay {
			done := DivScalar(ConvertDType(step, scores.DType()), float64(max(opts.Steps, 1)))
			aux = Max(OneMinus(done), ScalarZero(scores.Graph(), scores.DType()))
		}
		if opts.MLMWeight > 0 {
			hidden := models.BertEncoder(ctx.In("bert"), cfg, in[mlmIn], nil, in[mlmIn+1])
			mlm, acc := maskedLMLoss(models.TiedMLMLogits(ctx, cfg, hidden), in[mlmIn+2], in[mlmIn+3])
			l = Add(l, Mul(MulScalar(aux, opts.MLMWeight), mlm))
			parts = append(parts, mlm, acc)
		}
		if opts.InBatchWeight > 0 {
			ib := losses.InBatchScores(colbertInBatchScores(q, d, in[4], b, m), m, opts.InBatchTemperature)
			l = Add(l, Mul(MulScalar(aux, opts.InBatchWeight), ib))
			parts = append(parts, ib)
		}
		return l, parts
	}
	tr := &train.Trainer{
		Model: opts.Model, Backend: opts.Backend, Loss: lossFn, Batches: batches, OnLog: opts.OnLog,
		Config: train.Config{
			Name: "colbert", Steps: opts.Steps, Optimizer: opt, OutDir: opts.OutDir,
			CheckpointEvery: opts.CheckpointEvery, EvalEvery: evalEvery,
			PartNames: partNames, Quiet: opts.Quiet,
		},
	}
	if evalEvery > 0 {
		tr.Eval = evalFn
	}
	var initial *train.Record
	if evalFn != nil && !opts.NoInitialEval {
		if initial, err = colbertInitialEval(opts, evalFn); err != nil {
			return nil, err
		}
	}
	res, err := tr.Run()
	if res != nil && initial != nil && (len(res.History) == 0 || res.History[0].Step > 0) {
		res.History = append([]train.Record{*initial}, res.History...)
	}
	return res, err
}

// colbertInitialEval evaluates the untrained model and logs it as step 0 — once: a resumed run whose
// metrics.jsonl already has the record reads it back instead.
func colbertInitialEval(opts ColBERTOptions, evalFn func(int) (map[string]float64, error)) (*train.Record, error) {
	var logPath string
	if opts.OutDir != "" {
		logPath = filepath.Join(opts.OutDir, "metrics.jsonl")
		recs, err := train.ReadLog(logPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, r := range recs {
			if r.Step == 0 && r.Eval != nil {
				return &r, nil
			}
		}
	}
	if err := opts.Model.Materialize(opts.Backend); err != nil {
		return nil, err
	}
	measures, err := evalFn(0)
	if err != nil {
		return nil, fmt.Errorf("colbert: evaluation of the untrained model: %w", err)
	}
	rec := train.Record{Step: 0, Eval: measures}
	if opts.OnLog != nil {
		opts.OnLog(rec)
	}
	if logPath == "" {
		return &rec, nil
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, err
	}
	line := struct {
		Step int                `json:"step"`
		Eval map[string]float64 `json:"eval"`
	}{0, measures}
	data, err := json.Marshal(line)
	if err != nil {
		return nil, fmt.Errorf("colbert: %s: %w", logPath, err)
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", logPath, err)
	}
	return &rec, f.Close()
}

// colbertBatchEmbeddings encodes a batch: inputs are the query ids and mask [b, Lq] and the passage
// ids and attention mask [b·m, Ld] (tuple by tuple); it returns the query embeddings [b, Lq, dim] and
// the passage embeddings [b·m, Ld, dim].
func colbertBatchEmbeddings(ctx *context.Context, cfg *models.Config, dim int, in []*Node) (q, d *Node) {
	return models.ColBERTEmbeddings(ctx, cfg, dim, in[0], in[1]), models.ColBERTEmbeddings(ctx, cfg, dim, in[2], in[3])
}

// colbertTupleScores is the MaxSim score [b, m] of each query against its own tuple's m passages
// (scoreMask [b·m, Ld]).
func colbertTupleScores(q, d, scoreMask *Node, b, m int) *Node {
	dims := d.Shape().Dimensions
	ld, dim := dims[1], dims[2]
	return models.MaxSim(q, Reshape(d, b, m, ld, dim), Reshape(scoreMask, b, m, ld)) // [b, m]
}

// colbertInBatchScores is the MaxSim score [b, b·m] of each query against every passage of the batch.
func colbertInBatchScores(q, d, scoreMask *Node, b, m int) *Node {
	dims := d.Shape().Dimensions
	n, ld, dim := dims[0], dims[1], dims[2]
	all := BroadcastToDims(InsertAxes(d, 0), b, n, ld, dim)
	mask := BroadcastToDims(InsertAxes(scoreMask, 0), b, n, ld)
	return models.MaxSim(q, all, mask)
}

// colbertDistillLoss is the loss of opts.Loss on the student's scores [b, m] and the teacher's.
func colbertDistillLoss(opts ColBERTOptions, scores, t *Node) *Node {
	m := scores.Shape().Dimensions[1]
	switch opts.Loss {
	case LossMarginMSE:
		if m == 2 {
			g := scores.Graph()
			col := func(x *Node, i int) *Node { return Einsum("bm,m->b", x, oneHot(g, m, i, x.DType())) }
			return losses.MarginMSE(col(scores, 0), col(scores, 1), col(t, 0), col(t, 1))
		}
		return losses.MarginMSEMulti(scores, t)
	case LossKL:
		return losses.KLDivergence(scores, t, opts.Temperature)
	case LossKLMarginMSE:
		return losses.KLPlusMarginMSE(scores, t, opts.Temperature, opts.KLWeight, opts.MarginMSEWeight)
	case LossFixedMargin:
		pos, negs := colbertFirstAndRest(scores)
		return losses.FixedMarginMSE(pos, negs, opts.FixedMargin)
	}
	if opts.HardLoss == HardLossHinge {
		pos, negs := colbertFirstAndRest(scores)
		return losses.PairwiseHinge(pos, negs, opts.HingeMargin)
	}
	return losses.LocalizedContrastive(scores)
}

// colbertFirstAndRest splits scores [b, m] into column 0 broadcast to [b, m−1] and columns 1… [b, m−1],
// with contractions rather than slices (SimpleGo has no gradient through Slice).
func colbertFirstAndRest(scores *Node) (first, rest *Node) {
	g := scores.Graph()
	dims := scores.Shape().Dimensions
	b, m := dims[0], dims[1]
	sel := make([][]float32, m)
	for j := range sel {
		sel[j] = make([]float32, m-1)
		if j > 0 {
			sel[j][j-1] = 1
		}
	}
	rest = Einsum("bm,mn->bn", scores, ConvertDType(Const(g, sel), scores.DType()))
	first = Einsum("bm,m->b", scores, oneHot(g, m, 0, scores.DType()))
	first = BroadcastToDims(InsertAxes(first, -1), b, m-1)
	return first, rest
}

// QrelsFromGroups turns the positives of training groups (negatives.TrainingSet's Train and Dev)
// into judgements of relevance 1, e.g. for the positives argument of TrainColBERT.
func QrelsFromGroups(groups ...[]negatives.TrainGroup) datasets.Qrels {
	q := datasets.Qrels{}
	for _, gs := range groups {
		for _, g := range gs {
			for _, p := range g.Positives {
				q.Add(g.QID, p, 1)
			}
		}
	}
	return q
}

// SplitAnswerKey splits an answer key by query into the pairs to train on and the pairs of
// held-out queries: round(fraction × #queries) queries (at least 1 when fraction > 0 and there are
// two queries or more, never all of them), chosen by a permutation of the sorted query ids seeded
// with seed — so the split depends on the set of queries, not on the order of the key. Rows keep
// the key's order. fraction ≤ 0 holds nothing out.
func SplitAnswerKey(key []datasets.ScoredPair, fraction float64, seed int64) (trainPairs, heldOut []datasets.ScoredPair) {
	if fraction <= 0 {
		return key, nil
	}
	seen := map[string]bool{}
	var qids []string
	for _, p := range key {
		if !seen[p.QueryID] {
			seen[p.QueryID] = true
			qids = append(qids, p.QueryID)
		}
	}
	if len(qids) < 2 {
		return key, nil
	}
	slices.Sort(qids)
	n := int(math.Round(fraction * float64(len(qids))))
	n = min(max(n, 1), len(qids)-1)
	perm := rand.New(rand.NewPCG(uint64(seed), 0x686f6c646f7574)).Perm(len(qids)) // "holdout"
	held := make(map[string]bool, n)
	for _, i := range perm[:n] {
		held[qids[i]] = true
	}
	for _, p := range key {
		if held[p.QueryID] {
			heldOut = append(heldOut, p)
		} else {
			trainPairs = append(trainPairs, p)
		}
	}
	return trainPairs, heldOut
}

// colbertCandidate is one scored passage of a query in the answer key.
type colbertCandidate struct {
	docID string
	score float64
}

// colbertKeyQuery is one query of the answer key with its candidates, split into judged positives and the
// rest (indices into cands).
type colbertKeyQuery struct {
	qid, text string
	cands     []colbertCandidate
	pos, neg  []int
}

// colbertGroupKey gathers the answer key by query (in order of first appearance), checking that every query
// and passage has a text and that no pair appears twice.
func colbertGroupKey(key []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string) ([]*colbertKeyQuery, error) {
	byID := map[string]*colbertKeyQuery{}
	var out []*colbertKeyQuery
	seen := map[[2]string]int{}
	for i, p := range key {
		k := [2]string{p.QueryID, p.DocID}
		if first, dup := seen[k]; dup {
			return nil, fmt.Errorf("answer key row %d: query %q, passage %q is scored twice (first at row %d)", i+1, p.QueryID, p.DocID, first)
		}
		seen[k] = i + 1
		q := byID[p.QueryID]
		if q == nil {
			text, ok := queries[p.QueryID]
			if !ok {
				return nil, fmt.Errorf("answer key row %d: query %q has no text in the collection", i+1, p.QueryID)
			}
			q = &colbertKeyQuery{qid: p.QueryID, text: text}
			byID[p.QueryID] = q
			out = append(out, q)
		}
		if _, ok := texts[p.DocID]; !ok {
			return nil, fmt.Errorf("answer key row %d: query %q: passage %q has no text in the collection", i+1, p.QueryID, p.DocID)
		}
		if math.IsNaN(p.Score) || math.IsInf(p.Score, 0) {
			return nil, fmt.Errorf("answer key row %d: query %q, passage %q: score %v is not finite", i+1, p.QueryID, p.DocID, p.Score)
		}
		if positives[p.QueryID][p.DocID] > 0 {
			q.pos = append(q.pos, len(q.cands))
		} else {
			q.neg = append(q.neg, len(q.cands))
		}
		q.cands = append(q.cands, colbertCandidate{p.DocID, p.Score})
	}
	return out, nil
}

// colbertTuple is one training example: a query and m passages with their teacher scores, the
// judged positive first for the pairings that have one.
type colbertTuple struct {
	qid, query string
	docs       []string
	scores     []float64
}

// colbertSampler draws the training examples of a step from the answer key as a pure function of the
// seed and the step.
type colbertSampler struct {
	queries []*colbertKeyQuery // the queries eligible for the pairing
	pairing string
	n, b    int
	seed    int64
}

// newColbertSampler prepares the sampling of b examples a step, each with 1 + n passages.
func newColbertSampler(key []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string, pairing string, n, b int, seed int64) (*colbertSampler, error) {
	all, err := colbertGroupKey(key, positives, queries, texts)
	if err != nil {
		return nil, err
	}
	s := &colbertSampler{pairing: pairing, n: n, b: b, seed: seed}
	for _, q := range all {
		if pairing == PairingRandomPairs && len(q.cands) >= 2 || pairing != PairingRandomPairs && len(q.pos) > 0 && len(q.neg) > 0 {
			s.queries = append(s.queries, q)
		}
	}
	if len(s.queries) == 0 {
		if pairing == PairingRandomPairs {
			return nil, fmt.Errorf("colbert: no training query of the answer key (%d pairs, %d queries) has two candidates", len(key), len(all))
		}
		withPos := 0
		for _, q := range all {
			if len(q.pos) > 0 {
				withPos++
			}
		}
		return nil, fmt.Errorf("colbert: pairing %q: no training query of the answer key (%d pairs, %d queries, %d with a judged positive among its candidates) "+
			"has both a judged positive and another candidate; check the positives (training qrels) or use pairing %q",
			pairing, len(key), len(all), withPos, PairingRandomPairs)
	}
	return s, nil
}

// query returns the query at position pos of the stream: the eligible queries in a seeded random
// order, a new order each epoch.
func (s *colbertSampler) query(pos int) *colbertKeyQuery {
	total := len(s.queries)
	epoch := pos / total
	perm := rand.New(rand.NewPCG(uint64(s.seed), uint64(epoch)+1)).Perm(total)
	return s.queries[perm[pos%total]]
}

// examples returns the b examples of a step.
func (s *colbertSampler) examples(step int) []colbertTuple {
	out := make([]colbertTuple, s.b)
	for j := range s.b {
		pos := step*s.b + j
		q := s.query(pos)
		rng := rand.New(rand.NewPCG(uint64(s.seed)^0x436f6c4245525421, uint64(pos))) // "ColBERT!"
		var idx []int
		switch s.pairing {
		case PairingRandomPairs:
			a := rng.IntN(len(q.cands))
			c := rng.IntN(len(q.cands) - 1)
			if c >= a {
				c++
			}
			idx = []int{a, c}
		default:
			idx = append(idx, q.pos[rng.IntN(len(q.pos))])
			if len(q.neg) >= s.n {
				for _, i := range rng.Perm(len(q.neg))[:s.n] {
					idx = append(idx, q.neg[i])
				}
			} else {
				for range s.n {
					idx = append(idx, q.neg[rng.IntN(len(q.neg))])
				}
			}
		}
		ex := colbertTuple{qid: q.qid, query: q.text}
		for _, i := range idx {
			ex.docs = append(ex.docs, q.cands[i].docID)
			ex.scores = append(ex.scores, q.cands[i].score)
		}
		out[j] = ex
	}
	return out
}

// colbertProbe holds the held-out pairs whose student and teacher margins are compared, and the
// held-out queries with positives whose candidates are reranked.
type colbertProbe struct {
	queries []*colbertKeyQuery
	docs    []string       // unique passage texts to encode
	docIdx  map[string]int // passage id → index in docs
	pairs   []colbertProbePair
	qrels   datasets.Qrels // judgements of the probe's queries that have positives
	teacher map[string]float64
	lexical [][]float64 // BM25 scores of the queries' candidates, for a residual student
}

type colbertProbePair struct {
	q, d1, d2     int // query index; candidate indices
	teacherMargin float64
}

// newColbertProbe chooses up to maxQueries held-out queries (seeded) and up to maxPairs of their
// candidate pairs: for each query in turn, up to 8 distinct random pairs whose teacher scores differ.
func newColbertProbe(held []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string, maxQueries, maxPairs int, seed int64) (*colbertProbe, error) {
	all, err := colbertGroupKey(held, positives, queries, texts)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x70726f6265)) // "probe"
	var qs []*colbertKeyQuery
	for _, i := range rng.Perm(len(all)) {
		if len(all[i].cands) >= 2 {
			qs = append(qs, all[i])
		}
	}
	qs = qs[:min(len(qs), maxQueries)]
	slices.SortFunc(qs, func(a, b *colbertKeyQuery) int { return cmp.Compare(a.qid, b.qid) })
	p := &colbertProbe{docIdx: map[string]int{}, qrels: datasets.Qrels{}, teacher: map[string]float64{}}
	perQuery := max(1, min(8, maxPairs/max(len(qs), 1)))
	for qi, q := range qs {
		p.queries = append(p.queries, q)
		for _, c := range q.cands {
			if _, ok := p.docIdx[c.docID]; !ok {
				p.docIdx[c.docID] = len(p.docs)
				p.docs = append(p.docs, texts[c.docID])
			}
		}
		if len(q.pos) > 0 {
			for _, c := range q.cands {
				p.qrels.Add(q.qid, c.docID, positives[q.qid][c.docID])
			}
		}
		nc := len(q.cands)
		tried := map[[2]int]bool{}
		for got, attempts := 0, 0; got < perQuery && attempts < 4*perQuery && len(p.pairs) < maxPairs; attempts++ {
			a, c := rng.IntN(nc), rng.IntN(nc-1)
			if c >= a {
				c++
			}
			if a > c {
				a, c = c, a
			}
			if tried[[2]int{a, c}] {
				continue
			}
			tried[[2]int{a, c}] = true
			tm := q.cands[a].score - q.cands[c].score
			if tm == 0 {
				continue
			}
			p.pairs = append(p.pairs, colbertProbePair{q: qi, d1: a, d2: c, teacherMargin: tm})
			got++
		}
	}
	if len(p.pairs) < 2 && len(p.qrels) == 0 {
		return nil, nil
	}
	if len(p.qrels) > 0 {
		run := p.run(func(q *colbertKeyQuery, i int) float64 { return q.cands[i].score })
		if res, err := eval.Evaluate(p.qrels, run, []eval.Measure{{Kind: eval.NDCG, Cutoff: 10}}, eval.Options{}); err == nil {
			p.teacher[MetricHeldOutTeacherNDCG] = res.Mean["nDCG@10"]
		}
	}
	return p, nil
}

// run is the reranking of the probe's judged queries' candidates by score.
func (p *colbertProbe) run(score func(q *colbertKeyQuery, i int) float64) eval.Run {
	run := eval.Run{}
	for _, q := range p.queries {
		if _, ok := p.qrels[q.qid]; !ok {
			continue
		}
		docs := map[string]float64{}
		for i, c := range q.cands {
			docs[c.docID] = score(q, i)
		}
		run[q.qid] = docs
	}
	return run
}

// lexicalScores is the BM25 score of each probe query's candidates, for a residual student.
func (p *colbertProbe) lexicalScores(enc *ColBERTEncoder) ([][]float64, error) {
	var qs, ps []string
	for _, q := range p.queries {
		for _, c := range q.cands {
			qs = append(qs, q.text)
			ps = append(ps, p.docs[p.docIdx[c.docID]])
		}
	}
	flat, err := enc.lexical(qs, ps)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(p.queries))
	for i, q := range p.queries {
		out[i], flat = flat[:len(q.cands)], flat[len(q.cands):]
	}
	return out, nil
}

// measure encodes the probe with the student and compares its margins with the teacher's.
func (p *colbertProbe) measure(enc *ColBERTEncoder) (map[string]float64, error) {
	texts := make([]string, len(p.queries))
	for i, q := range p.queries {
		texts[i] = q.text
	}
	qe, err := enc.EncodeQueries(texts)
	if err != nil {
		return nil, err
	}
	de, err := enc.EncodeDocs(p.docs)
	if err != nil {
		return nil, err
	}
	dim := enc.Model.ColBERTDim
	w := enc.Model.Config.BM25Weight
	if w > 0 && p.lexical == nil {
		if p.lexical, err = p.lexicalScores(enc); err != nil {
			return nil, err
		}
	}
	scores := make([][]float64, len(p.queries))
	colbertParallel(len(p.queries), func(qi int) {
		q := p.queries[qi]
		best := make([]float32, len(qe[qi])/dim)
		scores[qi] = make([]float64, len(q.cands))
		for i, c := range q.cands {
			scores[qi][i] = float64(maxSimScore(qe[qi], de[p.docIdx[c.docID]], dim, best))
			if w > 0 {
				scores[qi][i] += w * p.lexical[qi][i]
			}
		}
	})
	out := map[string]float64{}
	if len(p.pairs) >= 2 {
		sm, tm := make([]float64, len(p.pairs)), make([]float64, len(p.pairs))
		mse, agree := 0.0, 0
		for i, pr := range p.pairs {
			sm[i] = scores[pr.q][pr.d1] - scores[pr.q][pr.d2]
			tm[i] = pr.teacherMargin
			mse += (sm[i] - tm[i]) * (sm[i] - tm[i])
			if sm[i]*tm[i] > 0 {
				agree++
			}
		}
		out[MetricMarginMSE] = mse / float64(len(p.pairs))
		out[MetricPairAccuracy] = float64(agree) / float64(len(p.pairs))
		// Undefined correlations (a constant student) are left out: metrics.jsonl cannot hold NaN.
		if r := Pearson(sm, tm); !math.IsNaN(r) {
			out[MetricMarginPearson] = r
		}
		if tau := KendallTau(sm, tm); !math.IsNaN(tau) {
			out[MetricMarginKendall] = tau
		}
	}
	if len(p.qrels) > 0 {
		idx := map[*colbertKeyQuery]int{}
		for i, q := range p.queries {
			idx[q] = i
		}
		run := p.run(func(q *colbertKeyQuery, i int) float64 { return scores[idx[q]][i] })
		res, err := eval.Evaluate(p.qrels, run, []eval.Measure{{Kind: eval.NDCG, Cutoff: 10}}, eval.Options{})
		if err == nil {
			out[MetricHeldOutNDCG] = res.Mean["nDCG@10"]
		}
		maps.Copy(out, p.teacher)
	}
	return out, nil
}

// Pearson returns Pearson's correlation coefficient of x and y (equal lengths), computed in two
// passes around the means; NaN when it is undefined (fewer than two points, a constant x or y, or
// lengths that differ).
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return max(-1, min(1, sxy/math.Sqrt(sxx*syy)))
}

// KendallTau returns Kendall's rank correlation τ-b of x and y (equal lengths), which accounts for
// ties as scipy.stats.kendalltau does by default:
//
//	τ_b = (C − D) / sqrt((P − T_x)(P − T_y))
//
// over the P = n(n−1)/2 pairs of points, C concordant and D discordant, T_x (T_y) tied in x (y). NaN
// when undefined (fewer than two points, all x or all y tied, or lengths that differ). It compares
// every pair: O(n²), meant for the few thousand points of an evaluation.
func KendallTau(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN()
	}
	var conc, disc, tx, ty int64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			dx, dy := cmp.Compare(x[i], x[j]), cmp.Compare(y[i], y[j])
			switch {
			case dx == 0 && dy == 0:
				tx++
				ty++
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case dx == dy:
				conc++
			default:
				disc++
			}
		}
	}
	pairs := int64(n) * int64(n-1) / 2
	den := math.Sqrt(float64(pairs-tx)) * math.Sqrt(float64(pairs-ty))
	if den == 0 {
		return math.NaN()
	}
	return max(-1, min(1, float64(conc-disc)/den))
}

// ColBERTEncoder runs a ColBERT model over texts: queries become QueryLen token embeddings each
// ([MASK]-augmented, every token counts in MaxSim), passages the embeddings of their tokens that
// take part in MaxSim (ScoreMask: no padding, no punctuation). Passages are encoded in batches of
// similar length (bucketing) and returned in the caller's order. It is a Scorer too. An encoder
// compiles its graph on first use and is not safe for concurrent use.
type ColBERTEncoder struct {
	// Model is a models.KindColBERT model.
	Model *models.Model
	// Tokenizer encodes the texts.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graph.
	Backend backends.Backend
	// QueryLen is the query length [tokenizer.QueryMaxLen].
	QueryLen int
	// DocLen is the passage length limit [tokenizer.DocMaxLen].
	DocLen int
	// AttendExpansion lets the encoder attend to the queries' [MASK] tokens.
	AttendExpansion bool
	// BatchSize is the number of texts per forward pass [DefaultBatchSize].
	BatchSize int
	// Quiet hides the progress bar of long encodes (more than 2,000 passages).
	Quiet bool
	// Label names the scorer [colbert].
	Label string
	// BM25 is the index of the collection being ranked, which a residual student
	// (Model.Config.BM25Weight > 0) needs: its score is MaxSim plus that weight times BM25.
	BM25 *bm25.Index

	exec *context.Exec
}

// BM25Weight is the weight of BM25 in the student's score: positive for a residual student
// (MaxSim + weight·BM25), else 0.
func (e *ColBERTEncoder) BM25Weight() float64 { return e.Model.Config.BM25Weight }

// lexical returns the BM25 scores of the (query, passage) pairs in the encoder's collection.
func (e *ColBERTEncoder) lexical(queries, passages []string) ([]float64, error) {
	if e.BM25 == nil {
		return nil, fmt.Errorf("colbert: the student adds %g × BM25 to its MaxSim scores (mimicry_bm25_weight) but has no BM25 index: give it the collection it ranks (ColBERTEncoder.BM25; --data on the command line)", e.BM25Weight())
	}
	return (&BM25Scorer{Index: e.BM25}).Score(queries, passages)
}

// lexicalScores is lexical for a training batch: queries[i] goes with passages[i·m … i·m+m−1].
func (e *ColBERTEncoder) lexicalScores(queries, passages []string, m int) ([]float32, error) {
	qs := make([]string, len(passages))
	for i := range passages {
		qs[i] = queries[i/m]
	}
	scores, err := e.lexical(qs, passages)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(scores))
	for i, v := range scores {
		out[i] = float32(v)
	}
	return out, nil
}

// Name implements Scorer.
func (e *ColBERTEncoder) Name() string {
	if e.Label != "" {
		return e.Label
	}
	return "colbert"
}

// Dim is the width of the token embeddings.
func (e *ColBERTEncoder) Dim() int { return e.Model.ColBERTDim }

func (e *ColBERTEncoder) queryLen() int { return defaultInt(e.QueryLen, tokenizer.QueryMaxLen) }
func (e *ColBERTEncoder) docLen() int   { return defaultInt(e.DocLen, tokenizer.DocMaxLen) }

// embed runs the encoder on a batch: ids and mask [N, L] → embeddings [N, L, dim] as float32.
func (e *ColBERTEncoder) embed(ids, mask *tensors.Tensor) ([]float32, error) {
	if e.Model == nil || e.Model.Kind != models.KindColBERT {
		return nil, errors.New("colbert encoder: a ColBERT model (kind colbert) is required")
	}
	if e.exec == nil {
		if err := e.Model.Materialize(e.Backend); err != nil {
			return nil, err
		}
		m := e.Model
		exec, err := context.NewExec(e.Backend, m.Ctx, func(ctx *context.Context, ids, mask *Node) *Node {
			return models.ColBERTEmbeddings(ctx.In(models.ModelScope), m.Config, m.ColBERTDim, ids, mask)
		})
		if err != nil {
			return nil, err
		}
		// One graph per batch shape: up to DocLen/8 lengths, and the smaller last batches.
		e.exec = exec.SetMaxCache(-1)
	}
	res, err := e.exec.Exec(ids, mask)
	if err != nil {
		return nil, err
	}
	out := res[0]
	defer out.FinalizeAll()
	if out.DType() == dtypes.Float32 {
		return tensors.CopyFlatData[float32](out)
	}
	f64, err := tensors.CopyFlatData[float64](out)
	if err != nil {
		return nil, err
	}
	f32 := make([]float32, len(f64))
	for i, v := range f64 {
		f32[i] = float32(v)
	}
	return f32, nil
}

// EncodeQueries returns each query's QueryLen × dim embeddings, row-major.
func (e *ColBERTEncoder) EncodeQueries(queries []string) ([][]float32, error) {
	out := make([][]float32, len(queries))
	bs := batchSize(e.BatchSize)
	dim := e.Dim()
	for start := 0; start < len(queries); start += bs {
		part := queries[start:min(start+bs, len(queries))]
		in, err := models.ColBERTQueryInputs(e.Tokenizer, part, e.queryLen(), e.AttendExpansion)
		if err != nil {
			return nil, err
		}
		flat, err := e.embed(in.IDs, in.Mask)
		if err != nil {
			return nil, err
		}
		row := in.L * dim
		for i := range part {
			out[start+i] = flat[i*row : (i+1)*row : (i+1)*row]
		}
	}
	return out, nil
}

// EncodeDocs returns each passage's embeddings of the tokens that take part in MaxSim (T_i × dim,
// row-major, in token order). Passages are batched by length; a progress bar is shown for more than
// 2,000 passages unless Quiet.
func (e *ColBERTEncoder) EncodeDocs(passages []string) ([][]float32, error) {
	out := make([][]float32, len(passages))
	if len(passages) == 0 {
		return out, nil
	}
	lengths, err := tokenizer.Lengths(e.Tokenizer, passages, e.docLen(), tokenizer.WithMarker(tokenizer.DocMarker))
	if err != nil {
		return nil, err
	}
	order := make([]int, len(passages))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lengths[order[a]] < lengths[order[b]] })
	bar := progress.Quiet(len(passages))
	if !e.Quiet && len(passages) > 2000 {
		bar = progress.New(len(passages), "colbert encode", "docs")
	}
	dim := e.Dim()
	bs := batchSize(e.BatchSize)
	for start := 0; start < len(order); start += bs {
		idx := order[start:min(start+bs, len(order))]
		texts := make([]string, len(idx))
		for j, i := range idx {
			texts[j] = passages[i]
		}
		in, err := models.ColBERTDocInputs(e.Tokenizer, texts, e.docLen())
		if err != nil {
			return nil, err
		}
		flat, err := e.embed(in.IDs, in.Mask)
		if err != nil {
			return nil, err
		}
		keepFlat, err := tensors.CopyFlatData[int32](in.ScoreMask)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			keep := keepFlat[j*in.L : (j+1)*in.L]
			n := 0
			for _, k := range keep {
				if k != 0 {
					n++
				}
			}
			emb := make([]float32, 0, n*dim)
			for t, k := range keep {
				if k != 0 {
					off := (j*in.L + t) * dim
					emb = append(emb, flat[off:off+dim]...)
				}
			}
			out[i] = emb
		}
		bar.Add(len(idx), "")
	}
	if !e.Quiet && len(passages) > 2000 {
		bar.Finish()
	}
	return out, nil
}

// Score implements Scorer: the MaxSim score of each (query, passage) pair, each distinct text
// encoded once (plus BM25Weight times the pair's BM25 score for a residual student).
func (e *ColBERTEncoder) Score(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("colbert: %d queries but %d passages", len(queries), len(passages))
	}
	uq, qi := colbertUnique(queries)
	up, pi := colbertUnique(passages)
	qe, err := e.EncodeQueries(uq)
	if err != nil {
		return nil, err
	}
	pe, err := e.EncodeDocs(up)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(queries))
	dim := e.Dim()
	colbertParallel(len(queries), func(i int) {
		best := make([]float32, len(qe[qi[i]])/dim)
		out[i] = float64(maxSimScore(qe[qi[i]], pe[pi[i]], dim, best))
	})
	if w := e.BM25Weight(); w > 0 {
		lex, err := e.lexical(queries, passages)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] += w * lex[i]
		}
	}
	return out, nil
}

// colbertUnique returns the distinct texts and, for each input, the index of its text among them.
func colbertUnique(texts []string) ([]string, []int) {
	idx := make([]int, len(texts))
	seen := map[string]int{}
	var uniq []string
	for i, t := range texts {
		j, ok := seen[t]
		if !ok {
			j = len(uniq)
			seen[t] = j
			uniq = append(uniq, t)
		}
		idx[i] = j
	}
	return uniq, idx
}

// ColBERTSettingsFile is the file beside an exported ColBERT student (in its Hugging Face folder)
// that records how it encodes: ColBERTSettings as JSON.
const ColBERTSettingsFile = "mimicry_colbert.json"

// ColBERTSettings are the encoding settings of a ColBERT model that its weights do not tell.
type ColBERTSettings struct {
	// QueryLen is the query length with [MASK] augmentation.
	QueryLen int `json:"query_len"`
	// DocLen is the passage length limit.
	DocLen int `json:"doc_len"`
	// AttendExpansion says whether the encoder attends to the queries' [MASK] tokens.
	AttendExpansion bool `json:"attend_expansion"`
}

// LoadColBERTEncoder reads a ColBERT model from a Hugging Face folder (or its model/ subfolder):
// config.json, model.safetensors (Mimicry's, Stanford ColBERT's or PyLate's layout), the tokenizer
// and, when present, ColBERTSettingsFile (else ColBERT's defaults, 32 and 180 tokens). Errors name
// the folder and what is missing.
func LoadColBERTEncoder(dir string, backend backends.Backend) (*ColBERTEncoder, error) {
	mdir, err := models.ResolveDir(dir) // a hub id: its snapshot in the Hugging Face cache
	if err != nil {
		return nil, fmt.Errorf("colbert model %s: %w", dir, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "model")); err == nil && st.IsDir() {
		mdir = filepath.Join(dir, "model")
	}
	if _, err := os.Stat(filepath.Join(mdir, models.ConfigFile)); err != nil {
		return nil, fmt.Errorf("colbert model %s: not a model folder (want %s, %s and tokenizer.json, or a model/ subfolder with them): %w",
			dir, models.ConfigFile, models.WeightsFile, err)
	}
	m, report, err := models.ImportHF(mdir, models.KindColBERT, 0)
	if err != nil {
		return nil, fmt.Errorf("colbert model %s: %w", dir, err)
	}
	if len(report.Missing) > 0 {
		return nil, fmt.Errorf("colbert model %s: not a ColBERT checkpoint: %s lacks %s", dir,
			filepath.Join(mdir, models.WeightsFile), strings.Join(report.Missing, ", "))
	}
	tk, err := models.LoadHFTokenizer(mdir)
	if err != nil && mdir != dir {
		tk, err = models.LoadHFTokenizer(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("colbert model %s: tokenizer: %w", dir, err)
	}
	if tk.VocabSize() != m.Config.VocabSize {
		return nil, fmt.Errorf("colbert model %s: the tokenizer has %d tokens but config.json's vocab_size is %d", dir, tk.VocabSize(), m.Config.VocabSize)
	}
	set := ColBERTSettings{QueryLen: tokenizer.QueryMaxLen, DocLen: tokenizer.DocMaxLen}
	sp := filepath.Join(mdir, ColBERTSettingsFile)
	if data, err := os.ReadFile(sp); err == nil {
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("%s: invalid JSON: %v", sp, err)
		}
		if set.QueryLen < 4 || set.DocLen < 4 {
			return nil, fmt.Errorf("%s: fields \"query_len\" (%d) and \"doc_len\" (%d) must be at least 4", sp, set.QueryLen, set.DocLen)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return &ColBERTEncoder{Model: m, Tokenizer: tk, Backend: backend, QueryLen: set.QueryLen, DocLen: set.DocLen,
		AttendExpansion: set.AttendExpansion, Label: filepath.Base(filepath.Clean(dir))}, nil
}

// ExportColBERT writes a ColBERT student as a Hugging Face folder (models.ExportHF with the
// tokenizer) plus ColBERTSettingsFile, so LoadColBERTEncoder encodes as it was trained.
func ExportColBERT(dir string, enc *ColBERTEncoder) error {
	if err := models.ExportHF(dir, enc.Model, enc.Backend, enc.Tokenizer); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(ColBERTSettings{QueryLen: enc.queryLen(), DocLen: enc.docLen(), AttendExpansion: enc.AttendExpansion}, "", "  ")
	return datasets.WriteFileAtomic(filepath.Join(dir, ColBERTSettingsFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// TrainingQueries maps the ids of the queries a student may train on to their texts: the
// collection's training and evaluation queries (QueryTexts) and the weak-supervision
// pseudo-queries ("title:<docid>" → title, negatives.WeakPairs).
func TrainingQueries(c *datasets.Collection) map[string]string {
	out := QueryTexts(c)
	if len(c.TrainQueries) == 0 {
		weak, _, _ := negatives.WeakPairs(c)
		for _, q := range weak {
			out[q.ID] = q.Text
		}
	}
	return out
}

// TrainingPositives are the judged positives a student may train on: the training qrels
// (relevance > 0) and, for collections without training queries, the weak-supervision pairs — never
// the evaluation judgements.
func TrainingPositives(c *datasets.Collection) datasets.Qrels {
	out := datasets.Qrels{}
	for qid, docs := range c.TrainQrels {
		for did, rel := range docs {
			if rel > 0 {
				out.Add(qid, did, rel)
			}
		}
	}
	if len(c.TrainQueries) == 0 {
		_, weak, _ := negatives.WeakPairs(c)
		for qid, docs := range weak {
			for did, rel := range docs {
				out.Add(qid, did, rel)
			}
		}
	}
	return out
}

// ColBERTJob is the ColBERT phase for one collection and answer key: train the student by
// TrainColBERT (positives: TrainingPositives; key rows of evaluation queries are dropped, so
// nothing is trained on the test queries), export it as a Hugging Face folder (OutDir/model), encode
// the corpus into OutDir/index.colbert, retrieve for the evaluation queries — MaxSim reranking of
// BM25's top RerankDepth and, for corpora up to ExhaustiveMaxDocs, exhaustive MaxSim — and write
// the runs and OutDir/colbert.json comparing them with BM25. Re-running it resumes from OutDir's
// checkpoints.
type ColBERTJob struct {
	// Collection is the corpus, its queries and judgements.
	Collection *datasets.Collection
	// Key is the answer key.
	Key []datasets.ScoredPair
	// KeyMeta is the key's provenance (for the report; may be nil).
	KeyMeta *datasets.AnswerKeyMeta
	// Backend runs the graphs.
	Backend backends.Backend
	// OutDir receives checkpoints/, metrics.jsonl, model/, index.colbert, the runs and colbert.json.
	OutDir string
	// Preset is the model size when not initialising from a checkpoint ("tiny", "small", "base").
	Preset string
	// Config, when set, is used instead of Preset's configuration (its VocabSize is the tokenizer's).
	Config *models.Config
	// Init is a Hugging Face folder to start from: a BERT, a ColBERT or a cross-encoder (its encoder).
	Init string
	// Dim is the width of the token embeddings [models.DefaultColBERTDim].
	Dim int
	// Tokenizer encodes texts (the teacher's). Nil: Init's; else a vocabulary of Vocab tokens trained
	// on the corpus (saved in OutDir/tokenizer); else bert-base-uncased's.
	Tokenizer tokenizer.Tokenizer
	// Vocab is the size of the vocabulary to train when there is neither Tokenizer nor Init.
	Vocab int
	// Train configures the training; Model, Tokenizer, Backend, Seed and OutDir are filled in.
	Train ColBERTOptions
	// Recipe is one of Recipes [RecipeOffline]; it sets Train's loss options (ApplyRecipe).
	Recipe string
	// Teacher is RecipeOnline's teacher, run on every training batch (e.g. a CrossEncoder).
	Teacher Scorer
	// SelfTeacherConfig is RecipeSelf's larger student [the student's configuration with twice the
	// layers].
	SelfTeacherConfig *models.Config
	// RerankDepth is the number of BM25 candidates reranked [100].
	RerankDepth int
	// Depth is the number of documents per query in the runs [1000].
	Depth int
	// ExhaustiveMaxDocs is the largest corpus searched exhaustively [100000]; negative: never.
	ExhaustiveMaxDocs int
	// IndexDType is the storage type of the index: IndexFloat32 [default] or IndexFloat16.
	IndexDType string
	// BM25Weight, when positive, makes the student residual (CLEAR, Gao et al., ECIR 2021): its score
	// of a pair is MaxSim plus BM25Weight times the pair's BM25 score, in training and retrieval, and
	// its exported config.json records the weight (models.Config.BM25Weight). Distilling a residual
	// teacher with the teacher's own weight leaves MaxSim to learn the teacher network's margins.
	BM25Weight float64
	// Seed drives everything random.
	Seed int64
}

// ColBERTReport is colbert.json: the student's training and its effectiveness against BM25.
type ColBERTReport struct {
	Dataset        string             `json:"dataset"`
	Queries        int                `json:"queries"`
	Docs           int                `json:"docs"`
	Teacher        string             `json:"teacher,omitempty"`
	KeyPairs       int                `json:"key_pairs"`
	DroppedPairs   int                `json:"key_pairs_dropped_eval_queries"`
	Recipe         string             `json:"recipe,omitempty"`
	Pairing        string             `json:"pairing"`
	Loss           string             `json:"loss"`
	Negatives      int                `json:"negatives"`
	Steps          int                `json:"steps"`
	TrainSecs      float64            `json:"train_s"`
	FinalLoss      float64            `json:"final_loss"`
	InitialHeldOut map[string]float64 `json:"heldout_initial,omitempty"`
	HeldOut        map[string]float64 `json:"heldout,omitempty"`
	RerankDepth    int                `json:"rerank_depth"`
	BM25           map[string]float64 `json:"bm25"`
	ColBERTRerank  map[string]float64 `json:"colbert_rerank"`
	ColBERT        map[string]float64 `json:"colbert,omitempty"`
	// BM25Weight is a residual student's weight of BM25 (absent for a plain one); MaxSimRerank the
	// measures of its MaxSim alone reranking the same candidates.
	BM25Weight   float64            `json:"bm25_weight,omitempty"`
	MaxSimRerank map[string]float64 `json:"maxsim_rerank,omitempty"`
	IndexDType   string             `json:"index_dtype"`
	IndexTokens  int64              `json:"index_tokens"`
	IndexBytes   int64              `json:"index_bytes"`
	EncodeSecs   float64            `json:"encode_s"`
	SearchSecs   float64            `json:"search_s,omitempty"`
	RerankSecs   float64            `json:"rerank_s"`
	// OnlinePairs and OnlineSecs are what RecipeOnline's teacher scored during training, and the
	// time it took (this process's share of a resumed run).
	OnlinePairs int64   `json:"online_teacher_pairs,omitempty"`
	OnlineSecs  float64 `json:"online_teacher_s,omitempty"`
	// SelfTeacher is the report of RecipeSelf's larger student; SelfSecs the time its training,
	// indexing, evaluation and re-annotation of the key took (this process's share).
	SelfTeacher *ColBERTReport `json:"self_teacher,omitempty"`
	SelfSecs    float64        `json:"self_teacher_s,omitempty"`
}

// Run executes the job and returns the trained student (as an encoder) and the report.
func (j *ColBERTJob) Run() (*ColBERTEncoder, *ColBERTReport, error) {
	col := j.Collection
	if col == nil || len(col.Docs) == 0 {
		return nil, nil, errors.New("colbert job: the collection has no documents")
	}
	if len(j.Key) == 0 {
		return nil, nil, errors.New("colbert job: the answer key is empty")
	}
	evalQ := make(map[string]bool, len(col.Queries))
	for _, q := range col.Queries {
		evalQ[q.ID] = true
	}
	key := make([]datasets.ScoredPair, 0, len(j.Key))
	for _, p := range j.Key {
		if !evalQ[p.QueryID] {
			key = append(key, p)
		}
	}
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("colbert job: every query of the answer key (%d pairs) is an evaluation query of %s; annotate training queries (e.g. `mimicry annotate --queries train`)", len(j.Key), col.Name)
	}
	if err := os.MkdirAll(j.OutDir, 0o755); err != nil {
		return nil, nil, err
	}
	tk, err := j.tokenizer()
	if err != nil {
		return nil, nil, err
	}
	m, err := j.model(tk)
	if err != nil {
		return nil, nil, err
	}
	opts := j.Train
	if err := ApplyRecipe(j.Recipe, &opts); err != nil {
		return nil, nil, err
	}
	var online *countingScorer
	switch {
	case j.Recipe == RecipeOnline && j.Teacher == nil:
		return nil, nil, errors.New("colbert job: recipe online needs a teacher to run in the loop (a cross-encoder: --teacher DIR)")
	case j.Recipe == RecipeOnline:
		if ce, ok := j.Teacher.(*CrossEncoder); ok {
			if err := ce.UseCollection(col); err != nil {
				return nil, nil, err
			}
		}
		online = &countingScorer{Scorer: j.Teacher}
		opts.Teacher = online
	}
	var selfRep *ColBERTReport
	var selfSecs float64
	if j.Recipe == RecipeSelf {
		start := time.Now()
		if key, selfRep, err = j.selfTeacher(key, tk, m.Config); err != nil {
			return nil, nil, err
		}
		selfSecs = time.Since(start).Seconds()
	}
	ix, err := bm25.Build(col.Docs, bm25.Config{})
	if err != nil {
		return nil, nil, err
	}
	opts.Model, opts.Tokenizer, opts.Backend, opts.Seed, opts.OutDir, opts.BM25 = m, tk, j.Backend, j.Seed, j.OutDir, ix
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	texts := Texts(col.Docs)
	start := time.Now()
	res, err := TrainColBERT(key, TrainingPositives(col), TrainingQueries(col), texts, opts)
	if err != nil {
		return nil, nil, err
	}
	rep := &ColBERTReport{
		Dataset: col.Name, Queries: len(col.Queries), Docs: len(col.Docs), KeyPairs: len(key), DroppedPairs: len(j.Key) - len(key),
		Recipe: cmp.Or(j.Recipe, RecipeOffline), Pairing: opts.Pairing, Loss: opts.Loss, Negatives: opts.Negatives, Steps: res.Steps,
		TrainSecs: time.Since(start).Seconds(), FinalLoss: res.FinalLoss, SelfTeacher: selfRep, SelfSecs: selfSecs,
	}
	if online != nil {
		rep.OnlinePairs, rep.OnlineSecs = online.pairs, online.seconds
	}
	if j.KeyMeta != nil {
		rep.Teacher = j.KeyMeta.Teacher
	}
	if selfRep != nil {
		rep.Teacher = fmt.Sprintf("larger ColBERT student (self-distillation, %s)", filepath.Join(j.OutDir, "self_teacher"))
	}
	if recs, err := train.ReadLog(filepath.Join(j.OutDir, "metrics.jsonl")); err == nil {
		for _, r := range recs {
			if r.Eval == nil {
				continue
			}
			if r.Step == 0 {
				rep.InitialHeldOut = r.Eval
			}
			rep.HeldOut = r.Eval
		}
	}
	enc := &ColBERTEncoder{Model: m, Tokenizer: tk, Backend: j.Backend, QueryLen: opts.QueryLen, DocLen: opts.DocLen,
		AttendExpansion: opts.AttendExpansion, BatchSize: opts.EncodeBatch, Quiet: opts.Quiet, Label: "colbert", BM25: ix}
	if err := ExportColBERT(filepath.Join(j.OutDir, "model"), enc); err != nil {
		return nil, nil, err
	}

	start = time.Now()
	cix, err := BuildColBERTIndex(enc, col.Docs)
	if err != nil {
		return nil, nil, err
	}
	rep.EncodeSecs = time.Since(start).Seconds()
	cix.Meta.Collection, cix.Meta.Model = col.Name, filepath.Join(j.OutDir, "model")
	dtype := j.IndexDType
	if dtype == "" {
		dtype = IndexFloat32
	}
	indexPath := filepath.Join(j.OutDir, "index.colbert")
	if err := cix.Write(indexPath, dtype); err != nil {
		return nil, nil, err
	}
	if st, err := os.Stat(indexPath); err == nil {
		rep.IndexBytes = st.Size()
	}
	rep.IndexDType, rep.IndexTokens = dtype, cix.Meta.Tokens

	depth := defaultInt(j.Depth, 1000)
	k := defaultInt(j.RerankDepth, 100)
	rep.RerankDepth = k
	if rep.BM25, err = Measure(col.Qrels, RunFromHits(ix.SearchBatch(col.Queries, depth))); err != nil {
		return nil, nil, fmt.Errorf("colbert job: BM25: %w", err)
	}
	qe, err := cix.encodeQueries(enc, col.Queries)
	if err != nil {
		return nil, nil, err
	}
	start = time.Now()
	bonus, err := cix.lexicalBonus(enc, col.Queries)
	if err != nil {
		return nil, nil, err
	}
	cands := Candidates(ix, col.Queries, k)
	rerank, err := cix.rerankEmbeddings(col.Queries, qe, cands, bonus)
	if err != nil {
		return nil, nil, err
	}
	rep.RerankSecs = time.Since(start).Seconds()
	if bonus != nil {
		rep.BM25Weight = enc.BM25Weight()
		maxsim, err := cix.RerankEmbeddings(col.Queries, qe, cands)
		if err != nil {
			return nil, nil, err
		}
		if rep.MaxSimRerank, err = Measure(col.Qrels, maxsim); err != nil {
			return nil, nil, fmt.Errorf("colbert job: reranking by MaxSim alone: %w", err)
		}
	}
	if rep.ColBERTRerank, err = Measure(col.Qrels, rerank); err != nil {
		return nil, nil, fmt.Errorf("colbert job: reranking: %w", err)
	}
	if err := colbertWriteRun(filepath.Join(j.OutDir, "run.colbert-rerank.trec"), rerank, "mimicry-colbert-rerank", depth); err != nil {
		return nil, nil, err
	}
	maxDocs := j.ExhaustiveMaxDocs
	if maxDocs == 0 {
		maxDocs = 100000
	}
	if len(col.Docs) <= maxDocs {
		start = time.Now()
		full := cix.searchEmbeddings(col.Queries, qe, depth, bonus)
		rep.SearchSecs = time.Since(start).Seconds()
		if rep.ColBERT, err = Measure(col.Qrels, full); err != nil {
			return nil, nil, fmt.Errorf("colbert job: exhaustive search: %w", err)
		}
		if err := colbertWriteRun(filepath.Join(j.OutDir, "run.colbert.trec"), full, "mimicry-colbert", depth); err != nil {
			return nil, nil, err
		}
	}
	data, _ := json.MarshalIndent(rep, "", "  ")
	if err := datasets.WriteFileAtomic(filepath.Join(j.OutDir, "colbert.json"), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return nil, nil, err
	}
	return enc, rep, nil
}

// colbertWriteRun writes a run as a TREC file, at most depth documents per query.
func colbertWriteRun(path string, run eval.Run, tag string, depth int) error {
	entries, err := datasets.RankRun(run, tag, depth)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := datasets.WriteTRECRun(path, entries); err != nil {
		return fmt.Errorf("writing run %s: %w", path, err)
	}
	return nil
}

// tokenizer picks the job's tokenizer (see ColBERTJob.Tokenizer).
func (j *ColBERTJob) tokenizer() (tokenizer.Tokenizer, error) {
	return jobTokenizer(j.Tokenizer, j.Init, j.Vocab, j.OutDir, j.Collection)
}

// model creates or imports the student.
func (j *ColBERTJob) model(tk tokenizer.Tokenizer) (*models.Model, error) {
	dim := defaultInt(j.Dim, models.DefaultColBERTDim)
	if j.Init != "" {
		m, report, err := models.ImportHF(j.Init, models.KindColBERT, j.Seed)
		if err != nil {
			return nil, err
		}
		if m.ColBERTDim != dim && j.Dim > 0 {
			return nil, fmt.Errorf("colbert job: %s has %d-dimensional embeddings, %d were asked for", j.Init, m.ColBERTDim, dim)
		}
		if len(report.Missing) > 0 && !j.Train.Quiet {
			fmt.Fprintf(os.Stderr, "colbert: %d parameters not in %s are initialised fresh (e.g. %s)\n", len(report.Missing), j.Init, report.Missing[0])
		}
		if tk.VocabSize() != m.Config.VocabSize {
			return nil, fmt.Errorf("colbert job: the tokenizer has %d tokens but %s's vocab_size is %d", tk.VocabSize(), j.Init, m.Config.VocabSize)
		}
		if j.BM25Weight > 0 {
			m.Config.BM25Weight = j.BM25Weight
		}
		return m, nil
	}
	preset := j.Preset
	if preset == "" {
		preset = models.PresetTiny
	}
	cfg, err := models.NewConfig(preset, tk.VocabSize())
	if err != nil {
		return nil, err
	}
	if j.Config != nil {
		c := *j.Config
		c.VocabSize = tk.VocabSize()
		cfg = &c
	}
	cfg.BM25Weight = max(j.BM25Weight, 0)
	return models.New(models.KindColBERT, cfg, dim, j.Seed)
}
