package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
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
	fs := flag.NewFlagSet("train splade", flag.ContinueOnError)
	data := fs.String("data", "synthetic", "collection spec (texts of the answer key's ids, corpus, evaluation queries): "+strings.Join(datasetSpecNames(), ", "))
	keyPath := fs.String("answer-key", "", "the teacher's answer key ({\"qid\",\"pid\",\"score\"} JSONL, from `mimicry annotate`)")
	out := fs.String("out", "", "output directory (checkpoints/, metrics.jsonl, model/, index.splade, run.trec, splade.json); re-running resumes")
	tokDir := fs.String("tokenizer", "", "tokenizer folder or file (default: the teacher's, found through the answer key's .meta.json)")
	vocab := fs.Int("vocab", 0, "train a WordPiece vocabulary of this size on the corpus instead (e.g. for a BM25 answer key)")
	initDir := fs.String("init", "", "Hugging Face folder to start from (a BertForMaskedLM or any BERT, e.g. the teacher); empty: from scratch")
	preset := fs.String("preset", "tiny", "model size when training from scratch: tiny, small or base")
	steps := fs.Int("steps", 300, "optimisation steps")
	lambdaQ := fs.Float64("lambda-q", splade.DefaultLambdaQ, "sparsity weight λ_q of the query vectors")
	lambdaD := fs.Float64("lambda-d", splade.DefaultLambdaD, "sparsity weight λ_d of the document vectors")
	reg := fs.String("regularizer", splade.RegFLOPS, "sparsity penalty: flops (Σ_j mean_j², SPLADE's) or l1")
	standardize := fs.Bool("standardize", false, "fit the teacher's scores standardised per batch (z-scores), so that λ means the same for any teacher; default: the raw scores, which rank better (README, \"The SPLADE student\")")
	warmup := fs.Int("sparsity-warmup", 0, "steps T of the quadratic warm-up λ·min(1,t/T)² (0: a third of --steps; -1: none)")
	lr := fs.Float64("lr", 1e-4, "peak learning rate (AdamW; linear warm-up over 10% of the steps, then linear decay); above 1e-4 a from-scratch student loses its bag-of-words start within 50 steps")
	biasLR := fs.Float64("term-bias-lr", 0, "multiplier of the learning rate of the MLM decoder bias, one activation threshold per vocabulary term (0: splade.DefaultTermBiasLR for a --lexical-init start, 1 otherwise)")
	queries := fs.Int("queries-per-batch", 8, "queries per step")
	perQuery := fs.Int("passages-per-query", 4, "scored passages per query and step")
	qLen := fs.Int("query-max-len", tokenizer.QueryMaxLen, "query length limit in tokens")
	dLen := fs.Int("doc-max-len", tokenizer.DocMaxLen, "passage length limit in tokens")
	bits := fs.Int("bits", 8, "precision of the index's quantised impacts: 8 or 16")
	docTerms := fs.Int("doc-terms", 0, "keep only each document's N heaviest terms in the index (0: all)")
	queryTerms := fs.Int("query-terms", 0, "search only each query's N heaviest terms (0: all)")
	depth := fs.Int("depth", 1000, "documents retrieved per evaluation query")
	sweep := fs.Bool("sweep", false, "also train one student per λ_d (0, the default and spread around --lambda-d) and write DIR/sweep.json")
	sweepList := fs.String("sweep-lambdas", "", "comma-separated λ_d values for --sweep (0 and the default are always added)")
	lexical := fs.Bool("lexical-init", true, "start a from-scratch student as a bag of words (each token activates its own vocabulary entry; models.LexicalInit); false: random MLM head")
	threshold := fs.Float64("lexical-threshold", models.DefaultLexicalThreshold, "with --lexical-init: the decoder bias −τ that leaves only a token's own entry active")
	noGuard := fs.Bool("no-guard", false, "do not stop when the vectors collapse to zero or stay dense (the report warns instead)")
	logEvery := fs.Int("log-every", 10, "log the loss parts and sparsity every so many steps")
	ckptEvery := fs.Int("checkpoint-every", 50, "save a checkpoint every so many steps")
	seed := fs.Int64("seed", 42, "random seed (data order, sampling, initialisation)")
	quiet := fs.Bool("quiet", false, "no progress bars")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mimicry train splade --data <spec> --answer-key FILE --out DIR [--lambda-q X] [--lambda-d X]\n"+
			"                          [--preset tiny] [--steps N] [--regularizer flops|l1] [--standardize] [--sweep] [flags]\n\n"+
			"Distils the teacher's answer key into a SPLADE student: the student's score of (query, passage) is the dot\n"+
			"product of their vocabulary-sized sparse vectors, fitted to the teacher's scores by MSE, plus λ_q·R(queries)\n"+
			"+ λ_d·R(documents) with R the FLOPS (or L1) penalty, warmed up quadratically. Stops with an explanation if\n"+
			"the vectors collapse to zero (λ too high) or stay dense (λ too low). Then exports the student as a Hugging\n"+
			"Face BertForMaskedLM folder (DIR/model), encodes the corpus into an inverted index (DIR/index.splade),\n"+
			"retrieves the evaluation queries (DIR/run.trec) and writes DIR/splade.json: nDCG@10, RR@10, R@100, AP beside\n"+
			"BM25's, average active terms per document and query, FLOPS and the median query latency.\n\n"+
			"The tokenizer is the teacher's: --tokenizer DIR, else the folder the answer key's .meta.json names as teacher\n"+
			"(a `mimicry train teacher` output beside the key), checked against the recorded hash.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" || *keyPath == "" {
		fs.Usage()
		return errors.New("--answer-key and --out are required")
	}
	switch {
	case *steps <= 0 || *queries <= 0 || *perQuery <= 0:
		return errors.New("--steps, --queries-per-batch and --passages-per-query must be positive")
	case *lambdaQ < 0 || *lambdaD < 0:
		return errors.New("--lambda-q and --lambda-d must be ≥ 0")
	case *reg != splade.RegFLOPS && *reg != splade.RegL1:
		return fmt.Errorf("--regularizer %q: want flops or l1", *reg)
	case *bits != 8 && *bits != 16:
		return fmt.Errorf("--bits %d: want 8 or 16", *bits)
	case *qLen < 3 || *dLen < 3:
		return errors.New("--query-max-len and --doc-max-len must be at least 3")
	}
	var sweepLambdas []float64
	if *sweep {
		sweepLambdas = splade.SweepLambdas(*lambdaD)
		if *lambdaD == 0 {
			sweepLambdas = splade.SweepLambdas(splade.DefaultLambdaD)
		}
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

	key, meta, err := datasets.LoadAnswerKey(*keyPath)
	if err != nil {
		return err
	}
	if len(key) == 0 {
		return fmt.Errorf("%s: the answer key is empty", *keyPath)
	}
	if !(*biasLR >= 0) {
		return fmt.Errorf("--term-bias-lr must be ≥ 0 (0: the default), got %v", *biasLR)
	}
	col, err := datasets.Load(*data)
	if err != nil {
		return err
	}
	job := &splade.Job{
		Collection: col, AnswerKey: key, OutDir: *out, Preset: *preset, Init: *initDir, Vocab: *vocab,
		Index:  splade.IndexOptions{Bits: *bits, MaxDocTerms: *docTerms},
		Search: splade.SearchOptions{MaxQueryTerms: *queryTerms},
		Depth:  *depth, Seed: *seed, LexicalInit: *lexical, LexicalThreshold: *threshold,
		Train: splade.Options{
			Steps: *steps, QueriesPerBatch: *queries, PassagesPerQuery: *perQuery,
			LambdaQ: *lambdaQ, LambdaD: *lambdaD, Regularizer: *reg, SparsityWarmup: *warmup, Standardize: *standardize,
			QueryMaxLen: *qLen, DocMaxLen: *dLen,
			Optimizer: &train.Optimizer{LearningRate: *lr, WarmupSteps: *steps / 10, WeightDecay: 0.01, ClipNorm: 1},
			LogEvery:  *logEvery, CheckpointEvery: *ckptEvery, Guard: splade.Guard{Off: *noGuard}, Quiet: *quiet,
		},
	}
	if *biasLR > 0 {
		job.Train.Optimizer.LRMultipliers = map[string]float64{models.SpladeTermBias: *biasLR}
	}
	switch {
	case *tokDir != "":
		if job.Tokenizer, err = spladeLoadTokenizerDir(*tokDir); err != nil {
			return err
		}
	case *initDir != "" || *vocab > 0:
		// The job takes Init's tokenizer or trains one.
	default:
		tk, where, err := spladeTeacherTokenizer(*keyPath, meta)
		if err != nil {
			return err
		}
		if !*quiet {
			fmt.Fprintf(os.Stderr, "splade: tokenizer of the teacher, from %s\n", where)
		}
		job.Tokenizer = tk
	}
	if job.Backend, err = backend.Default(); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	_, _, _, rep, err := job.Run()
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
	return nil
}

// spladeLoadTokenizerDir loads a tokenizer from a folder or file, or from a folder's model/ subfolder.
func spladeLoadTokenizerDir(dir string) (*tokenizer.WordPiece, error) {
	tk, err := tokenizer.LoadFile(dir)
	if err != nil {
		if sub := filepath.Join(dir, "model"); spladeIsDir(sub) {
			if tk2, err2 := tokenizer.LoadFile(sub); err2 == nil {
				return tk2, nil
			}
		}
		return nil, err
	}
	return tk, nil
}

func spladeIsDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// spladeTeacherTokenizer finds the tokenizer of the teacher that made the answer key at keyPath: the folder
// its metadata names (meta.Extra["teacher_dir"], or meta.Teacher as a path, as is or relative to the
// key's folder), checked against the tokenizer hash the metadata records.
func spladeTeacherTokenizer(keyPath string, meta *datasets.AnswerKeyMeta) (*tokenizer.WordPiece, string, error) {
	hint := "give the teacher's tokenizer with --tokenizer DIR (e.g. the `mimicry train teacher` output), or --vocab N to train one"
	if meta == nil {
		return nil, "", fmt.Errorf("%s has no %s, so its teacher is unknown: %s", keyPath, filepath.Base(datasets.AnswerKeyMetaPath(keyPath)), hint)
	}
	if meta.Tokenizer == "" {
		return nil, "", fmt.Errorf("the answer key's teacher %q has no tokenizer (not a model): %s", meta.Teacher, hint)
	}
	var candidates []string
	if d := meta.Extra["teacher_dir"]; d != "" {
		candidates = append(candidates, d, filepath.Join(filepath.Dir(keyPath), d))
	}
	if meta.Teacher != "" {
		candidates = append(candidates, meta.Teacher, filepath.Join(filepath.Dir(keyPath), meta.Teacher))
	}
	var tried []string
	for _, c := range candidates {
		for _, dir := range []string{filepath.Join(c, "model"), c} {
			if !spladeIsDir(dir) {
				continue
			}
			tried = append(tried, dir)
			for _, f := range []string{"tokenizer.json", "vocab.txt"} {
				path := filepath.Join(dir, f)
				h, err := fileSHA256(path)
				if err != nil {
					continue
				}
				if want := f + " sha256:" + h; !strings.Contains(meta.Tokenizer, want) {
					continue
				}
				tk, err := tokenizer.LoadFile(path)
				if err != nil {
					return nil, "", err
				}
				return tk, path, nil
			}
		}
	}
	if len(tried) > 0 {
		return nil, "", fmt.Errorf("the answer key's tokenizer (%s) matches none of %s: %s", meta.Tokenizer, strings.Join(tried, ", "), hint)
	}
	return nil, "", fmt.Errorf("cannot find the folder of the answer key's teacher %q (looked beside %s): %s", meta.Teacher, keyPath, hint)
}
