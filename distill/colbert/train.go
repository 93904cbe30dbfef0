package colbert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
)

// Train distils an answer key into a ColBERT student. key holds the teacher's scores;
// positives are the judged relevant passages of the training queries (relevance > 0; e.g. the
// collection's TrainQrels, or negatives.GroupQrels of a training set) — needed by the pairings with a
// positive, ignored by PairingRandomPairs; queries and texts map query and passage ids to their
// texts (QueryTexts and score.Texts of the collection).
//
// A seeded fraction of the key's queries (datasets.SplitAnswerKey) is held out. Each step takes
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
func Train(key []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string, opts Options) (*train.Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	trainKey, heldKey := datasets.SplitAnswerKey(key, opts.HeldOutFraction, opts.Seed)
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
	enc := &Encoder{Model: opts.Model, Tokenizer: opts.Tokenizer, Backend: opts.Backend, QueryLen: opts.QueryLen,
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
	qMarker, dMarker := opts.Model.ColBERTMarkers()
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
		qin, err := models.ColBERTQueryInputs(tk, qs, opts.QueryLen, opts.AttendExpansion, qMarker)
		if err != nil {
			return nil, err
		}
		din, err := models.ColBERTDocInputs(tk, ps, opts.DocLen, dMarker)
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
			mlm, err := colbertMLMInputs(mlmRng(step), tk, ps, m, opts.DocLen, dMarker)
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
			mlm, acc := losses.MaskedLM(models.TiedMLMLogits(ctx, cfg, hidden), in[mlmIn+2], in[mlmIn+3])
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
func colbertInitialEval(opts Options, evalFn func(int) (map[string]float64, error)) (*train.Record, error) {
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
func colbertDistillLoss(opts Options, scores, t *Node) *Node {
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

// oneHot is a [n] vector with 1 at position i, of the given dtype (a Slice-free way to pick a column:
// SimpleGo has no gradient through Slice).
func oneHot(g *Graph, n, i int, dtype dtypes.DType) *Node {
	return ConvertDType(Equal(Iota(g, shapes.Make(dtypes.Int32, n), 0), Const(g, int32(i))), dtype)
}
