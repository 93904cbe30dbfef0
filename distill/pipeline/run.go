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
	"github.com/mimicry-ir/mimicry/distill"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// stageCount is the number of stages a run announces.
const stageCount = 8

// runner carries one run's state between stages.
type runner struct {
	cfg     Config
	col     *datasets.Collection
	set     *negatives.TrainingSet
	count   int
	seconds map[string]float64
}

// Stage names, which are also the names of the stage records in OutDir/stages/.
const (
	StageTrainingSet  = "training_set"
	StageTeacher      = "teacher"
	StageAnswerKey    = "answer_key"
	StageColBERT      = "colbert"
	StageColBERTHard  = "colbert_hard_labels"
	StageSpladeDense  = "splade_lambda0"
	StageSplade       = "splade"
	StageSpladeSweep  = "splade_sweep"
	answerKeyFileName = "answer_key.jsonl"
)

// TrainingSetStage is the record of the training-set stage.
type TrainingSetStage struct {
	// Source is "qrels" (training queries with judgements) or "weak:title-body".
	Source string `json:"source"`
	// TrainGroups and DevGroups count the (query, positives, negatives) groups.
	TrainGroups int `json:"train_groups"`
	DevGroups   int `json:"dev_groups"`
	// AnnotatedQueries is the number of training queries whose candidates go to the teacher.
	AnnotatedQueries int `json:"annotated_queries"`
}

// TeacherStage is the record of the teacher stage.
type TeacherStage struct {
	// Report is the teacher job's report (BM25 and the teacher reranking BM25's top k).
	Report *distill.TeacherReport `json:"report"`
	// TokensPerSecond is the average number of real (non-padding) tokens of the training pairs per
	// second of training.
	TokensPerSecond float64 `json:"train_tokens_per_s"`
}

// AnswerKeyStage is the record of the annotation stage.
type AnswerKeyStage struct {
	// Path is the answer key, relative to OutDir.
	Path string `json:"path"`
	// Pairs is the number of scored pairs; PairsPerSecond the teacher's throughput.
	Pairs          int64   `json:"pairs"`
	PairsPerSecond float64 `json:"pairs_per_s"`
	Seconds        float64 `json:"seconds"`
}

// ColBERTStage is the record of a ColBERT stage.
type ColBERTStage struct {
	// Report is the ColBERT job's report.
	Report *distill.ColBERTReport `json:"report"`
	// Sample holds teacher and student scores of held-out answer-key pairs (for the figures).
	Sample []ScoredSample `json:"sample"`
}

// ScoredSample is one answer-key pair with the teacher's and a student's score.
type ScoredSample struct {
	QueryID  string  `json:"qid"`
	DocID    string  `json:"pid"`
	Positive bool    `json:"positive"`
	Teacher  float64 `json:"teacher"`
	Student  float64 `json:"student"`
}

// SpladeStage is the record of a SPLADE stage.
type SpladeStage struct {
	// Report is the SPLADE job's report.
	Report *distill.SpladeReport `json:"report"`
	// ExampleDoc is the id of the document whose top terms are shown; TopTerms its expansion.
	ExampleDoc   string               `json:"example_doc"`
	ExampleText  string               `json:"example_text"`
	ExampleTerms []distill.TermWeight `json:"example_terms"`
}

// Run executes the pipeline and returns the report it wrote (also in OutDir/report.json).
func Run(cfg Config) (*report.Report, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
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
	r := &runner{cfg: cfg, col: col, seconds: map[string]float64{}}
	rep, err := r.run()
	if err != nil {
		return nil, err
	}
	rep.Timings.TotalSeconds = time.Since(start).Seconds()
	if err := report.Write(cfg.OutDir, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// dir returns a path under OutDir.
func (r *runner) dir(parts ...string) string {
	return filepath.Join(append([]string{r.cfg.OutDir}, parts...)...)
}

// trainingSet builds the hard-negative training set exactly as the teacher job does.
func (r *runner) trainingSet() (*negatives.TrainingSet, error) {
	if r.set != nil {
		return r.set, nil
	}
	set, err := negatives.Build(r.col, negatives.Options{
		Mine:        negatives.MineConfig{Depth: 50, Count: max(2*r.cfg.Scale.TeacherNegatives, 16), Seed: r.cfg.Seed},
		DevFraction: 0.05,
	})
	if err != nil {
		return nil, err
	}
	r.set = set
	return set, nil
}

// annotatedGroups are the training groups whose candidates the teacher annotates.
func (r *runner) annotatedGroups(set *negatives.TrainingSet) []negatives.TrainGroup {
	groups := set.Train
	if n := r.cfg.Scale.AnnotateQueries; n > 0 && n < len(groups) {
		groups = groups[:n]
	}
	return groups
}

// modelConfig is the preset's configuration for the tokenizer's vocabulary and the scale's lengths.
func (r *runner) modelConfig(tk tokenizer.Tokenizer) (*models.Config, error) {
	cfg, err := models.NewConfig(r.cfg.Preset, tk.VocabSize())
	if err != nil {
		return nil, err
	}
	if r.cfg.Model != nil {
		c := *r.cfg.Model
		c.VocabSize = tk.VocabSize()
		cfg = &c
	}
	cfg.MaxPositionEmbeddings = max(r.cfg.Scale.MaxLen, r.cfg.Scale.DocLen, r.cfg.Scale.QueryLen)
	return cfg, nil
}

func (r *runner) run() (*report.Report, error) {
	cfg, sc := r.cfg, r.cfg.Scale

	// 1. The training set.
	var ts TrainingSetStage
	if err := r.stage(StageTrainingSet, &ts, func() error {
		set, err := r.trainingSet()
		if err != nil {
			return err
		}
		ts = TrainingSetStage{Source: set.Source, TrainGroups: len(set.Train), DevGroups: len(set.Dev),
			AnnotatedQueries: len(r.annotatedGroups(set))}
		return nil
	}); err != nil {
		return nil, err
	}

	// 2. The teacher.
	var teacher TeacherStage
	if err := r.stage(StageTeacher, &teacher, func() error {
		modelCfg := (*models.Config)(nil)
		if cfg.Model != nil {
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
		job := &distill.TeacherJob{
			Collection: r.col, Backend: cfg.Backend, OutDir: r.dir(StageTeacher), Preset: cfg.Preset, Config: modelCfg,
			Vocab: sc.Vocab, RerankDepth: sc.RerankDepth, Seed: cfg.Seed,
			Train: distill.TeacherOptions{
				Steps: sc.TeacherSteps, Negatives: sc.TeacherNegatives, MaxLen: sc.MaxLen, Quiet: cfg.Quiet,
				Optimizer: &train.Optimizer{LearningRate: sc.TeacherLR, WarmupSteps: sc.TeacherSteps / 10, WeightDecay: 0.01, ClipNorm: 1},
			},
		}
		_, tk, rep, err := job.Run()
		if err != nil {
			return err
		}
		teacher.Report = rep
		set, err := r.trainingSet()
		if err != nil {
			return err
		}
		if rep.TrainSecs > 0 {
			teacher.TokensPerSecond = r.pairTokensPerStep(set, tk) * float64(rep.Steps) / rep.TrainSecs
		}
		return nil
	}); err != nil {
		return nil, err
	}

	// 3. The answer key.
	var key AnswerKeyStage
	if err := r.stage(StageAnswerKey, &key, func() error {
		set, err := r.trainingSet()
		if err != nil {
			return err
		}
		ce, info, err := distill.LoadCrossEncoder(r.dir(StageTeacher), cfg.Backend, sc.MaxLen, 0)
		if err != nil {
			return err
		}
		var pairs []distill.Pair
		for _, g := range r.annotatedGroups(set) {
			negs := g.Negatives[:min(len(g.Negatives), sc.AnnotateNegatives)]
			for _, pid := range slices.Concat(g.Positives, negs) {
				pairs = append(pairs, distill.Pair{QueryID: g.QID, DocID: pid, Query: g.Query, Passage: set.Texts[pid]})
			}
		}
		sum, err := distill.Annotate(distill.AnnotateOptions{
			Teacher: ce, Pairs: distill.SlicePairs(pairs), Out: r.dir(answerKeyFileName), Quiet: cfg.Quiet,
			Meta: datasets.AnswerKeyMeta{CheckpointSHA256: info.WeightsSHA256, Tokenizer: info.Tokenizer,
				MaxQueryLength: sc.MaxLen, MaxDocLength: sc.MaxLen, Collection: r.col.Name},
		})
		if err != nil {
			return err
		}
		key = AnswerKeyStage{Path: answerKeyFileName, Pairs: sum.Pairs, PairsPerSecond: sum.PairsPerSecond, Seconds: sum.Seconds}
		return nil
	}); err != nil {
		return nil, err
	}
	answerKey, keyMeta, err := datasets.LoadAnswerKey(r.dir(answerKeyFileName))
	if err != nil {
		return nil, err
	}
	tk, err := models.LoadHFTokenizer(r.dir(StageTeacher, "model"))
	if err != nil {
		return nil, err
	}
	studentCfg, err := r.modelConfig(tk)
	if err != nil {
		return nil, err
	}

	// 4. ColBERT: Margin-MSE and the hard-label ablation.
	colbert := map[string]*ColBERTStage{}
	for _, v := range []struct{ stage, loss string }{{StageColBERT, distill.LossMarginMSE}, {StageColBERTHard, distill.LossHardLabels}} {
		st := &ColBERTStage{}
		if err := r.stage(v.stage, st, func() error {
			job := &distill.ColBERTJob{
				Collection: r.col, Key: answerKey, KeyMeta: keyMeta, Backend: cfg.Backend, OutDir: r.dir(v.stage),
				Preset: cfg.Preset, Config: studentCfg, Tokenizer: tk, RerankDepth: sc.RerankDepth, Seed: cfg.Seed,
				Train: distill.ColBERTOptions{
					Steps: sc.ColBERTSteps, Loss: v.loss, QueryLen: sc.QueryLen, DocLen: sc.DocLen, Quiet: cfg.Quiet,
					Optimizer: &train.Optimizer{LearningRate: sc.StudentLR, WarmupSteps: sc.ColBERTSteps / 10, WeightDecay: 0.01, ClipNorm: 1},
				},
			}
			enc, rep, err := job.Run()
			if err != nil {
				return err
			}
			st.Report = rep
			st.Sample, err = r.sampleScores(answerKey, enc, 48)
			return err
		}); err != nil {
			return nil, err
		}
		colbert[v.stage] = st
	}

	// 5. SPLADE at λ = 0 and at the default λ, and the optional sweep.
	spladeJob := func(stage string, lambdaQ, lambdaD float64) distill.SpladeJob {
		return distill.SpladeJob{
			Collection: r.col, AnswerKey: answerKey, Backend: cfg.Backend, OutDir: r.dir(stage), Tokenizer: tk,
			Preset: cfg.Preset, Config: studentCfg, Seed: cfg.Seed,
			Train: distill.SpladeOptions{
				Steps: sc.SpladeSteps, LambdaQ: lambdaQ, LambdaD: lambdaD, QueryMaxLen: sc.QueryLen, DocMaxLen: sc.DocLen,
				Quiet: cfg.Quiet, Guard: distill.SpladeGuard{Off: true},
				Optimizer: &train.Optimizer{LearningRate: sc.StudentLR, WarmupSteps: sc.SpladeSteps / 10, WeightDecay: 0.01, ClipNorm: 1},
			},
		}
	}
	splade := map[string]*SpladeStage{}
	for _, v := range []struct {
		stage            string
		lambdaQ, lambdaD float64
	}{{StageSpladeDense, 0, 0}, {StageSplade, distill.DefaultLambdaQ, distill.DefaultLambdaD}} {
		st := &SpladeStage{}
		if err := r.stage(v.stage, st, func() error {
			job := spladeJob(v.stage, v.lambdaQ, v.lambdaD)
			m, tk, _, rep, err := job.Run()
			if err != nil {
				return err
			}
			st.Report = rep
			return r.exampleTerms(st, &distill.SpladeEncoder{Model: m, Tokenizer: tk, Backend: cfg.Backend, Quiet: true}, sc.DocLen)
		}); err != nil {
			return nil, err
		}
		splade[v.stage] = st
	}
	var sweep []distill.SpladeSweepRow
	if cfg.SpladeSweep {
		if err := r.stage(StageSpladeSweep, &sweep, func() error {
			var err error
			sweep, err = distill.SpladeSweep(distill.SpladeSweepLambdas(distill.DefaultLambdaD), spladeJob(StageSpladeSweep, distill.DefaultLambdaQ, distill.DefaultLambdaD))
			return err
		}); err != nil {
			return nil, err
		}
	} else {
		r.count++
	}

	return r.assemble(ts, teacher, key, colbert, splade, sweep)
}

// pairTokensPerStep estimates the real tokens of one teacher step from a sample of training pairs.
func (r *runner) pairTokensPerStep(set *negatives.TrainingSet, tk tokenizer.Tokenizer) float64 {
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
	return perPair * float64(8*(1+r.cfg.Scale.TeacherNegatives))
}

// sampleScores scores the pairs of up to n queries of the answer key held out of the student's
// training (distill.SplitAnswerKey with the job's fraction and seed) with the student.
func (r *runner) sampleScores(key []datasets.ScoredPair, s distill.Scorer, n int) ([]ScoredSample, error) {
	_, held := distill.SplitAnswerKey(key, 0.1, r.cfg.Seed)
	positives := distill.TrainingPositives(r.col)
	queries := distill.TrainingQueries(r.col)
	texts := distill.Texts(r.col.Docs)
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
func (r *runner) exampleTerms(st *SpladeStage, enc *distill.SpladeEncoder, maxLen int) error {
	q := r.col.Queries[0]
	var doc string
	best := 0
	for pid, rel := range r.col.Qrels[q.ID] {
		if rel > best || (rel == best && pid < doc) {
			doc, best = pid, rel
		}
	}
	texts := distill.Texts(r.col.Docs)
	text, ok := texts[doc]
	if !ok {
		return errors.New("the example document is not in the corpus")
	}
	vecs, err := enc.Encode([]string{text}, maxLen, "example")
	if err != nil {
		return err
	}
	st.ExampleDoc, st.ExampleText = doc, text
	st.ExampleTerms = distill.TopTerms(vecs[0], enc.Tokenizer, 20)
	return nil
}

// logf writes a line to the run's log.
func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, format+"\n", args...)
}
