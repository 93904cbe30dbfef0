package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/annotate"
	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func init() {
	register(&command{
		name:    "train colbert",
		summary: "distil the answer key into a ColBERT student (Margin-MSE, a --recipe beyond it, or the hard-label ablation); index; compare with BM25",
		run:     runTrainColBERT,
	})
	register(&command{
		name:    "retrieve",
		summary: "retrieve with a ColBERT model (exhaustive MaxSim or reranking BM25's top k), write a TREC run and its metrics",
		run:     runRetrieve,
	})
}

// runTrainColBERT implements `mimicry train colbert --data <spec> --answer-key FILE --out DIR`.
func runTrainColBERT(args []string) error {
	fs := newFlags("train colbert", "train colbert --data <spec> --answer-key FILE --out DIR [flags]", `
Distils the teacher's answer key into a ColBERT student: each step draws (query, p1, p2) tuples — a judged
positive against another candidate, two random candidates, or one positive and n negatives — with the
teacher's scores, and fits the student's MaxSim margins to the teacher's (Margin-MSE). --loss hard-labels
trains on the same tuples with the teacher's scores ignored. A held-out slice of the key's queries measures
the agreement of student and teacher margins (Pearson, Kendall τ) in DIR/metrics.jsonl. The student is
exported as a Hugging Face folder (DIR/model), the corpus encoded into DIR/index.colbert, and DIR/colbert.json
compares BM25, ColBERT reranking BM25's top --rerank-depth and exhaustive ColBERT on the evaluation queries.

The tokenizer is the teacher's: --tokenizer DIR, else --init's, else the folder the key's .meta.json names
as teacher (looked up as given, beside the key and one folder up; its tokenizer must match the recorded
SHA-256), else --vocab N trains one.

Recipes beyond the static answer key (--recipe): kl (listwise KL over 1 positive + --negatives, ColBERTv2),
fixed-margin (no teacher: margins regressed on --fixed-margin), online (the --teacher cross-encoder scores
every batch; --refresh-every adds negatives the student retrieves itself), self (a student with twice the
layers learns the key first and re-annotates it for this one, in DIR/self_teacher), multitask (Margin-MSE
+ masked-language modelling + in-batch contrastive, --mlm-weight, --inbatch-weight, --schedule).

--bm25-residual makes the student's score MaxSim + w·BM25 (CLEAR's residual), in training and retrieval;
with a residual teacher (train teacher --bm25-residual) and its w, MaxSim learns the margins of the
teacher's network, not BM25's.`)
	data := fs.dataFlag("synthetic", "texts, BM25, evaluation")
	keyPath := fs.String("answer-key", "", "the teacher's answer key ({\"qid\",\"pid\",\"score\"} JSONL, with its .meta.json)")
	out := fs.String("out", "", "output directory (checkpoints/, metrics.jsonl, model/, index.colbert, runs, colbert.json); re-running resumes")
	model := fs.modelFlags("BERT, ColBERT or cross-encoder encoder", true, false)
	tr := fs.trainFlags(300, 1e-3, 16)
	dim := fs.Int("dim", models.DefaultColBERTDim, "width of the token embeddings")
	loss := fs.String("loss", colbert.LossMarginMSE, "margin-mse (the teacher's margins) or hard-labels (the ablation: judged positives only)")
	hardLoss := fs.String("hard-loss", colbert.HardLossLCE, "loss of --loss hard-labels: lce (softmax over positive + negatives) or hinge")
	pairing := fs.String("pairing", colbert.PairingPositiveVsNegative, "positive-vs-negative, random-pairs or nway (1 positive + --negatives)")
	negs := fs.Int("negatives", 4, "negatives per query with --pairing nway")
	qLen := fs.Int("query-len", tokenizer.QueryMaxLen, "query length in tokens, [MASK]-padded")
	dLen := fs.Int("doc-len", tokenizer.DocMaxLen, "passage length limit in tokens")
	attend := fs.Bool("attend-expansion", false, "let the encoder attend to the queries' [MASK] tokens")
	heldOut := fs.Float64("heldout", 0.1, "fraction of the key's queries held out to measure student/teacher margin agreement")
	evalEvery := fs.Int("eval-every", 100, "evaluate on the held-out queries every so many steps (0: at the end only)")
	rerank := fs.Int("rerank-depth", 100, "BM25 candidates reranked by MaxSim in the final evaluation")
	depth := fs.Int("depth", 1000, "documents per query in the runs")
	exhaustive := fs.Int("exhaustive-max-docs", 100000, "search exhaustively when the corpus has at most this many documents")
	fp16 := fs.Bool("fp16", false, "store the index's embeddings as float16 (half the size)")
	recipe := fs.String("recipe", colbert.RecipeOffline, "how the student learns: "+strings.Join(colbert.Recipes, ", ")+" (sets --loss; see below)")
	teacherDir := fs.String("teacher", "", "--recipe online: the cross-encoder folder run on every batch")
	teacherLen := fs.Int("teacher-max-len", 0, "--recipe online: the teacher's pair length limit (0: the key's recorded length limits, else 212)")
	refresh := fs.Int("refresh-every", 0, "--recipe online: every so many steps, replace the negatives by the student's own top passages (0: never)")
	refreshDepth := fs.Int("refresh-depth", 10, "--refresh-every: the student's top passages kept as negatives per query")
	temperature := fs.Float64("temperature", 1, "--recipe kl: softmax temperature")
	margin := fs.Float64("fixed-margin", 1, "--recipe fixed-margin: the target margin s(p+) − s(p−)")
	mlmWeight := fs.Float64("mlm-weight", 0, "multi-task: weight of the masked-language-model loss (0 with --recipe multitask: 0.5)")
	inBatch := fs.Float64("inbatch-weight", 0, "multi-task: weight of the in-batch contrastive loss (0 with --recipe multitask: 0.5)")
	schedule := fs.String("schedule", "", "multi-task: constant or linear-decay weights (default: linear-decay with --recipe multitask)")
	residual := fs.Bool("bm25-residual", false, "a residual student: its score is MaxSim + w·BM25, w the residual teacher's (found through the key's meta) or --bm25-weight")
	bm25Weight := fs.Float64("bm25-weight", 0, "with --bm25-residual: this weight of BM25 instead of the teacher's")
	projStart := fs.String("projection-start", colbert.ProjectionRandom, "how a fresh projection on --init's body starts: random (N(0, 0.02²), as PyLate) or pca (the body's whitened principal directions over 1,000 passages of --data)")
	zeroShot := fs.Bool("zero-shot", false, "do not train: export (DIR/model), index and evaluate the student as it starts (--init's body, a fresh projection), the row that shows what distillation adds")
	fs.require("answer-key", "out")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := tr.check(); err != nil {
		return err
	}
	if *negs <= 0 || *dim <= 0 || *qLen < 4 || *dLen < 4 || *rerank <= 0 || *depth <= 0 {
		return errors.New("--negatives, --dim, --rerank-depth and --depth must be positive, --query-len and --doc-len at least 4")
	}
	if *heldOut < 0 || *heldOut >= 1 {
		return fmt.Errorf("--heldout must be in [0, 1), got %v", *heldOut)
	}
	if fs.isSet("loss") && *recipe != colbert.RecipeOffline {
		return fmt.Errorf("--loss and --recipe %s both choose the loss: use one of them", *recipe)
	}
	if !slices.Contains(colbert.Recipes, *recipe) {
		return fmt.Errorf("--recipe %q: want one of %s", *recipe, strings.Join(colbert.Recipes, ", "))
	}
	if (*teacherDir != "") != (*recipe == colbert.RecipeOnline) {
		return errors.New("--teacher DIR goes with --recipe online, and only with it")
	}
	if !slices.Contains(colbert.ProjectionStarts, *projStart) {
		return fmt.Errorf("--projection-start %q: want one of %s", *projStart, strings.Join(colbert.ProjectionStarts, ", "))
	}
	if *zeroShot && *recipe != colbert.RecipeOffline {
		return fmt.Errorf("--zero-shot and --recipe %s: a zero-shot student is not trained by any recipe", *recipe)
	}
	if *bm25Weight < 0 || (*bm25Weight > 0 && !*residual) {
		return errors.New("--bm25-weight must be positive and goes with --bm25-residual")
	}
	setup, key, meta, tkDir, err := model.studentSetup("train colbert", *keyPath, *data, *out, tr)
	if err != nil {
		return err
	}
	job := &colbert.Job{
		Setup: setup, Key: key, KeyMeta: meta, Dim: *dim, RerankDepth: *rerank, Depth: *depth, ExhaustiveMaxDocs: *exhaustive,
		BM25Weight: *bm25Weight, Recipe: *recipe, ZeroShot: *zeroShot, ProjectionStart: *projStart,
		Train: colbert.Options{
			Steps: *tr.steps, QueriesPerBatch: *tr.queries, Pairing: *pairing, Negatives: *negs, Loss: *loss, HardLoss: *hardLoss,
			QueryLen: *qLen, DocLen: *dLen, AttendExpansion: *attend, HeldOutFraction: *heldOut,
			Optimizer: tr.optimizer(), CheckpointEvery: *tr.ckptEvery, EvalEvery: *evalEvery, Quiet: *tr.quiet,
			RefreshEvery: *refresh, RefreshDepth: *refreshDepth, Temperature: *temperature, FixedMargin: *margin,
			MLMWeight: *mlmWeight, InBatchWeight: *inBatch, AuxSchedule: *schedule,
		},
	}
	if *heldOut == 0 {
		job.Train.HeldOutFraction = -1
	}
	if *residual && *bm25Weight == 0 {
		if tkDir == "" {
			if tkDir, err = annotate.FindTeacher(*keyPath, meta); err != nil {
				return fmt.Errorf("--bm25-residual takes the teacher's weight of BM25, but: %w (or give --bm25-weight W)", err)
			}
		}
		if job.BM25Weight, err = annotate.TeacherBM25Weight(tkDir); err != nil {
			return fmt.Errorf("--bm25-residual: %w; give --bm25-weight W", err)
		}
	}
	if *fp16 {
		job.IndexDType = colbert.IndexFloat16
	}
	if *teacherDir != "" {
		n := *teacherLen
		if n == 0 && meta != nil && meta.MaxQueryLength > 0 && meta.MaxDocLength > 0 {
			n = max(meta.MaxQueryLength, meta.MaxDocLength)
		}
		ce, _, err := teacher.Load(*teacherDir, setup.Backend, cmp.Or(n, tokenizer.PairMaxLen), 0)
		if err != nil {
			return fmt.Errorf("--teacher: %w", err)
		}
		if err := ce.UseCollection(setup.Collection); err != nil {
			return err
		}
		job.Teacher = ce
	}
	_, rep, err := job.Run()
	if err != nil {
		return err
	}
	fmt.Printf("%s, %d queries, %d documents; student trained %d steps (recipe %s: %s, %s) in %.0f s:\n",
		rep.Dataset, rep.Queries, rep.Docs, rep.Steps, rep.Recipe, rep.Loss, rep.Pairing, rep.TrainSecs)
	if rep.OnlinePairs > 0 {
		fmt.Printf("online teacher: %d pairs scored in the loop in %.1f s (%.0f pairs/s)\n", rep.OnlinePairs, rep.OnlineSecs, float64(rep.OnlinePairs)/max(rep.OnlineSecs, 1e-9))
	}
	if rep.SelfTeacher != nil {
		fmt.Printf("self-distillation: the larger student (%s) reached nDCG@10 %.4f reranking; it took %.0f s with the re-annotation\n",
			filepath.Join(*out, "self_teacher"), rep.SelfTeacher.ColBERTRerank["nDCG@10"], rep.SelfSecs)
	}
	fmt.Printf("  %-22s %8s %8s %8s %8s\n", "system", "nDCG@10", "RR@10", "R@100", "AP")
	rows := []struct {
		name string
		m    map[string]float64
	}{{"bm25", rep.BM25}, {fmt.Sprintf("colbert rerank bm25@%d", rep.RerankDepth), rep.ColBERTRerank}}
	if rep.ColBERT != nil {
		rows = append(rows, struct {
			name string
			m    map[string]float64
		}{"colbert (exhaustive)", rep.ColBERT})
	}
	if rep.MaxSimRerank != nil {
		rows = append(rows, struct {
			name string
			m    map[string]float64
		}{fmt.Sprintf("  MaxSim alone (− %.3f·BM25)", rep.BM25Weight), rep.MaxSimRerank})
	}
	for _, row := range rows {
		fmt.Printf("  %-22s %8.4f %8.4f %8.4f %8.4f\n", row.name, row.m["nDCG@10"], row.m["RR@10"], row.m["R@100"], row.m["AP"])
	}
	if h := rep.HeldOut; h != nil {
		fmt.Printf("held-out margins: Pearson %.3f (untrained %.3f), Kendall τ %.3f (untrained %.3f)\n",
			h[colbert.MetricMarginPearson], rep.InitialHeldOut[colbert.MetricMarginPearson],
			h[colbert.MetricMarginKendall], rep.InitialHeldOut[colbert.MetricMarginKendall])
	}
	fmt.Printf("student: %s, index: %s (%d tokens, %s), report: %s\n", filepath.Join(*out, "model"),
		filepath.Join(*out, "index.colbert"), rep.IndexTokens, rep.IndexDType, filepath.Join(*out, "colbert.json"))
	return nil
}

// runRetrieve implements `mimicry retrieve --model DIR --data <spec> --run run.trec`.
func runRetrieve(args []string) error {
	fs := newFlags("retrieve", "retrieve --model DIR --data <spec> --run run.trec [--metrics m.json] [--rerank-bm25 K] [--index FILE]", "Encodes the corpus with a ColBERT model (or reads --index), scores the evaluation queries by MaxSim in\nplain Go — against every document, or against BM25's top K with --rerank-bm25 K — writes the top --k as a\nTREC run and evaluates it like `mimicry eval`.")
	modelDir := fs.String("model", "", "ColBERT model folder (Hugging Face layout, e.g. the model/ of `mimicry train colbert`)")
	data := fs.String("data", "", "collection spec: "+strings.Join(datasetSpecNames(), ", "))
	runPath := fs.String("run", "", "write the TREC run of the evaluation queries to this file")
	metricsPath := fs.String("metrics", "", "write the mean measures as JSON to this file (optional)")
	rerankK := fs.Int("rerank-bm25", 0, "rerank BM25's top K with MaxSim instead of searching every document (0: exhaustive)")
	k := fs.Int("k", 1000, "documents per query in the run")
	indexPath := fs.String("index", "", "ColBERT index file: read when it exists (and matches the model and corpus), else built and written there")
	fp16 := fs.Bool("fp16", false, "write a new --index with float16 embeddings")
	batch := fs.Int("batch", score.DefaultBatchSize, "texts per forward pass when encoding")
	tag := fs.String("tag", "mimicry-colbert", "run tag (last column of the run file)")
	measures := fs.String("measures", "nDCG@10,RR@10,R@100,AP", "comma-separated ir_measures names to report")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.require("model", "data", "run")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *k <= 0 || *rerankK < 0 || *batch <= 0 {
		return errors.New("--k and --batch must be positive and --rerank-bm25 not negative")
	}
	ms, err := eval.ParseMeasures(*measures)
	if err != nil {
		return err
	}
	c, err := datasets.Load(*data)
	if err != nil {
		return err
	}
	if len(c.Queries) == 0 {
		return fmt.Errorf("%s has no evaluation queries", *data)
	}
	label := collectionLabel(c, *data)
	run, err := colbertRun(c, label, colbertRunOptions{Model: *modelDir, Index: *indexPath, FP16: *fp16, RerankBM25: *rerankK,
		K: *k, Batch: *batch, Quiet: *quiet})
	if err != nil {
		return err
	}
	entries, err := datasets.RankRun(run, *tag, *k)
	if err != nil {
		return err
	}
	if err := datasets.WriteTRECRun(*runPath, entries); err != nil {
		return fmt.Errorf("writing run %s: %w", *runPath, err)
	}
	if run, err = eval.RunFromEntries(entries); err != nil { // evaluate exactly what the file holds
		return err
	}
	res, err := eval.Evaluate(c.Qrels, run, ms, eval.Options{})
	if err != nil {
		return fmt.Errorf("evaluating %s: %w", *runPath, err)
	}
	printRetrievalMetrics(os.Stdout, label, res)
	if *metricsPath != "" {
		return writeRetrievalMetrics(*metricsPath, label, res)
	}
	return nil
}

// colbertRunOptions configure colbertRun.
type colbertRunOptions struct {
	// Model is the ColBERT model folder.
	Model string
	// Index is the index file to read, or to write when absent ("": encode in memory).
	Index string
	// FP16 writes a new index with float16 embeddings.
	FP16 bool
	// RerankBM25 > 0 reranks BM25's top RerankBM25 instead of searching every document.
	RerankBM25 int
	// K is the number of documents kept per query by the exhaustive search.
	K int
	// Batch is the encoder's batch size.
	Batch int
	// Quiet hides the progress bar.
	Quiet bool
}

// colbertRun retrieves the collection's evaluation queries with a ColBERT model: it loads the model,
// reads or builds the corpus index, and scores by MaxSim in plain Go, exhaustively or over BM25's top
// k. It is the whole of `retrieve` but writing and evaluating the run, so that `eval --model` can
// call it too. Timings go to standard error, labelled with label.
func colbertRun(c *datasets.Collection, label string, o colbertRunOptions) (eval.Run, error) {
	be, err := backend.Default()
	if err != nil {
		return nil, err
	}
	enc, err := colbert.Load(o.Model, be)
	if err != nil {
		return nil, err
	}
	enc.BatchSize, enc.Quiet = o.Batch, o.Quiet
	start := time.Now()
	ix, built, err := retrieveIndex(enc, c, o.Index, o.FP16)
	if err != nil {
		return nil, err
	}
	if built {
		fmt.Fprintf(os.Stderr, "retrieve: %s: %d documents encoded into %d token embeddings in %v\n", label, ix.Len(), ix.Meta.Tokens, time.Since(start).Round(time.Millisecond))
	}
	start = time.Now()
	var bix *bm25.Index
	if o.RerankBM25 > 0 || enc.BM25Weight() > 0 {
		if bix, err = bm25.Build(c.Docs, bm25.Config{}); err != nil {
			return nil, err
		}
		enc.BM25 = bix
	}
	var run eval.Run
	mode := "exhaustive MaxSim"
	if o.RerankBM25 > 0 {
		if run, err = ix.Rerank(enc, c.Queries, score.Candidates(bix, c.Queries, o.RerankBM25)); err != nil {
			return nil, err
		}
		mode = fmt.Sprintf("MaxSim reranking of BM25's top %d", o.RerankBM25)
	} else if run, err = ix.SearchExhaustive(enc, c.Queries, o.K); err != nil {
		return nil, err
	}
	if w := enc.BM25Weight(); w > 0 {
		mode += fmt.Sprintf(" + %.3f·BM25 (a residual student)", w)
	}
	fmt.Fprintf(os.Stderr, "retrieve: %s: %d queries, %s, in %v\n", label, len(c.Queries), mode, time.Since(start).Round(time.Millisecond))
	return run, nil
}

// retrieveIndex reads the index at path when it exists — checking that it was built with the
// model's settings over the collection's documents — and otherwise encodes the corpus (writing the
// index to path when given).
func retrieveIndex(enc *colbert.Encoder, c *datasets.Collection, path string, fp16 bool) (*colbert.Index, bool, error) {
	if path != "" {
		ix, err := colbert.ReadIndex(path)
		if err == nil {
			if err := ix.CheckEncoder(enc); err != nil {
				return nil, false, fmt.Errorf("%s: %w (delete it to rebuild)", path, err)
			}
			if ix.Len() != len(c.Docs) {
				return nil, false, fmt.Errorf("%s indexes %d documents, the collection has %d (delete it to rebuild)", path, ix.Len(), len(c.Docs))
			}
			for i, d := range c.Docs {
				if ix.DocIDs[i] != d.ID {
					return nil, false, fmt.Errorf("%s: document %d is %q, the collection's is %q (delete it to rebuild)", path, i+1, ix.DocIDs[i], d.ID)
				}
			}
			return ix, false, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, false, err
		}
	}
	ix, err := colbert.BuildIndex(enc, c.Docs)
	if err != nil {
		return nil, false, err
	}
	if path != "" {
		ix.Meta.Collection, ix.Meta.Model = c.Name, enc.Name()
		dtype := colbert.IndexFloat32
		if fp16 {
			dtype = colbert.IndexFloat16
		}
		if err := ix.Write(path, dtype); err != nil {
			return nil, false, err
		}
	}
	return ix, true, nil
}
