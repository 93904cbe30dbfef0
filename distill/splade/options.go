package splade

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// SPLADE sparsity regularisers.
const (
	// LossMSE is Train's score-MSE, up to one constant per batch.
	LossMSE = "mse"
	// LossMarginMSE is Margin-MSE over each query's passages (losses.MarginMSEMulti).
	LossMarginMSE = "margin-mse"
	// RegFLOPS is losses.FLOPS, SPLADE's default: Σ_j (mean_i w_ij)².
	RegFLOPS = "flops"
	// RegL1 is L1: the mean L1 norm of the vectors.
	RegL1 = "l1"
)

// Default sparsity weights of Train (see Options.LambdaQ and LambdaD), chosen on the
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

// Options configure Train. Zero values take the defaults in brackets, except the
// sparsity weights, whose zero means no penalty (use DefaultLambdaQ and DefaultLambdaD).
type Options struct {
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
	// instead of the raw scores (see Train).
	Standardize bool
	// Loss is the distillation term: LossMSE [default], the score-MSE of Train, or LossMarginMSE,
	// the Margin-MSE of each query's first passage against its others (losses.MarginMSEMulti), as
	// sentence-transformers' SparseMarginMSELoss and naver-splade's DistilMarginMSE train.
	Loss string
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
	Guard Guard
	// EvalEvery calls Eval every so many steps (0: never).
	EvalEvery int
	// Eval evaluates the student during training.
	Eval func(step int) (map[string]float64, error)
	// OnLog receives each logged record (live plots).
	OnLog func(train.Record)
	// Quiet hides the progress bar.
	Quiet bool
}

// Guard configures the checks against SPLADE's two failure modes, made on every logged record
// from the step After on: collapse — the vectors of queries or documents are (almost) all zero, so
// most scores are 0 and nothing can be ranked (λ too high) — and density — (almost) every vocabulary
// term is active, so the inverted index degenerates into a dense scan (λ too low). Density is only
// checked for a side whose λ is positive: with λ = 0 a dense model is what was asked for.
type Guard struct {
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

// SparsityError is the error of a tripped Guard.
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
func (g Guard) check(rec train.Record, vocab int, lambdaQ, lambdaD float64, reg string) *SparsityError {
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
// Train does on its logs: nil when the model is neither collapsed nor dense.
func (g Guard) CheckSparsity(queryActive, docActive float64, vocab int, lambdaQ, lambdaD float64, reg string, step int) error {
	g = g.withDefaults(0, 0)
	g.Off, g.After = false, 0
	rec := train.Record{Step: step, Parts: map[string]float64{PartQueryActive: queryActive, PartDocActive: docActive}}
	if e := g.check(rec, vocab, lambdaQ, lambdaD, reg); e != nil {
		return e
	}
	return nil
}

// withDefaults fills in the guard's zero values.
func (g Guard) withDefaults(warmup, logEvery int) Guard {
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
