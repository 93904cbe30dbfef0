package pipeline

import (
	"cmp"
	"fmt"
	"maps"

	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/train"
)

// assemble turns the stages' records into the report.
func (r *Runner) assemble(ts TrainingSetStage, teach TeacherStage, key AnswerKeyStage,
	colberts map[string]*ColBERTStage, splades map[string]*SpladeStage, sweep []splade.SweepRow) (*report.Report, error) {
	cfg, col := r.cfg, r.col
	rep := &report.Report{
		Dataset: report.Dataset{Name: col.Name, Documents: len(col.Docs), Queries: len(col.Queries), TrainQueries: ts.TrainGroups + ts.DevGroups,
			TrainingSource: ts.Source, AnswerKeyPairs: key.Pairs},
		Preset: cfg.Preset, Seed: cfg.Seed, Backend: cfg.Backend.Name(),
		Systems: map[string]map[string]float64{},
		Timings: report.Timings{
			TeacherTrainSeconds: teach.Report.TrainSecs, AnnotatePairsPerSecond: key.PairsPerSecond,
			TrainTokensPerSecond: teach.TokensPerSecond, StageSeconds: maps.Clone(r.seconds),
		},
		Settings: map[string]any{
			"teacher_steps": cfg.Scale.TeacherSteps, "colbert_steps": cfg.Scale.ColBERTSteps, "splade_steps": cfg.Scale.SpladeSteps,
			"vocab": cfg.Scale.Vocab, "max_len": cfg.Scale.MaxLen, "query_len": cfg.Scale.QueryLen, "doc_len": cfg.Scale.DocLen,
			"annotated_queries": ts.AnnotatedQueries, "rerank_depth": teach.Report.RerankDepth,
			"teacher_lr": cfg.Scale.TeacherLR, "student_lr": cfg.Scale.StudentLR,
			"splade_lr": cmp.Or(cfg.Scale.SpladeLR, cfg.Scale.StudentLR), "splade_lexical_init": cfg.Scale.SpladeLexicalInit,
			"splade_term_bias_lr": cmp.Or(cfg.Scale.SpladeTermBiasLR, 1),
			"teacher_hidden":      cfg.Scale.TeacherHidden, "teacher_no_dropout": cfg.Scale.TeacherNoDropout,
			"teacher_marks": cfg.Scale.TeacherMarks, "teacher_residual": cfg.Scale.TeacherResidual,
			"teacher_bm25_weight": teach.Report.BM25Weight, "student_residual": cfg.Scale.StudentResidual,
			"teacher_dense_weight": teach.Report.DenseWeight, "teacher_dense_model": teach.Report.DenseModel,
		},
		Details: report.Details{Curves: map[string][]report.CurvePoint{}, Samples: map[string][]report.Sample{}},
	}
	rep.Systems[report.SystemBM25] = teach.Report.BM25
	rep.Systems[report.SystemTeacher] = teach.Report.Teacher
	if teach.Report.Residual != nil {
		rep.Systems[report.SystemTeacherResidual] = teach.Report.Residual
		rep.Systems[report.SystemTeacherNetwork] = teach.Report.Network
	}
	if err := r.curve(rep, "teacher", StageTeacher); err != nil {
		return nil, err
	}
	for _, name := range []string{StageColBERT, StageColBERTHard} {
		st := colberts[name]
		// The students rerank the teacher's candidates (BM25's top k), so that the rows compare
		// like with like; full-corpus MaxSim search is its own row.
		rep.Systems[name] = st.Report.ColBERTRerank
		if len(st.Report.ColBERT) > 0 {
			rep.Systems[name+report.FullSearchSuffix] = st.Report.ColBERT
		}
		if len(st.Report.MaxSimRerank) > 0 {
			rep.Systems[name+report.MaxSimSuffix] = st.Report.MaxSimRerank
		}
		if err := r.curve(rep, name, name); err != nil {
			return nil, err
		}
		rep.Details.Samples[name] = st.Sample
	}
	if _, ok := colberts[StageColBERTKL]; ok {
		rep.Frontier = r.frontierRows(colberts, key)
		for _, row := range rep.Frontier[1:] {
			rep.Systems[row.System] = colberts[row.System].Report.ColBERTRerank
			if err := r.curve(rep, row.System, row.System); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range []string{StageSpladeDense, StageSplade} {
		st := splades[name]
		rep.Systems[name] = spladeMeasures(st.Report)
		if err := r.curve(rep, name, name); err != nil {
			return nil, err
		}
		if st.Report.Warning != "" {
			rep.Details.Notes = append(rep.Details.Notes, fmt.Sprintf("%s: %s", name, st.Report.Warning))
		}
	}
	if st := splades[StageSplade]; len(st.ExampleTerms) > 0 {
		ex := &report.Example{DocID: st.ExampleDoc, Text: st.ExampleText}
		for _, t := range st.ExampleTerms {
			ex.Terms = append(ex.Terms, report.Term{Term: t.Term, Weight: float64(t.Weight)})
		}
		rep.Details.Example = ex
	}
	if len(sweep) == 0 {
		for _, name := range []string{StageSpladeDense, StageSplade} {
			sweep = append(sweep, spladeRow(splades[name].Report))
		}
	}
	rep.SpladeSweep = sweep
	return rep, nil
}

// recipeNotes say what each recipe of the frontier comparison is.
var recipeNotes = map[string]string{
	colbert.RecipeOffline:     "Margin-MSE on the static answer key (the baseline)",
	colbert.RecipeKL:          "listwise KL over 1 positive + 3 negatives of the key, τ = 1",
	colbert.RecipeFixedMargin: "MSE of s(p+) − s(p−) to 1.0; no teacher scores",
	colbert.RecipeOnline:      "the cross-encoder scores each batch in the loop; halfway, the student's own top 10 passages become the negatives",
	colbert.RecipeSelf:        "a student with twice the layers learns the key, re-annotates it, teaches this one (margin r: against the larger student)",
	colbert.RecipeMultiTask:   "Margin-MSE + 0.5·MLM + 0.5·in-batch contrastive, aux weights decaying to 0",
}

// frontierRows compares the recipes' stages, the offline baseline first.
func (r *Runner) frontierRows(colberts map[string]*ColBERTStage, key AnswerKeyStage) []report.RecipeRow {
	var rows []report.RecipeRow
	for _, recipe := range colbert.Recipes {
		name := recipeStages[recipe]
		rp := colberts[name].Report
		row := report.RecipeRow{Recipe: recipe, System: name, NDCG10: rp.ColBERTRerank["nDCG@10"], HeldOutPearson: rp.HeldOut[colbert.MetricMarginPearson],
			TrainSeconds: rp.TrainSecs, TeacherPairs: key.Pairs, Note: recipeNotes[recipe]}
		switch {
		case recipe == colbert.RecipeFixedMargin:
			row.TeacherPairs = 0
		case recipe == colbert.RecipeOnline:
			row.TeacherPairs, row.ExtraSeconds = rp.OnlinePairs, rp.OnlineSecs
		case rp.SelfTeacher != nil:
			row.ExtraSeconds = rp.SelfSecs
			row.TeacherPairs += int64(rp.KeyPairs)
		}
		rows = append(rows, row)
	}
	return rows
}

// curve adds a training run's logged losses to the report.
func (r *Runner) curve(rep *report.Report, name, stage string) error {
	c, err := r.Curve(stage)
	if err != nil {
		return err
	}
	rep.Details.Curves[name] = c
	return nil
}

// Curve reads the training log of a stage (Dir(stage, "metrics.jsonl")): its loss, and its average
// active terms per document for SPLADE.
func (r *Runner) Curve(stage string) ([]report.CurvePoint, error) {
	recs, err := train.ReadLog(r.dir(stage, "metrics.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("training curve of %s: %w", stage, err)
	}
	var out []report.CurvePoint
	for _, rec := range recs {
		if rec.Step == 0 && rec.Loss == 0 {
			continue
		}
		out = append(out, report.CurvePoint{Step: rec.Step, Loss: rec.Loss, Active: rec.Parts[splade.PartDocActive]})
	}
	return out, nil
}

// spladeMeasures are a SPLADE student's report row: its measures, active terms, FLOPS and latency.
func spladeMeasures(s *splade.Report) map[string]float64 {
	m := maps.Clone(s.Measures)
	m["avg_doc_active"], m["avg_query_active"], m["flops"] = s.AvgDocActive, s.AvgQueryActive, s.FLOPS
	m["query_ms"] = s.QueryMs
	return m
}
