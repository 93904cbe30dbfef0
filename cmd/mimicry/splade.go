package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func init() {
	register(&command{
		name:    "train splade",
		summary: "distil the answer key into a SPLADE student (score MSE + FLOPS/L1); index the corpus; evaluate",
		run:     runTrainSplade,
	})
}

// runTrainSplade implements `mimicry train splade --data <spec> --answer-key FILE --out DIR`.
func runTrainSplade(args []string) error {
	fs := newFlags("train splade", `train splade --data <spec> --answer-key FILE --out DIR [--lambda-q X] [--lambda-d X]
                          [--preset tiny] [--steps N] [--regularizer flops|l1] [--standardize] [--sweep] [flags]`, `
Distils the teacher's answer key into a SPLADE student: the student's score of (query, passage) is the dot
product of their vocabulary-sized sparse vectors, fitted to the teacher's scores by MSE, plus λ_q·R(queries)
+ λ_d·R(documents) with R the FLOPS (or L1) penalty, warmed up quadratically. Stops with an explanation if
the vectors collapse to zero (λ too high) or stay dense (λ too low). Then exports the student as a Hugging
Face BertForMaskedLM folder (DIR/model), encodes the corpus into an inverted index (DIR/index.splade),
retrieves the evaluation queries (DIR/run.trec) and writes DIR/splade.json: nDCG@10, RR@10, R@100, AP beside
BM25's, average active terms per document and query, FLOPS and the median query latency.

The tokenizer is the teacher's: --tokenizer DIR, else --init's, else the folder the answer key's .meta.json
names as teacher (looked up as given, beside the key and one folder up; its tokenizer must match the
recorded SHA-256), else --vocab N trains one.`)
	data := fs.dataFlag("synthetic", "texts of the answer key's ids, corpus, evaluation queries")
	keyPath := fs.String("answer-key", "", "the teacher's answer key ({\"qid\",\"pid\",\"score\"} JSONL, from `mimicry annotate`)")
	out := fs.String("out", "", "output directory (checkpoints/, metrics.jsonl, model/, index.splade, run.trec, splade.json); re-running resumes")
	model := fs.modelFlags("a BertForMaskedLM or any BERT, e.g. the teacher", true, false)
	tr := fs.trainFlags(300, 1e-4, 8)
	lambdaQ := fs.Float64("lambda-q", splade.DefaultLambdaQ, "sparsity weight λ_q of the query vectors")
	lambdaD := fs.Float64("lambda-d", splade.DefaultLambdaD, "sparsity weight λ_d of the document vectors")
	lossName := fs.String("loss", splade.LossMSE, "distillation term: mse (score-MSE up to a constant per batch) or margin-mse (each query's first passage against its others, as sentence-transformers' SparseMarginMSELoss)")
	reg := fs.String("regularizer", splade.RegFLOPS, "sparsity penalty: flops (Σ_j mean_j², SPLADE's) or l1")
	standardize := fs.Bool("standardize", false, "fit the teacher's scores standardised per batch (z-scores), so that λ means the same for any teacher; default: the raw scores, which rank better (README, \"The SPLADE student\")")
	warmup := fs.Int("sparsity-warmup", 0, "steps T of the quadratic warm-up λ·min(1,t/T)² (0: a third of --steps; -1: none)")
	biasLR := fs.Float64("term-bias-lr", 0, "multiplier of the learning rate of the MLM decoder bias, one activation threshold per vocabulary term (0: splade.DefaultTermBiasLR for a --lexical-init start, 1 otherwise)")
	perQuery := fs.Int("passages-per-query", 4, "scored passages per query and step")
	qLen := fs.Int("query-max-len", tokenizer.QueryMaxLen, "query length limit in tokens")
	dLen := fs.Int("doc-max-len", tokenizer.DocMaxLen, "passage length limit in tokens")
	bits := fs.Int("bits", 8, "precision of the index's quantised impacts: 8 or 16")
	docTerms := fs.Int("doc-terms", 0, "keep only each document's N heaviest terms in the index (0: all)")
	queryTerms := fs.Int("query-terms", 0, "search only each query's N heaviest terms (0: all)")
	depth := fs.Int("depth", 1000, "documents retrieved per evaluation query")
	sweep := fs.Bool("sweep", false, "also train one student per λ_d (0, the default and spread around --lambda-d) and write DIR/sweep.json and its plot DIR/sweep.svg")
	sweepList := fs.String("sweep-lambdas", "", "comma-separated λ_d values for --sweep (0 and the default are always added)")
	lexical := fs.Bool("lexical-init", true, "start a from-scratch student as a bag of words (each token activates its own vocabulary entry; models.LexicalInit), or, with --init, a checkpoint without a trained MLM head with a lexical one (a BertForMaskedLM or SPLADE checkpoint keeps its head); false: random MLM head")
	threshold := fs.Float64("lexical-threshold", models.DefaultLexicalThreshold, "with --lexical-init: the decoder bias −τ that leaves only a token's own entry active")
	noGuard := fs.Bool("no-guard", false, "do not stop when the vectors collapse to zero or stay dense (the report warns instead)")
	logEvery := fs.Int("log-every", 10, "log the loss parts and sparsity every so many steps")
	zeroShot := fs.Bool("zero-shot", false, "do not train: export (DIR/model, a sentence-transformers SparseEncoder folder), index and evaluate the student as it starts, the row that shows what distillation adds")
	fs.require("answer-key", "out")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := tr.check(); err != nil {
		return err
	}
	switch {
	case *perQuery <= 0:
		return errors.New("--passages-per-query must be positive")
	case *lambdaQ < 0 || *lambdaD < 0:
		return errors.New("--lambda-q and --lambda-d must be ≥ 0")
	case *lossName != splade.LossMSE && *lossName != splade.LossMarginMSE:
		return fmt.Errorf("--loss %q: want mse or margin-mse", *lossName)
	case *reg != splade.RegFLOPS && *reg != splade.RegL1:
		return fmt.Errorf("--regularizer %q: want flops or l1", *reg)
	case *bits != 8 && *bits != 16:
		return fmt.Errorf("--bits %d: want 8 or 16", *bits)
	case *qLen < 3 || *dLen < 3:
		return errors.New("--query-max-len and --doc-max-len must be at least 3")
	case !(*biasLR >= 0):
		return fmt.Errorf("--term-bias-lr must be ≥ 0 (0: the default), got %v", *biasLR)
	case *zeroShot && *sweep:
		return errors.New("--zero-shot and --sweep: a sweep trains one student per λ_d; give one of them")
	}
	var sweepLambdas []float64
	if *sweep {
		sweepLambdas = splade.SweepLambdas(cmp.Or(*lambdaD, splade.DefaultLambdaD))
		if *sweepList != "" {
			sweepLambdas = nil
			for _, f := range strings.Split(*sweepList, ",") {
				v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
				if err != nil || v < 0 {
					return fmt.Errorf("--sweep-lambdas: %q is not a number ≥ 0", f)
				}
				sweepLambdas = append(sweepLambdas, v)
			}
		}
	}
	setup, key, _, _, err := model.studentSetup("train splade", *keyPath, *data, *out, tr)
	if err != nil {
		return err
	}
	job := &splade.Job{
		Setup: setup, Key: key,
		Index:  splade.IndexOptions{Bits: *bits, MaxDocTerms: *docTerms},
		Search: splade.SearchOptions{MaxQueryTerms: *queryTerms},
		Depth:  *depth, LexicalInit: *lexical, LexicalThreshold: *threshold, ZeroShot: *zeroShot,
		Train: splade.Options{
			Steps: *tr.steps, QueriesPerBatch: *tr.queries, PassagesPerQuery: *perQuery,
			LambdaQ: *lambdaQ, LambdaD: *lambdaD, Regularizer: *reg, SparsityWarmup: *warmup, Standardize: *standardize, Loss: *lossName,
			QueryMaxLen: *qLen, DocMaxLen: *dLen, Optimizer: tr.optimizer(),
			LogEvery: *logEvery, CheckpointEvery: *tr.ckptEvery, Guard: splade.Guard{Off: *noGuard}, Quiet: *tr.quiet,
		},
	}
	if *biasLR > 0 {
		job.Train.Optimizer.LRMultipliers = map[string]float64{models.SpladeTermBias: *biasLR}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	_, rep, err := job.Run()
	if err != nil {
		return err
	}
	fmt.Printf("%s, %d queries, %d documents (SPLADE: λ_q=%g, λ_d=%g, %s, %d steps):\n", rep.Dataset, rep.Queries, rep.Documents,
		rep.LambdaQ, rep.LambdaD, rep.Regularizer, rep.Steps)
	fmt.Printf("  %-8s %8s %8s %8s %8s\n", "system", "nDCG@10", "RR@10", "R@100", "AP")
	for _, row := range []struct {
		name string
		m    map[string]float64
	}{{"bm25", rep.BM25}, {"splade", rep.Measures}} {
		fmt.Printf("  %-8s %8.4f %8.4f %8.4f %8.4f\n", row.name, row.m["nDCG@10"], row.m["RR@10"], row.m["R@100"], row.m["AP"])
	}
	fmt.Printf("  active terms: %.1f per document, %.1f per query; FLOPS %.2f; median query %.3f ms (encoding %.2f ms)\n",
		rep.AvgDocActive, rep.AvgQueryActive, rep.FLOPS, rep.QueryMs, rep.QueryEncodeMs)
	if rep.Warning != "" {
		fmt.Printf("  warning: %s\n", rep.Warning)
	}
	fmt.Printf("student: %s/model, index: %s/index.splade, report: %s/splade.json\n", *out, *out, *out)
	if !*sweep {
		return nil
	}
	rows, err := splade.Sweep(sweepLambdas, *job)
	if err != nil {
		return err
	}
	fmt.Printf("\nsparsity sweep (%s/sweep.json):\n  %10s %10s %10s %10s %8s %9s\n", *out, "lambda_d", "lambda_q", "doc terms", "flops", "nDCG@10", "query ms")
	for _, r := range rows {
		note := ""
		if r.Warning != "" {
			note = "  (" + strings.SplitN(r.Warning, ":", 2)[0] + ")"
		}
		fmt.Printf("  %10g %10g %10.1f %10.2f %8.4f %9.3f%s\n", r.LambdaD, r.LambdaQ, r.AvgDocActive, r.FLOPS, r.NDCG10, r.QueryMs, note)
	}
	p, err := report.SparsityTradeoff(rows)
	if err != nil {
		return err
	}
	fig := filepath.Join(*out, "sweep.svg")
	if err := report.WriteFigure(fig, p); err != nil {
		return err
	}
	fmt.Printf("  plotted in %s\n", fig)
	return nil
}
