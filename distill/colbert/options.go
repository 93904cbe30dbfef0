package colbert

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

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

// Student losses of Train.
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

// Schedules of the multi-task weights (Options.AuxSchedule).
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

// Names of the held-out measures Train logs in metrics.jsonl's "eval".
const (
	// MetricMarginPearson is eval.Pearson's r between student and teacher margins of held-out pairs.
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

// Options configure Train. Zero values take the defaults in brackets.
type Options struct {
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
	Teacher score.Scorer
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
	// Config.BM25Weight > 0, Job.BM25Weight) needs it: its score of a pair is MaxSim plus
	// that weight times the pair's BM25 score, in training and in every evaluation.
	BM25 *bm25.Index
	// EncodeBatch is the number of texts per forward pass when evaluating [score.DefaultBatchSize].
	EncodeBatch int
	// Quiet hides the progress bar.
	Quiet bool
}

// withDefaults validates the options and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
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
		return o, fmt.Errorf("colbert: the student adds %g × BM25 to its scores (mimicry_bm25_weight) but has no BM25 index (Options.BM25)", w)
	}
	if o.Steps <= 0 {
		return o, fmt.Errorf("colbert: number of steps must be positive, got %d", o.Steps)
	}
	o.QueriesPerBatch = train.OrDefault(o.QueriesPerBatch, 16)
	if o.Pairing == "" {
		o.Pairing = PairingPositiveVsNegative
	}
	switch o.Pairing {
	case PairingPositiveVsNegative, PairingRandomPairs:
		o.Negatives = 1
	case PairingNWay:
		o.Negatives = train.OrDefault(o.Negatives, 4)
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
	o.RefreshDepth = train.OrDefault(o.RefreshDepth, 10)
	switch o.AuxSchedule {
	case "":
		o.AuxSchedule = ScheduleConstant
	case ScheduleConstant, ScheduleLinearDecay:
	default:
		return o, fmt.Errorf("colbert: unknown schedule %q (want %q or %q)", o.AuxSchedule, ScheduleConstant, ScheduleLinearDecay)
	}
	o.QueryLen = train.OrDefault(o.QueryLen, tokenizer.QueryMaxLen)
	o.DocLen = train.OrDefault(o.DocLen, tokenizer.DocMaxLen)
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
	o.HeldOutQueries = train.OrDefault(o.HeldOutQueries, 64)
	o.HeldOutPairs = train.OrDefault(o.HeldOutPairs, 1000)
	o.CheckpointEvery = train.OrDefault(o.CheckpointEvery, 100)
	return o, nil
}
