package pipeline

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/annotate"
	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Runner carries one run's state between stages.
type Runner struct {
	cfg     Config
	col     *datasets.Collection
	set     *negatives.TrainingSet
	seconds map[string]float64
	done    map[string]bool
	// earlierSeconds sums the recorded times of the stages finished by earlier processes.
	earlierSeconds float64
	key            []datasets.ScoredPair
	keyMeta        *datasets.AnswerKeyMeta
	tk             tokenizer.Tokenizer
}

// Run executes the pipeline and returns the report it wrote (also in OutDir/report.json).
func Run(cfg Config) (*report.Report, error) {
	start := time.Now()
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	rep, err := r.Report()
	if err != nil {
		return nil, err
	}
	// A resumed run counts the stages that earlier processes finished at the time they took.
	rep.Timings.TotalSeconds = time.Since(start).Seconds() + r.earlierSeconds
	if err := report.Write(r.cfg.OutDir, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// New prepares a run: it loads the collection, picks the backend and records the settings in
// OutDir (refusing a folder that holds a run with other settings). Its stage methods — TrainingSet,
// Teacher, AnswerKey, ColBERT, Splade, SpladeSweep, Report — each run their stage once and return its
// record, from OutDir/stages/ when a previous call or process finished it: a notebook calls them one
// cell at a time.
func New(cfg Config) (*Runner, error) {
	cfg = cfg.withDefaults()
	col := cfg.Collection
	if col == nil {
		var err error
		if col, err = datasets.Load(cfg.Data); err != nil {
			return nil, err
		}
	}
	if len(col.Queries) == 0 || len(col.Qrels) == 0 {
		return nil, fmt.Errorf("pipeline: %s has no evaluation queries with judgements", col.Name)
	}
	if cfg.Backend == nil {
		be, err := backend.Default()
		if err != nil {
			return nil, err
		}
		cfg.Backend = be
	}
	if err := cfg.checkSettings(); err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, col: col, seconds: map[string]float64{}, done: map[string]bool{}}, nil
}

// Collection is the run's collection.
func (r *Runner) Collection() *datasets.Collection { return r.col }

// Config is the run's configuration, defaults filled in.
func (r *Runner) Config() Config { return r.cfg }

// Dir returns a path under the run's OutDir (e.g. Dir("teacher", "model")).
func (r *Runner) Dir(parts ...string) string { return r.dir(parts...) }

// dir returns a path under OutDir.
func (r *Runner) dir(parts ...string) string {
	return filepath.Join(append([]string{r.cfg.OutDir}, parts...)...)
}

// TrainingData returns the hard-negative training set (query, positives, negatives groups and the
// passages' texts) that the teacher trains on and whose candidates are annotated.
func (r *Runner) TrainingData() (*negatives.TrainingSet, error) { return r.trainingSet() }

// trainingSet builds the hard-negative training set exactly as the teacher job does.
func (r *Runner) trainingSet() (*negatives.TrainingSet, error) {
	if r.set != nil {
		return r.set, nil
	}
	set, err := teacher.TrainingSet(r.col, 50, r.cfg.Scale.TeacherNegatives, r.cfg.Scale.DevFraction, r.cfg.Seed)
	if err != nil {
		return nil, err
	}
	r.set = set
	return set, nil
}

// annotatedGroups are the training groups whose candidates the teacher annotates.
func (r *Runner) annotatedGroups(set *negatives.TrainingSet) []negatives.TrainGroup {
	groups := set.Train
	if n := r.cfg.Scale.AnnotateQueries; n > 0 && n < len(groups) {
		groups = groups[:n]
	}
	return groups
}

// modelConfig is the preset's configuration for the tokenizer's vocabulary and the scale's lengths
// (nil for a run from a pretrained checkpoint, whose shape is its own).
func (r *Runner) modelConfig(tk tokenizer.Tokenizer) (*models.Config, error) {
	if r.cfg.Init != "" {
		return nil, nil // the pretrained checkpoint's own shape
	}
	cfg, err := train.PresetConfig(r.cfg.Preset, r.cfg.Model, tk.VocabSize())
	if err != nil {
		return nil, err
	}
	cfg.MaxPositionEmbeddings = max(r.cfg.Scale.MaxLen, r.cfg.Scale.DocLen, r.cfg.Scale.QueryLen)
	return cfg, nil
}

// TrainingSet runs (or recalls) stage 1: the hard-negative training set.
func (r *Runner) TrainingSet() (*TrainingSetStage, error) {
	ts := &TrainingSetStage{}
	err := r.stage(StageTrainingSet, ts, func() error {
		set, err := r.trainingSet()
		if err != nil {
			return err
		}
		*ts = TrainingSetStage{Source: set.Source, TrainGroups: len(set.Train), DevGroups: len(set.Dev),
			AnnotatedQueries: len(r.annotatedGroups(set))}
		return nil
	})
	return ts, err
}

// Teacher runs (or recalls) stage 2: fine-tune the cross-encoder, export it to Dir("teacher",
// "model") and evaluate it reranking BM25's top RerankDepth.
func (r *Runner) Teacher() (*TeacherStage, error) {
	cfg, sc := r.cfg, r.cfg.Scale
	teach := &TeacherStage{}
	err := r.stage(StageTeacher, teach, func() error {
		modelCfg := (*models.Config)(nil)
		if cfg.Init != "" {
			// A pretrained body: its own shape and tokenizer.
		} else if cfg.Model != nil {
			c := *cfg.Model
			c.MaxPositionEmbeddings = sc.MaxLen
			modelCfg = &c
		} else if cfg.Preset == models.PresetTiny || cfg.Preset == models.PresetSmall {
			c, err := models.NewConfig(cfg.Preset, 1) // the job sets the tokenizer's vocabulary size
			if err != nil {
				return err
			}
			c.MaxPositionEmbeddings = sc.MaxLen
			modelCfg = c
		}
		if modelCfg != nil && cfg.Model == nil && cfg.Init == "" {
			if err := modelCfg.Resize(sc.TeacherHidden, 0); err != nil {
				return err
			}
			if sc.TeacherNoDropout {
				modelCfg.HiddenDropoutProb, modelCfg.AttentionProbsDropoutProb = 0, 0
			}
		}
		job := &teacher.Job{
			Setup: train.Setup{Collection: r.col, Backend: cfg.Backend, OutDir: r.dir(StageTeacher), Preset: cfg.Preset, Config: modelCfg,
				Init: cfg.Init, Vocab: sc.Vocab, Seed: cfg.Seed},
			RerankDepth: sc.RerankDepth, DevFraction: sc.DevFraction,
			MarkExactMatches: sc.TeacherMarks, MarkRareDF: teacher.DefaultMarkRareDF, BM25Residual: sc.TeacherResidual,
			DenseResidual: sc.TeacherDense && cfg.Init != "",
			Train: teacher.Options{
				Steps: sc.TeacherSteps, QueriesPerBatch: sc.TeacherQueries, Negatives: sc.TeacherNegatives, MaxLen: sc.MaxLen,
				EvalEvery: sc.TeacherEvalEvery, Quiet: cfg.Quiet, OnLog: cfg.OnLog,
				Optimizer: &train.Optimizer{LearningRate: sc.TeacherLR, WarmupSteps: sc.TeacherSteps / 10, WeightDecay: 0.01, ClipNorm: 1},
			},
		}
		if sc.TeacherEvalEvery > 0 {
			job.Train.SelectBy = "nDCG@10"
		}
		scorer, rep, err := job.Run()
		if err != nil {
			return err
		}
		tk := scorer.Tokenizer
		teach.Report = rep
		set, err := r.trainingSet()
		if err != nil {
			return err
		}
		if rep.TrainSecs > 0 {
			teach.TokensPerSecond = r.pairTokensPerStep(set, tk) * float64(rep.Steps) / rep.TrainSecs
		}
		return nil
	})
	return teach, err
}

// AnswerKey runs (or recalls) stage 3: the teacher scores the positives and AnnotateNegatives hard
// negatives of the annotated training queries once, into Dir("answer_key.jsonl").
func (r *Runner) AnswerKey() (*AnswerKeyStage, error) {
	if _, err := r.Teacher(); err != nil {
		return nil, err
	}
	cfg, sc := r.cfg, r.cfg.Scale
	key := &AnswerKeyStage{}
	err := r.stage(StageAnswerKey, key, func() error {
		set, err := r.trainingSet()
		if err != nil {
			return err
		}
		ce, info, err := teacher.Load(r.dir(StageTeacher), cfg.Backend, sc.MaxLen, 0)
		if err != nil {
			return err
		}
		if err := ce.UseCollection(r.col); err != nil {
			return err
		}
		var pairs []annotate.Pair
		for _, g := range r.annotatedGroups(set) {
			negs := g.Negatives[:min(len(g.Negatives), sc.AnnotateNegatives)]
			for _, pid := range slices.Concat(g.Positives, negs) {
				pairs = append(pairs, annotate.Pair{QueryID: g.QID, DocID: pid, Query: g.Query, Passage: set.Texts[pid]})
			}
		}
		sum, err := annotate.Run(annotate.Options{
			Teacher: ce, Pairs: annotate.SlicePairs(pairs), Out: r.dir(answerKeyFileName), Quiet: cfg.Quiet,
			Meta: datasets.AnswerKeyMeta{CheckpointSHA256: info.WeightsSHA256, Tokenizer: info.Tokenizer,
				MaxQueryLength: sc.MaxLen, MaxDocLength: sc.MaxLen, Collection: r.col.Name},
		})
		if err != nil {
			return err
		}
		*key = AnswerKeyStage{Path: answerKeyFileName, Pairs: sum.Pairs, PairsPerSecond: sum.PairsPerSecond, Seconds: sum.Seconds}
		return nil
	})
	return key, err
}

// LoadAnswerKey reads the answer key of stage 3 and the teacher's tokenizer (running the stages
// first when needed).
func (r *Runner) LoadAnswerKey() ([]datasets.ScoredPair, *datasets.AnswerKeyMeta, tokenizer.Tokenizer, error) {
	if _, err := r.AnswerKey(); err != nil {
		return nil, nil, nil, err
	}
	if r.key == nil {
		key, meta, err := datasets.LoadAnswerKey(r.dir(answerKeyFileName))
		if err != nil {
			return nil, nil, nil, err
		}
		tk, err := models.LoadHFTokenizer(r.dir(StageTeacher, "model"))
		if err != nil {
			return nil, nil, nil, err
		}
		r.key, r.keyMeta, r.tk = key, meta, tk
	}
	return r.key, r.keyMeta, r.tk, nil
}

// Report runs every stage still to run and assembles the report (without writing it: Run does).
func (r *Runner) Report() (*report.Report, error) {
	ts, err := r.TrainingSet()
	if err != nil {
		return nil, err
	}
	teach, err := r.Teacher()
	if err != nil {
		return nil, err
	}
	key, err := r.AnswerKey()
	if err != nil {
		return nil, err
	}
	colberts := map[string]*ColBERTStage{}
	for _, v := range [][2]string{{StageColBERT, colbert.LossMarginMSE}, {StageColBERTHard, colbert.LossHardLabels}} {
		st, err := r.ColBERT(v[1])
		if err != nil {
			return nil, err
		}
		colberts[v[0]] = st
	}
	splades := map[string]*SpladeStage{}
	for _, dense := range []bool{true, false} {
		st, err := r.Splade(dense)
		if err != nil {
			return nil, err
		}
		name := StageSplade
		if dense {
			name = StageSpladeDense
		}
		splades[name] = st
	}
	var sweep []splade.SweepRow
	if r.cfg.SpladeSweep {
		if sweep, err = r.SpladeSweep(); err != nil {
			return nil, err
		}
	}
	if r.cfg.Frontier {
		for _, recipe := range colbert.Recipes[1:] {
			st, err := r.ColBERTRecipe(recipe)
			if err != nil {
				return nil, err
			}
			colberts[recipeStages[recipe]] = st
		}
	}
	var bi *BiEncoderStage
	if r.cfg.Init != "" {
		if bi, err = r.BiEncoder(); err != nil {
			return nil, err
		}
		if colberts[StageColBERTZeroShot], err = r.ColBERTZeroShot(); err != nil {
			return nil, err
		}
		if splades[StageSpladeZeroShot], err = r.SpladeZeroShot(); err != nil {
			return nil, err
		}
	}
	rep, err := r.assemble(*ts, *teach, *key, colberts, splades, sweep)
	if err != nil {
		return nil, err
	}
	if bi != nil {
		rep.Systems[report.SystemBiEncoder] = bi.Measures
		zc := colberts[StageColBERTZeroShot].Report
		rep.Systems[report.SystemColBERTZeroShot] = zc.ColBERTRerank
		if len(zc.ColBERT) > 0 {
			rep.Systems[report.SystemColBERTZeroShot+report.FullSearchSuffix] = zc.ColBERT
		}
		rep.Systems[report.SystemSpladeZeroShot] = spladeMeasures(splades[StageSpladeZeroShot].Report)
	}
	return rep, nil
}

// pairTokensPerStep estimates the real tokens of one teacher step from a sample of training pairs.
func (r *Runner) pairTokensPerStep(set *negatives.TrainingSet, tk tokenizer.Tokenizer) float64 {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), 7))
	var qs, ps []string
	for range 256 {
		g := set.Train[rng.IntN(len(set.Train))]
		pid := g.Positives[0]
		if len(g.Negatives) > 0 && rng.IntN(2) == 0 {
			pid = g.Negatives[rng.IntN(len(g.Negatives))]
		}
		qs, ps = append(qs, g.Query), append(ps, set.Texts[pid])
	}
	enc, err := tokenizer.EncodePairBatch(tk, qs, ps, r.cfg.Scale.MaxLen)
	if err != nil {
		return 0
	}
	total := 0
	for _, n := range enc.Lengths {
		total += n
	}
	perPair := float64(total) / float64(len(qs))
	return perPair * float64(train.OrDefault(r.cfg.Scale.TeacherQueries, 8)*(1+r.cfg.Scale.TeacherNegatives))
}

// sampleScores scores the pairs of up to n queries of the answer key held out of the student's
// training (datasets.SplitAnswerKey with the job's fraction and seed) with the student.
func (r *Runner) sampleScores(key []datasets.ScoredPair, s score.Scorer, n int) ([]ScoredSample, error) {
	_, held := datasets.SplitAnswerKey(key, 0.1, r.cfg.Seed)
	positives := negatives.TrainingPositives(r.col)
	queries := negatives.TrainingQueries(r.col)
	texts := score.Texts(r.col.Docs)
	var out []ScoredSample
	var qs, ps []string
	seen := map[string]bool{}
	for _, p := range held {
		if !seen[p.QueryID] {
			if len(seen) == n {
				continue
			}
			seen[p.QueryID] = true
		}
		out = append(out, ScoredSample{QueryID: p.QueryID, DocID: p.DocID, Positive: positives[p.QueryID][p.DocID] > 0, Teacher: p.Score})
		qs, ps = append(qs, queries[p.QueryID]), append(ps, texts[p.DocID])
	}
	if len(out) == 0 {
		return nil, nil
	}
	scores, err := s.Score(qs, ps)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Student = scores[i]
	}
	return out, nil
}

// exampleTerms records the top expanded terms of the first judged-relevant document of the first
// evaluation query, the document the report shows.
func (r *Runner) exampleTerms(st *SpladeStage, enc *splade.Encoder, maxLen int) error {
	q := r.col.Queries[0]
	var doc string
	best := 0
	for pid, rel := range r.col.Qrels[q.ID] {
		if rel > best || (rel == best && pid < doc) {
			doc, best = pid, rel
		}
	}
	texts := score.Texts(r.col.Docs)
	text, ok := texts[doc]
	if !ok {
		return errors.New("the example document is not in the corpus")
	}
	vecs, err := enc.Encode([]string{text}, maxLen, "example")
	if err != nil {
		return err
	}
	st.ExampleDoc, st.ExampleText = doc, text
	st.ExampleTerms = splade.TopTerms(vecs[0], enc.Tokenizer, 20)
	return nil
}
