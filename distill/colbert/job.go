package colbert

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Job is the ColBERT phase for one collection and answer key: train the student by
// Train (positives: negatives.TrainingPositives; key rows of evaluation queries are dropped, so
// nothing is trained on the test queries), export it as a Hugging Face folder (OutDir/model), encode
// the corpus into OutDir/index.colbert, retrieve for the evaluation queries — MaxSim reranking of
// BM25's top RerankDepth and, for corpora up to ExhaustiveMaxDocs, exhaustive MaxSim — and write
// the runs and OutDir/colbert.json comparing them with BM25. Re-running it resumes from OutDir's
// checkpoints.
type Job struct {
	// Setup is the data, backend, output folder, model and tokenizer sources and seed (OutDir
	// receives checkpoints/, metrics.jsonl, model/, index.colbert, the runs and colbert.json). Init
	// may be a BERT, a ColBERT or a cross-encoder (its encoder); the tokenizer is normally the
	// teacher's.
	train.Setup
	// Key is the answer key.
	Key []datasets.ScoredPair
	// KeyMeta is the key's provenance (for the report; may be nil).
	KeyMeta *datasets.AnswerKeyMeta
	// Dim is the width of the token embeddings [models.DefaultColBERTDim, or Init's].
	Dim int
	// Train configures the training; Model, Tokenizer, Backend, Seed and OutDir are filled in.
	Train Options
	// Recipe is one of Recipes [RecipeOffline]; it sets Train's loss options (ApplyRecipe).
	Recipe string
	// Teacher is RecipeOnline's teacher, run on every training batch (e.g. a teacher.CrossEncoder).
	Teacher score.Scorer
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
	// ZeroShot skips training: the job indexes and evaluates the student as it starts (Init with a
	// fresh projection, or a fresh model), the row that shows what distillation adds.
	ZeroShot bool
	// ProjectionStart is how a fresh projection on Init's body starts: ProjectionRandom [default]
	// or ProjectionPCA (PCAProjection over the collection's passages). A checkpoint that has its own
	// projection (a ColBERT model) keeps it; ProjectionPCA is then an error.
	ProjectionStart string
}

// Report is colbert.json: the student's training and its effectiveness against BM25.
type Report struct {
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
	SelfTeacher *Report `json:"self_teacher,omitempty"`
	SelfSecs    float64 `json:"self_teacher_s,omitempty"`
}

// Run executes the job and returns the trained student (as an encoder) and the report.
func (j *Job) Run() (*Encoder, *Report, error) {
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
	tk, err := j.ChooseTokenizer()
	if err != nil {
		return nil, nil, err
	}
	m, err := j.model(tk)
	if err != nil {
		return nil, nil, err
	}
	if err := j.startProjection(m, tk); err != nil {
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
		if ce, ok := j.Teacher.(*teacher.CrossEncoder); ok {
			if err := ce.UseCollection(col); err != nil {
				return nil, nil, err
			}
		}
		online = &countingScorer{Scorer: j.Teacher}
		opts.Teacher = online
	}
	var selfRep *Report
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
	texts := score.Texts(col.Docs)
	start := time.Now()
	res := &train.Result{}
	if !j.ZeroShot {
		if res, err = Train(key, negatives.TrainingPositives(col), negatives.TrainingQueries(col), texts, opts); err != nil {
			return nil, nil, err
		}
	}
	rep := &Report{
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
	enc := &Encoder{Model: m, Tokenizer: tk, Backend: j.Backend, QueryLen: opts.QueryLen, DocLen: opts.DocLen,
		AttendExpansion: opts.AttendExpansion, BatchSize: opts.EncodeBatch, Quiet: opts.Quiet, Label: "colbert", BM25: ix}
	if err := Export(filepath.Join(j.OutDir, "model"), enc); err != nil {
		return nil, nil, err
	}

	start = time.Now()
	cix, err := BuildIndex(enc, col.Docs)
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

	depth := train.OrDefault(j.Depth, 1000)
	k := train.OrDefault(j.RerankDepth, 100)
	rep.RerankDepth = k
	if rep.BM25, err = eval.Means(col.Qrels, score.RunFromHits(ix.SearchBatch(col.Queries, depth))); err != nil {
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
	cands := score.Candidates(ix, col.Queries, k)
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
		if rep.MaxSimRerank, err = eval.Means(col.Qrels, maxsim); err != nil {
			return nil, nil, fmt.Errorf("colbert job: reranking by MaxSim alone: %w", err)
		}
	}
	if rep.ColBERTRerank, err = eval.Means(col.Qrels, rerank); err != nil {
		return nil, nil, fmt.Errorf("colbert job: reranking: %w", err)
	}
	if err := train.WriteRun(filepath.Join(j.OutDir, "run.colbert-rerank.trec"), rerank, "mimicry-colbert-rerank", depth); err != nil {
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
		if rep.ColBERT, err = eval.Means(col.Qrels, full); err != nil {
			return nil, nil, fmt.Errorf("colbert job: exhaustive search: %w", err)
		}
		if err := train.WriteRun(filepath.Join(j.OutDir, "run.colbert.trec"), full, "mimicry-colbert", depth); err != nil {
			return nil, nil, err
		}
	}
	if err := train.WriteReport(filepath.Join(j.OutDir, "colbert.json"), rep); err != nil {
		return nil, nil, err
	}
	return enc, rep, nil
}

// startProjection applies ProjectionStart to the student's fresh projection.
func (j *Job) startProjection(m *models.Model, tk tokenizer.Tokenizer) error {
	switch j.ProjectionStart {
	case "", ProjectionRandom:
		return nil
	case ProjectionPCA:
	default:
		return fmt.Errorf("colbert job: projection start %q: want one of %s", j.ProjectionStart, strings.Join(ProjectionStarts, ", "))
	}
	if j.Init == "" {
		return errors.New("colbert job: a PCA projection start needs a pretrained body to measure (--init)")
	}
	if !slices.Contains(m.Fresh, "linear.weight") {
		return fmt.Errorf("colbert job: %s has its own projection (linear.weight); a PCA start replaces only a fresh one", j.Init)
	}
	if models.HasCheckpoint(train.CheckpointDir(j.OutDir)) {
		return nil // The run resumes: its checkpoint holds the projection, trained from this start.
	}
	docLen := train.OrDefault(j.Train.DocLen, tokenizer.DocMaxLen)
	passages := make([]string, len(j.Collection.Docs))
	for i, d := range j.Collection.Docs {
		passages[i] = bm25.Contents(d)
	}
	w, err := PCAProjection(m, tk, j.Backend, passages, docLen, m.ColBERTDim, j.Seed)
	if err != nil {
		return fmt.Errorf("colbert job: %w", err)
	}
	return m.SetParam("linear.weight", w)
}

// model creates or imports the student; a positive BM25Weight makes it residual.
func (j *Job) model(tk tokenizer.Tokenizer) (*models.Model, error) {
	return j.NewModel("colbert job", models.KindColBERT, j.Dim, tk, j.Train.Quiet, func(cfg *models.Config) {
		if j.BM25Weight > 0 {
			cfg.BM25Weight = j.BM25Weight
		}
	})
}
