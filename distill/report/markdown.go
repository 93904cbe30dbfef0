package report

import (
	"cmp"
	"fmt"
	"math"
	"strings"
)

// rows of the results table, in order, with their labels.
var tableRows = []struct{ system, label string }{
	{SystemBM25, "BM25 (Anserini defaults)"},
	{SystemBiEncoder, "The pretrained checkpoint as a bi-encoder, zero-shot, full-corpus search"},
	{SystemTeacher, "Teacher: cross-encoder reranking BM25's top k"},
	{SystemTeacherResidual, "The teacher's residual terms alone (w·BM25, + w'·cos), no network, reranking"},
	{SystemTeacherNetwork, "The teacher's network alone, without its residual terms, reranking"},
	{SystemColBERT, "ColBERT, Margin-MSE, reranking BM25's top k"},
	{SystemColBERTHardLabels, "ColBERT, hard labels only (ablation), reranking"},
	{SystemColBERT + MaxSimSuffix, "ColBERT, Margin-MSE, its MaxSim alone (no BM25 term), reranking"},
	{SystemColBERTHardLabels + MaxSimSuffix, "ColBERT, hard labels, its MaxSim alone, reranking"},
	{SystemColBERT + FullSearchSuffix, "ColBERT, Margin-MSE, full-corpus search"},
	{SystemColBERTHardLabels + FullSearchSuffix, "ColBERT, hard labels, full-corpus search"},
	{SystemColBERTZeroShot, "ColBERT's start (checkpoint + fresh projection, no distillation), reranking"},
	{SystemColBERTZeroShot + FullSearchSuffix, "ColBERT's start, full-corpus search"},
	{SystemSplade, "SPLADE, score MSE + FLOPS (default λ), inverted index"},
	{SystemSpladeLambda0, "SPLADE, score MSE, λ = 0, inverted index"},
	{SystemSpladeZeroShot, "SPLADE's start (checkpoint + lexical MLM head, no distillation), inverted index"},
	{SystemColBERTKL, "ColBERT, listwise KL (frontier), reranking"},
	{SystemColBERTFixedMargin, "ColBERT, fixed-margin MSE, no teacher (frontier), reranking"},
	{SystemColBERTOnline, "ColBERT, online distillation (frontier), reranking"},
	{SystemColBERTSelf, "ColBERT, self-distilled from a larger student (frontier), reranking"},
	{SystemColBERTMultiTask, "ColBERT, Margin-MSE + MLM + in-batch (frontier), reranking"},
}

// Markdown renders the report as a short paper: the method, the results table with student/teacher
// ratios, the sparsity trade-off, the figures and the timings.
func Markdown(r *Report, figs []Figure) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Distilling a cross-encoder into ColBERT and SPLADE on %s\n\n", r.Dataset.Name)
	w("*Preset %s, seed %d, backend %s; %d documents, %d evaluation queries, %d training queries",
		r.Preset, r.Seed, r.Backend, r.Dataset.Documents, r.Dataset.Queries, r.Dataset.TrainQueries)
	if r.Dataset.TrainingSource != "" {
		w(" (training signal: %s)", r.Dataset.TrainingSource)
	}
	w(".*\n\n")

	w("## Method\n\n")
	w("A cross-encoder teacher, fine-tuned on BM25 hard negatives, scored every (query, passage) pair of the training set once, offline: the answer key (%d pairs). ", r.Dataset.AnswerKeyPairs)
	w("A ColBERT student learnt the teacher's margins between passages with Margin-MSE, ((s(p1) − s(p2)) − (t(p1) − t(p2)))², and a SPLADE student regressed the teacher's scores with MSE plus a FLOPS penalty that keeps its vectors sparse. ")
	w("An ablation trained the same ColBERT on the same tuples with the judged positive as the only label.")
	if wt, _ := r.Settings["teacher_bm25_weight"].(float64); wt > 0 {
		w(" The teacher's score was its network's logit plus %.3f·BM25", wt)
		if wd, _ := r.Settings["teacher_dense_weight"].(float64); wd > 0 {
			model, _ := r.Settings["teacher_dense_model"].(string)
			w(" plus %.3f·cos(q, p) of %s's embeddings", wd, cmp.Or(model, "the checkpoint"))
		}
		w(" (a residual teacher)")
		if res, _ := r.Settings["student_residual"].(bool); res {
			w("; the ColBERT students scored MaxSim plus the same %.3f·BM25, so that MaxSim learnt the margins of the teacher's network, not BM25's (CLEAR's residual, Gao et al., ECIR 2021)", wt)
		}
		w(".")
	}
	if li, _ := r.Settings["splade_lexical_init"].(bool); li {
		w(" The SPLADE students started as bags of words (each token activating its own vocabulary entry, models.LexicalInit), not from a random MLM head.")
	}
	w("\n\n")

	w("## Results\n\n")
	w("| System | nDCG@10 | RR@10 | R@100 | AP | nDCG@10 / teacher |\n|---|---:|---:|---:|---:|---:|\n")
	teacher := r.Systems[SystemTeacher]["nDCG@10"]
	seen := map[string]bool{}
	row := func(name, label string) {
		m, ok := r.Systems[name]
		if !ok {
			return
		}
		seen[name] = true
		ratio := "–"
		if teacher > 0 && name != SystemTeacher {
			ratio = fmt.Sprintf("%.0f%%", 100*m["nDCG@10"]/teacher)
		}
		w("| %s | %s | %s | %s | %s | %s |\n", label, num(m, "nDCG@10"), num(m, "RR@10"), num(m, "R@100"), num(m, "AP"), ratio)
	}
	k := "k"
	switch v := r.Settings["rerank_depth"].(type) {
	case int:
		k = fmt.Sprint(v)
	case float64:
		k = fmt.Sprint(int(v))
	}
	for _, t := range tableRows {
		row(t.system, strings.ReplaceAll(t.label, "top k", "top "+k))
	}
	for _, name := range sortedKeys(r.Systems) {
		if !seen[name] {
			row(name, name)
		}
	}
	w("\n")
	if s, ok := r.Systems[SystemSplade]; ok {
		w("The default SPLADE student keeps %.1f active terms per document and %.1f per query on average (expected FLOPS per pair %.2f).\n\n",
			s["avg_doc_active"], s["avg_query_active"], s["flops"])
	}
	for _, n := range r.Details.Notes {
		w("- %s\n", n)
	}
	if len(r.Details.Notes) > 0 {
		w("\n")
	}
	if len(r.SpladeSweep) > 0 {
		w("### Sparsity trade-off\n\n| λ_d | active terms / doc | active terms / query | nDCG@10 | query ms (median) |\n|---:|---:|---:|---:|---:|\n")
		for _, p := range r.SpladeSweep {
			w("| %g | %.1f | %.1f | %.4f | %.3f |\n", p.LambdaD, p.AvgDocActive, p.AvgQueryActive, p.NDCG10, p.QueryMs)
		}
		w("\n")
	}
	if len(r.Frontier) > 0 {
		w("### Beyond the static answer key\n\n")
		w("The same ColBERT student trained by each recipe for the same steps on the same candidates; extra time is what the recipe spends besides training the student (the online teacher's scoring, or the larger student's training and re-annotation).\n\n")
		w("| Recipe | nDCG@10 | held-out margin r | train s | extra s | teacher-scored pairs | what it is |\n|---|---:|---:|---:|---:|---:|---|\n")
		for _, f := range r.Frontier {
			w("| %s | %.4f | %.3f | %.0f | %.0f | %d | %s |\n", f.Recipe, f.NDCG10, f.HeldOutPearson, f.TrainSeconds, f.ExtraSeconds, f.TeacherPairs, f.Note)
		}
		w("\n")
	}
	if len(figs) > 0 {
		w("## Figures\n\n")
		for _, f := range figs {
			w("![%s](figures/%s)\n\n*%s*\n\n", f.Caption, f.File, f.Caption)
		}
	}
	w("## Timings\n\n")
	t := r.Timings
	w("Total %.0f s; teacher training %.0f s (%.0f tokens/s); annotation %.1f pairs/s.\n", t.TotalSeconds, t.TeacherTrainSeconds, t.TrainTokensPerSecond, t.AnnotatePairsPerSecond)
	if len(t.StageSeconds) > 0 {
		w("\n| Stage | seconds |\n|---|---:|\n")
		for _, s := range sortedKeys(t.StageSeconds) {
			w("| %s | %.1f |\n", s, t.StageSeconds[s])
		}
	}
	return b.String()
}

// num formats a measure, or "–" when absent.
func num(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok || math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}
