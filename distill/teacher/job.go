package teacher

import (
	"errors"
	"path/filepath"
	"slices"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Job is the whole first phase for one collection: build the hard-negative training set,
// choose the tokenizer, create (or import) the cross-encoder, fine-tune it with periodic
// evaluation on the dev groups, export it as a Hugging Face folder (OutDir/model) and measure it
// as a reranker of BM25's top RerankDepth against BM25 on the collection's evaluation queries
// (OutDir/teacher.json). Re-running it resumes from OutDir's checkpoints.
type Job struct {
	// Setup is the data, backend, output folder, model and tokenizer sources and seed (OutDir
	// receives checkpoints/, metrics.jsonl, model/ and teacher.json). Without Init the tokenizer is a
	// vocabulary of Vocab tokens trained on the corpus, or bert-base-uncased's.
	train.Setup
	// MarkExactMatches trains (and records in the model's configuration) a cross-encoder that reads
	// its pairs with shared words marked ([MarkExactMatches]).
	MarkExactMatches bool
	// MarkRareDF, with MarkExactMatches, marks the shared words rarer than this document fraction
	// with their own marker ([MarkMatches], models.Config.MarkRareDF); 0: one marker.
	MarkRareDF float64
	// BM25Residual trains a residual cross-encoder: its score is its logit plus w·BM25, with w fitted
	// on the training queries' BM25 top RerankDepth before training ([FitBM25Weight]) and recorded in the model's
	// configuration (models.Config.BM25Weight). Ignored when the initial model already has a weight.
	BM25Residual bool
	// DenseResidual adds a second residual term (models.Config.DenseWeight): the cosine similarity
	// of query and passage under Init as a frozen bi-encoder (a sentence-transformers checkpoint),
	// its weight fitted with BM25's ([FitResidualWeights]). It needs Init.
	DenseResidual bool
	// Depth is the BM25 depth from which hard negatives are mined [50].
	Depth int
	// DevFraction of the training queries are held out as dev groups [DefaultDevFraction].
	DevFraction float64
	// Train configures the fine-tuning; its Model, Tokenizer and Backend are filled in by Run.
	Train Options
	// RerankDepth is the number of BM25 candidates the final evaluation reranks [100].
	RerankDepth int
}

// Report is teacher.json: the effectiveness of BM25 and of the teacher reranking it.
type Report struct {
	// Dataset names the collection.
	Dataset string `json:"dataset"`
	// Queries is the number of evaluation queries.
	Queries int `json:"queries"`
	// RerankDepth is the number of BM25 candidates the teacher reranked.
	RerankDepth int `json:"rerank_depth"`
	// BM25 and Teacher map measure names (nDCG@10, RR@10, R@100, AP) to their means.
	BM25    map[string]float64 `json:"bm25"`
	Teacher map[string]float64 `json:"teacher"`
	// GainNDCG10 is the teacher's mean nDCG@10 minus BM25's over the evaluation queries, and
	// GainP its two-sided p-value by Fisher's paired randomisation test (10,000 trials,
	// eval.PairedRandomization).
	GainNDCG10 float64 `json:"gain_ndcg10"`
	GainP      float64 `json:"gain_p"`
	// BM25Weight is the residual model's weight of BM25 (absent for a plain cross-encoder), and
	// Network the measures of its network alone (the teacher's scores minus its residual terms).
	BM25Weight float64 `json:"bm25_weight,omitempty"`
	// DenseWeight is the weight of the dense residual term (the cosine under DenseModel), and
	// Residual the measures of the residual terms alone, without the network: the first-stage
	// hybrid the network learns to correct.
	DenseWeight float64            `json:"dense_weight,omitempty"`
	DenseModel  string             `json:"dense_model,omitempty"`
	Residual    map[string]float64 `json:"residual,omitempty"`
	Network     map[string]float64 `json:"network,omitempty"`
	// TrainGroups is the number of training groups (queries with positives and hard negatives).
	TrainGroups int `json:"train_groups"`
	// Steps is the number of optimisation steps.
	Steps int `json:"steps"`
	// BestStep is the step whose weights the teacher kept when training selected the best dev
	// evaluation (Options.SelectBy); absent otherwise.
	BestStep int `json:"best_step,omitempty"`
	// BestDev holds that step's dev-group measures.
	BestDev map[string]float64 `json:"best_dev,omitempty"`
	// TrainSecs is the wall time of the fine-tuning in this process.
	TrainSecs float64 `json:"train_s"`
}

// DefaultDevFraction is the fraction of the training queries held out as dev groups [TrainingSet].
const DefaultDevFraction = 0.05

// TrainingSet builds the teacher's training groups from a collection: each training query (or
// weak-supervision pseudo-query) with its positives and hard negatives mined from BM25's top depth
// [50] — at least 16 of them, and twice the n [7] a training step uses — with devFraction
// [DefaultDevFraction] of the groups held out as dev groups, on which settings are chosen.
func TrainingSet(col *datasets.Collection, depth, n int, devFraction float64, seed int64) (*negatives.TrainingSet, error) {
	n = train.OrDefault(n, 7)
	if devFraction <= 0 {
		devFraction = DefaultDevFraction
	}
	return negatives.Build(col, negatives.Options{
		Mine:        negatives.MineConfig{Depth: train.OrDefault(depth, 50), Count: max(2*n, 16), Seed: seed},
		DevFraction: devFraction,
	})
}

// Run executes the job and returns the trained teacher (as a scorer of the collection) and the report.
func (j *Job) Run() (*CrossEncoder, *Report, error) {
	col := j.Collection
	set, err := TrainingSet(col, j.Depth, j.Train.Negatives, j.DevFraction, j.Seed)
	if err != nil {
		return nil, nil, err
	}
	tk, err := j.ChooseTokenizer()
	if err != nil {
		return nil, nil, err
	}
	ix, err := bm25.Build(col.Docs, bm25.Config{})
	if err != nil {
		return nil, nil, err
	}
	weight, denseWeight := 0.0, 0.0
	var dense *Dense
	switch {
	case j.DenseResidual && j.Init == "":
		return nil, nil, errors.New("teacher job: the dense residual is the cosine under the checkpoint the teacher starts from: it needs Init")
	case j.DenseResidual:
		if dense, err = LoadDense(j.Init, j.Backend, j.Train.MaxLen); err != nil {
			return nil, nil, err
		}
		if err := dense.Warm(docTexts(col)); err != nil {
			return nil, nil, err
		}
		if weight, denseWeight, err = fitResidual(ix, dense, set, train.OrDefault(j.RerankDepth, 100), j.BM25Residual); err != nil {
			return nil, nil, err
		}
	case j.BM25Residual:
		if weight, err = FitBM25Weight(ix, set, train.OrDefault(j.RerankDepth, 100)); err != nil {
			return nil, nil, err
		}
	}
	m, err := j.model(tk, weight)
	if err != nil {
		return nil, nil, err
	}
	if denseWeight > 0 && m.Config.DenseWeight <= 0 {
		m.Config.DenseWeight, m.Config.DenseModel = denseWeight, j.Init
	}
	opts := j.Train
	opts.Model, opts.Tokenizer, opts.Backend, opts.Seed = m, tk, j.Backend, j.Seed
	opts.OutDir, opts.BM25, opts.Dense = j.OutDir, ix, dense
	scorer := &CrossEncoder{Model: m, Tokenizer: tk, Backend: j.Backend, MaxLen: opts.MaxLen, BatchSize: 64, Label: "teacher", BM25: ix, Dense: dense, Progress: !opts.Quiet}
	if opts.Eval == nil && len(set.Dev) > 0 && opts.EvalEvery > 0 {
		opts.Eval = func(int) (map[string]float64, error) { return DevRerank(scorer, set) }
	}
	start := time.Now()
	res, err := Train(set, opts)
	if err != nil {
		return nil, nil, err
	}
	trainSecs := time.Since(start).Seconds()
	if err := models.ExportHF(filepath.Join(j.OutDir, "model"), m, j.Backend, tk); err != nil {
		return nil, nil, err
	}
	k := train.OrDefault(j.RerankDepth, 100)
	bmRun := score.RunFromHits(ix.SearchBatch(col.Queries, k))
	bmMeasures, err := eval.Means(col.Qrels, bmRun)
	if err != nil {
		return nil, nil, err
	}
	cands, texts := score.Candidates(ix, col.Queries, k), score.Texts(col.Docs)
	teacherRun, err := score.Rerank(scorer, col.Queries, cands, texts)
	if err != nil {
		return nil, nil, err
	}
	teacherMeasures, err := eval.Means(col.Qrels, teacherRun)
	if err != nil {
		return nil, nil, err
	}
	gain, gainP, err := eval.PairedGain(col.Qrels, teacherRun, bmRun, j.Seed)
	if err != nil {
		return nil, nil, err
	}
	var network, residualAlone map[string]float64
	if cfg := m.Config; cfg.BM25Weight > 0 || cfg.DenseWeight > 0 {
		// The network's own ranking (the teacher's scores minus the residual terms), and the
		// residual terms' (the first-stage hybrid without the network).
		first, err := score.Rerank(residualScorer{cfg: cfg, ix: ix, dense: dense}, col.Queries, cands, texts)
		if err != nil {
			return nil, nil, err
		}
		alone := eval.Run{}
		for q, docs := range teacherRun {
			alone[q] = map[string]float64{}
			for d, s := range docs {
				alone[q][d] = s - first[q][d]
			}
		}
		if network, err = eval.Means(col.Qrels, alone); err != nil {
			return nil, nil, err
		}
		if residualAlone, err = eval.Means(col.Qrels, first); err != nil {
			return nil, nil, err
		}
	}
	rep := &Report{
		Dataset: col.Name, Queries: len(col.Queries), RerankDepth: k, BM25: bmMeasures, Teacher: teacherMeasures,
		TrainGroups: len(set.Train), Steps: res.Steps, TrainSecs: trainSecs,
		BM25Weight: m.Config.BM25Weight, Network: network, GainNDCG10: gain, GainP: gainP,
		DenseWeight: m.Config.DenseWeight, DenseModel: m.Config.DenseModel, Residual: residualAlone,
	}
	if res.BestStep >= 0 {
		rep.BestStep, rep.BestDev = res.BestStep, res.BestEval
	}
	if err := train.WriteReport(filepath.Join(j.OutDir, "teacher.json"), rep); err != nil {
		return nil, nil, err
	}
	return scorer, rep, nil
}

// model creates or imports the cross-encoder; a positive bm25Weight makes it residual unless the
// imported model already is.
func (j *Job) model(tk tokenizer.Tokenizer, bm25Weight float64) (*models.Model, error) {
	return j.NewModel("teacher", models.KindCrossEncoder, 0, tk, j.Train.Quiet, func(cfg *models.Config) { j.scoring(cfg, bm25Weight) })
}

// scoring records how the teacher reads and scores its pairs — the job's marking and BM25 weight —
// unless the configuration (an imported model's) already has its own.
func (j *Job) scoring(cfg *models.Config, bm25Weight float64) {
	if j.MarkExactMatches && !cfg.MarkExactMatches {
		cfg.MarkExactMatches, cfg.MarkRareDF = true, j.MarkRareDF
	}
	if cfg.BM25Weight <= 0 {
		cfg.BM25Weight = bm25Weight
	}
}

// DevRerank measures a scorer on the training set's dev groups: each group's positives and negatives
// are reranked, positives being the relevant ones.
func DevRerank(s score.Scorer, set *negatives.TrainingSet) (map[string]float64, error) {
	qrels := datasets.Qrels{}
	cands := map[string][]string{}
	var queries []datasets.Query
	for _, g := range set.Dev {
		queries = append(queries, datasets.Query{ID: g.QID, Text: g.Query})
		for _, p := range g.Positives {
			qrels.Add(g.QID, p, 1)
		}
		cands[g.QID] = append(slices.Clone(g.Positives), g.Negatives...)
	}
	run, err := score.Rerank(s, queries, cands, set.Texts)
	if err != nil {
		return nil, err
	}
	res, err := eval.Evaluate(qrels, run, []eval.Measure{{Kind: eval.NDCG, Cutoff: 10}, {Kind: eval.RR, Cutoff: 10}}, eval.Options{})
	if err != nil {
		return nil, err
	}
	return res.Mean, nil
}

// residualScorer scores pairs by a residual cross-encoder's first-stage terms alone.
type residualScorer struct {
	cfg   *models.Config
	ix    *bm25.Index
	dense *Dense
}

// Name implements score.Scorer.
func (r residualScorer) Name() string { return "residual" }

// Score implements score.Scorer.
func (r residualScorer) Score(queries, passages []string) ([]float64, error) {
	return residual(r.cfg, r.ix, r.dense, queries, passages)
}

// docTexts are the texts of the collection's documents, as the models read them.
func docTexts(col *datasets.Collection) []string {
	texts := score.Texts(col.Docs)
	out := make([]string, len(col.Docs))
	for i, d := range col.Docs {
		out[i] = texts[d.ID]
	}
	return out
}
