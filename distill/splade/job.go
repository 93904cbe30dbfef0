package splade

import (
	"cmp"
	"errors"
	"fmt"
	"os"
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

// Job is the SPLADE phase for one collection: choose the tokenizer (normally the teacher's),
// create (or import) the student, distil the answer key into it (Train), export it as a Hugging
// Face BertForMaskedLM folder (OutDir/model), encode the corpus into an inverted index
// (OutDir/index.splade), retrieve the collection's evaluation queries and write OutDir/splade.json
// (a Report). Re-running it resumes training from OutDir's checkpoints.
type Job struct {
	// Setup is the data, backend, output folder, model and tokenizer sources and seed (OutDir
	// receives checkpoints/, metrics.jsonl, model/, index.splade, run.trec and splade.json). Init may
	// be a BertForMaskedLM or any BERT (e.g. the teacher: the MLM head's transform then starts
	// fresh); the tokenizer is normally the teacher's.
	train.Setup
	// Key is the answer key (datasets.LoadAnswerKey).
	Key []datasets.ScoredPair
	// MLMSteps > 0 first pre-trains a from-scratch student (no Init) with masked-language modelling
	// on the corpus and training queries for that many steps (train.MLMWarmup, in OutDir/mlm), so that its
	// MLM head starts out lexical — the start SPLADE gets from a pre-trained BERT.
	MLMSteps int
	// LexicalInit starts a from-scratch student (no Init) as a bag of words (models.LexicalInit):
	// every token activates its own vocabulary entry, with the decoder bias at −LexicalThreshold
	// [models.DefaultLexicalThreshold]. Without it, a random MLM head's vectors are dense noise.
	// Such a student learns its decoder bias DefaultTermBiasLR times faster than the rest, unless
	// Train.Optimizer's LRMultipliers names models.SpladeTermBias itself. With Init, LexicalInit
	// starts only the MLM head so (models.LexicalHeadInit), and only when the checkpoint has no
	// trained head of its own (a BertModel or a cross-encoder; a BertForMaskedLM or SPLADE model keeps its head).
	LexicalInit      bool
	LexicalThreshold float64
	// Train configures the distillation; its Model, Tokenizer, Backend, Seed and OutDir are filled in.
	Train Options
	// Index configures the inverted index.
	Index IndexOptions
	// Search configures the retrieval of the evaluation queries.
	Search SearchOptions
	// Depth is the number of documents retrieved per query [1000].
	Depth int
	// ZeroShot skips training: the job indexes and evaluates the student as it starts (Init with a
	// fresh MLM transform and bias, or the bag-of-words start), the row that shows what
	// distillation adds.
	ZeroShot bool
}

// Report is splade.json: the student's effectiveness and efficiency on the collection's
// evaluation queries, with BM25 beside it.
type Report struct {
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
	Loss         string             `json:"loss"`
	Steps        int                `json:"steps"`
	TrainPairs   int                `json:"train_pairs"`
	TrainSecs    float64            `json:"train_s"`
	FinalParts   map[string]float64 `json:"final_parts,omitempty"`
	// Warning holds a SparsityError's message when the guards were off and the model is collapsed
	// or dense.
	Warning string `json:"warning,omitempty"`
}

// Run executes the job and returns the trained student (as an encoder) and the report; the index is
// in OutDir/index.splade (LoadIndex).
// With the guards on (the default) a collapsed or dense student stops the job with a *SparsityError.
func (j *Job) Run() (*Encoder, *Report, error) {
	col := j.Collection
	if col == nil {
		return nil, nil, errors.New("splade: no collection")
	}
	if err := os.MkdirAll(j.OutDir, 0o755); err != nil {
		return nil, nil, err
	}
	tk, err := j.ChooseTokenizer()
	if err != nil {
		return nil, nil, err
	}
	m, err := j.model(tk)
	if err != nil {
		return nil, nil, err
	}
	opts := j.Train
	switch threshold := cmp.Or(j.LexicalThreshold, models.DefaultLexicalThreshold); {
	case j.LexicalInit && j.Init == "":
		if err := models.LexicalInit(m, j.Backend, threshold); err != nil {
			return nil, nil, err
		}
		opts = withTermBiasLR(opts)
	case j.LexicalInit:
		if hasTrainedMLMHead(m) {
			if !j.Train.Quiet {
				fmt.Fprintf(os.Stderr, "splade: %s has a trained MLM head; the student keeps it (no lexical head start)\n", j.Init)
			}
			break
		}
		if err := models.LexicalHeadInit(m, j.Backend, threshold); err != nil {
			return nil, nil, err
		}
	}
	if j.MLMSteps > 0 && j.Init == "" {
		if err := j.mlmWarmup(m, tk); err != nil {
			return nil, nil, err
		}
	}
	opts.Model, opts.Tokenizer, opts.Backend, opts.Seed, opts.OutDir = m, tk, j.Backend, j.Seed, j.OutDir
	texts := score.Texts(col.Docs)
	start := time.Now()
	var res *train.Result
	var trainErr error
	if !j.ZeroShot {
		res, trainErr = Train(j.Key, negatives.TrainingQueries(col), texts, opts)
	}
	var sparsity *SparsityError
	if trainErr != nil && !(errors.As(trainErr, &sparsity) && opts.Guard.Off) {
		return nil, nil, trainErr
	}
	trainSecs := time.Since(start).Seconds()
	enc := &Encoder{Model: m, Tokenizer: tk, Backend: j.Backend, Quiet: opts.Quiet}
	if err := Export(filepath.Join(j.OutDir, "model"), enc, train.OrDefault(opts.DocMaxLen, tokenizer.DocMaxLen)); err != nil {
		return nil, nil, err
	}
	start = time.Now()
	ids := make([]string, len(col.Docs))
	docTexts := make([]string, len(col.Docs))
	for i, d := range col.Docs {
		ids[i], docTexts[i] = d.ID, texts[d.ID]
	}
	vecs, err := enc.Encode(docTexts, train.OrDefault(opts.DocMaxLen, tokenizer.DocMaxLen), "documents")
	if err != nil {
		return nil, nil, err
	}
	encodeSecs := time.Since(start).Seconds()
	start = time.Now()
	ix, err := BuildIndex(ids, vecs, m.Config.VocabSize, j.Index)
	if err != nil {
		return nil, nil, err
	}
	indexSecs := time.Since(start).Seconds()
	if err := ix.Save(filepath.Join(j.OutDir, "index.splade")); err != nil {
		return nil, nil, err
	}
	search := j.Search
	search.QueryMaxLen = cmp.Or(search.QueryMaxLen, opts.QueryMaxLen)
	depth := train.OrDefault(j.Depth, 1000)
	run, st, err := Search(enc, ix, col.Queries, depth, search)
	if err != nil {
		return nil, nil, err
	}
	if err := train.WriteRun(filepath.Join(j.OutDir, "run.trec"), run, "splade", depth); err != nil {
		return nil, nil, err
	}
	measures, err := eval.Means(col.Qrels, run)
	if err != nil && spladeRetrievedNothing(run) {
		// A collapsed student (the guards off) finds no document for any query: it scores 0.
		measures, err = map[string]float64{}, nil
		for _, m := range eval.DefaultMeasures() {
			measures[m.String()] = 0
		}
	}
	if err != nil {
		return nil, nil, err
	}
	bix, err := bm25.Build(col.Docs, bm25.Config{})
	if err != nil {
		return nil, nil, err
	}
	bmMeasures, err := eval.Means(col.Qrels, score.RunFromHits(bix.SearchBatch(col.Queries, depth)))
	if err != nil {
		return nil, nil, err
	}
	raw := 0
	for _, v := range vecs {
		raw += v.Len()
	}
	rep := &Report{
		Dataset: col.Name, Queries: len(col.Queries), Measures: measures, BM25: bmMeasures,
		AvgDocActive: ix.AvgDocTerms(), AvgDocActiveRaw: float64(raw) / float64(max(1, len(vecs))),
		AvgQueryActive: st.AvgQueryTerms, FLOPS: st.FLOPS,
		QueryMs: st.MedianMs, QueryP95Ms: st.P95Ms, QueryEncodeMs: st.EncodeMs,
		Documents: ix.Len(), Postings: ix.Postings(), IndexBits: ix.Bits(), EncodeSecs: encodeSecs, IndexSecs: indexSecs,
		LambdaQ: opts.LambdaQ, LambdaD: opts.LambdaD, Regularizer: cmp.Or(opts.Regularizer, RegFLOPS),
		Standardized: opts.Standardize, Loss: cmp.Or(opts.Loss, LossMSE), TrainPairs: len(j.Key), TrainSecs: trainSecs,
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
	if err := train.WriteReport(filepath.Join(j.OutDir, "splade.json"), rep); err != nil {
		return nil, nil, err
	}
	return enc, rep, nil
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

// mlmWarmup pre-trains a copy of the fresh student m with masked-language modelling on the corpus
// and the training queries, then copies every parameter into m (m's own step counter and optimizer
// state stay fresh for the distillation).
func (j *Job) mlmWarmup(m *models.Model, tk tokenizer.Tokenizer) error {
	warm, err := models.New(models.KindSPLADE, m.Config, 0, j.Seed)
	if err != nil {
		return err
	}
	texts := train.CorpusTexts(j.Collection)
	pairs := make([][2]string, len(texts))
	for i, t := range texts {
		pairs[i] = [2]string{t, ""}
	}
	if _, err := train.MLMWarmup(pairs, train.MLMOptions{Model: warm, Tokenizer: tk, Backend: j.Backend, Steps: j.MLMSteps,
		MaxLen: train.OrDefault(j.Train.DocMaxLen, tokenizer.DocMaxLen), Seed: j.Seed, OutDir: filepath.Join(j.OutDir, "mlm"),
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

// hasTrainedMLMHead reports whether an imported student brought its MLM head (transform and decoder
// bias) from the checkpoint, as a BertForMaskedLM or a SPLADE model does and a BertModel does not.
func hasTrainedMLMHead(m *models.Model) bool {
	return !slices.Contains(m.Fresh, models.SpladeTermBias) && !slices.Contains(m.Fresh, "cls.predictions.transform.dense.weight")
}

// model creates or imports the student.
func (j *Job) model(tk tokenizer.Tokenizer) (*models.Model, error) {
	return j.NewModel("splade", models.KindSPLADE, 0, tk, j.Train.Quiet, nil)
}
