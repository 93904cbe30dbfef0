package pipeline

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// ColBERT runs (or recalls) stage 4: a ColBERT student trained with loss (colbert.LossMarginMSE,
// recorded as StageColBERT, or colbert.LossHardLabels, recorded as StageColBERTHard) on the answer
// key, indexed and evaluated.
func (r *Runner) ColBERT(loss string) (*ColBERTStage, error) {
	switch loss {
	case colbert.LossMarginMSE:
		return r.colbert(StageColBERT, colbert.RecipeOffline, loss)
	case colbert.LossHardLabels:
		return r.colbert(StageColBERTHard, colbert.RecipeOffline, loss)
	}
	return nil, fmt.Errorf("pipeline: unknown ColBERT loss %q (want %q or %q)", loss, colbert.LossMarginMSE, colbert.LossHardLabels)
}

// recipeStages maps the frontier recipes to their stages.
var recipeStages = map[string]string{
	colbert.RecipeOffline: StageColBERT, colbert.RecipeKL: StageColBERTKL, colbert.RecipeFixedMargin: StageColBERTFixedMargin,
	colbert.RecipeOnline: StageColBERTOnline, colbert.RecipeSelf: StageColBERTSelf, colbert.RecipeMultiTask: StageColBERTMultiTask,
}

// ColBERTRecipe runs (or recalls) a ColBERT student trained by one of colbert.Recipes with the
// same steps, batch and candidates as stage 4 (RecipeOffline is stage 4 itself); the online recipe's
// teacher is the stage-2 cross-encoder, and halfway through its training the student's own top
// passages replace the negatives.
func (r *Runner) ColBERTRecipe(recipe string) (*ColBERTStage, error) {
	name, ok := recipeStages[recipe]
	if !ok {
		return nil, fmt.Errorf("pipeline: unknown ColBERT recipe %q (want one of %v)", recipe, colbert.Recipes)
	}
	return r.colbert(name, recipe, colbert.LossMarginMSE)
}

// Frontier runs (or recalls) the ColBERT stage of every recipe of colbert.Recipes and compares them,
// the offline Margin-MSE baseline (stage 4) first: the rows of the report's frontier table.
func (r *Runner) Frontier() ([]report.RecipeRow, error) {
	key, err := r.AnswerKey()
	if err != nil {
		return nil, err
	}
	stages := map[string]*ColBERTStage{}
	for _, recipe := range colbert.Recipes {
		st, err := r.ColBERTRecipe(recipe)
		if err != nil {
			return nil, err
		}
		stages[recipeStages[recipe]] = st
	}
	return r.frontierRows(stages, *key), nil
}

// colbert runs (or recalls) a ColBERT stage.
func (r *Runner) colbert(name, recipe, loss string) (*ColBERTStage, error) {
	answerKey, keyMeta, tk, err := r.LoadAnswerKey()
	if err != nil {
		return nil, err
	}
	studentCfg, err := r.modelConfig(tk)
	if err != nil {
		return nil, err
	}
	cfg, sc := r.cfg, r.cfg.Scale
	var residual float64
	if sc.StudentResidual {
		teach, err := r.Teacher()
		if err != nil {
			return nil, err
		}
		residual = teach.Report.BM25Weight
	}
	st := &ColBERTStage{}
	err = r.stage(name, st, func() error {
		job := &colbert.Job{
			Setup: train.Setup{Collection: r.col, Backend: cfg.Backend, OutDir: r.dir(name), Preset: cfg.Preset, Config: studentCfg,
				Init: cfg.Init, Tokenizer: tk, Seed: cfg.Seed},
			BM25Weight: residual, Key: answerKey, KeyMeta: keyMeta, RerankDepth: sc.RerankDepth, Recipe: recipe,
			Train: colbert.Options{
				Steps: sc.ColBERTSteps, QueriesPerBatch: sc.StudentQueries, Loss: loss, QueryLen: sc.QueryLen, DocLen: sc.DocLen, Quiet: cfg.Quiet, OnLog: cfg.OnLog,
				Optimizer: &train.Optimizer{LearningRate: sc.StudentLR, WarmupSteps: sc.ColBERTSteps / 10, WeightDecay: 0.01, ClipNorm: 1},
			},
		}
		if slices.Contains(frontierStages, name) {
			// The frontier compares recipes by reranking; exhaustive MaxSim over the corpus (half a
			// minute per student on 2 cores) is left to the baseline's stage.
			job.ExhaustiveMaxDocs = -1
		}
		if recipe == colbert.RecipeOnline {
			ce, _, err := teacher.Load(r.dir(StageTeacher), cfg.Backend, sc.MaxLen, 0)
			if err != nil {
				return err
			}
			if err := ce.UseCollection(r.col); err != nil {
				return err
			}
			job.Teacher = ce
			// With the very teacher and candidates of the answer key, online training would repeat
			// the offline run exactly; halfway, the student's own top passages replace the
			// negatives, which no answer key written beforehand could have scored.
			job.Train.RefreshEvery = max(sc.ColBERTSteps/2, 1)
		}
		job.ZeroShot = name == StageColBERTZeroShot
		enc, rep, err := job.Run()
		if err != nil {
			return err
		}
		st.Report = rep
		st.Sample, err = r.sampleScores(answerKey, enc, 48)
		return err
	})
	return st, err
}

// spladeJob is the SPLADE job of a stage folder and λs.
func (r *Runner) spladeJob(stage string, lambdaQ, lambdaD float64) (splade.Job, error) {
	answerKey, _, tk, err := r.LoadAnswerKey()
	if err != nil {
		return splade.Job{}, err
	}
	studentCfg, err := r.modelConfig(tk)
	if err != nil {
		return splade.Job{}, err
	}
	cfg, sc := r.cfg, r.cfg.Scale
	return splade.Job{
		Setup: train.Setup{Collection: r.col, Backend: cfg.Backend, OutDir: r.dir(stage), Tokenizer: tk,
			Preset: cfg.Preset, Config: studentCfg, Init: cfg.Init, Seed: cfg.Seed},
		Key: answerKey, LexicalInit: sc.SpladeLexicalInit, LexicalThreshold: sc.SpladeThreshold,
		Train: splade.Options{
			Steps: sc.SpladeSteps, QueriesPerBatch: cmp.Or(sc.SpladeQueries, sc.StudentQueries), LambdaQ: lambdaQ, LambdaD: lambdaD, QueryMaxLen: sc.QueryLen, DocMaxLen: sc.DocLen,
			Quiet: cfg.Quiet, Guard: splade.Guard{Off: true}, OnLog: cfg.OnLog,
			Optimizer: &train.Optimizer{LearningRate: cmp.Or(sc.SpladeLR, sc.StudentLR), WarmupSteps: sc.SpladeSteps / 10, WeightDecay: 0.01, ClipNorm: 1,
				LRMultipliers: map[string]float64{models.SpladeTermBias: cmp.Or(sc.SpladeTermBiasLR, 1)}},
		},
	}, nil
}

// Splade runs (or recalls) stage 5: a SPLADE student at λ = 0 (dense, recorded as StageSpladeDense)
// or at the default λs (recorded as StageSplade), indexed and evaluated, with the top terms of an
// example document.
func (r *Runner) Splade(dense bool) (*SpladeStage, error) {
	name, lq, ld := StageSplade, splade.DefaultLambdaQ, splade.DefaultLambdaD
	if dense {
		name, lq, ld = StageSpladeDense, 0, 0
	}
	return r.splade(name, lq, ld)
}

// splade runs (or recalls) a SPLADE stage.
func (r *Runner) splade(name string, lq, ld float64) (*SpladeStage, error) {
	job, err := r.spladeJob(name, lq, ld)
	if err != nil {
		return nil, err
	}
	job.ZeroShot = name == StageSpladeZeroShot
	st := &SpladeStage{}
	err = r.stage(name, st, func() error {
		enc, rep, err := job.Run()
		if err != nil {
			return err
		}
		st.Report = rep
		enc.Quiet = true
		return r.exampleTerms(st, enc, r.cfg.Scale.DocLen)
	})
	return st, err
}

// SpladeSweep runs (or recalls) the λ_d sweep: splade.Sweep over Config.SweepLambdas.
func (r *Runner) SpladeSweep() ([]splade.SweepRow, error) {
	job, err := r.spladeJob(StageSpladeSweep, splade.DefaultLambdaQ, splade.DefaultLambdaD)
	if err != nil {
		return nil, err
	}
	var sweep []splade.SweepRow
	err = r.stage(StageSpladeSweep, &sweep, func() error {
		var err error
		lambdas := r.cfg.SweepLambdas
		if len(lambdas) == 0 {
			lambdas = splade.SweepLambdas(splade.DefaultLambdaD)
		}
		// The λ = 0 and default-λ students are the stages of the same job: reuse them.
		var known []splade.SweepRow
		for _, dense := range []bool{true, false} {
			st, err := r.Splade(dense)
			if err != nil {
				return err
			}
			known = append(known, spladeRow(st.Report))
		}
		sweep, err = splade.Sweep(lambdas, job, known...)
		return err
	})
	return sweep, err
}

// spladeRow is a SPLADE stage's point of the sweep.
func spladeRow(s *splade.Report) splade.SweepRow {
	return splade.SweepRow{LambdaD: s.LambdaD, LambdaQ: s.LambdaQ, AvgDocActive: s.AvgDocActive, AvgQueryActive: s.AvgQueryActive,
		FLOPS: s.FLOPS, NDCG10: s.Measures["nDCG@10"], QueryMs: s.QueryMs, Postings: s.Postings, Warning: s.Warning}
}
