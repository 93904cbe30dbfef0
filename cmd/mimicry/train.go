package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
)

func init() {
	register(&command{
		name:    "train teacher",
		summary: "fine-tune the cross-encoder teacher on BM25 hard negatives; export it; compare it with BM25",
		run:     runTrainTeacher,
	})
}

// runTrainTeacher implements `mimicry train teacher --data <spec> --preset tiny --steps N --out DIR`.
func runTrainTeacher(args []string) error {
	fs := flag.NewFlagSet("train teacher", flag.ContinueOnError)
	data := fs.String("data", "synthetic", "collection spec: "+strings.Join(datasetSpecNames(), ", "))
	out := fs.String("out", "", "output directory (checkpoints/, metrics.jsonl, model/, teacher.json); re-running resumes")
	preset := fs.String("preset", "tiny", "model size when training from scratch: tiny, small or base")
	hidden := fs.Int("hidden", 0, "override the preset's hidden size (0: the preset's)")
	layers := fs.Int("layers", 0, "override the preset's number of layers (0: the preset's)")
	dropout := fs.Float64("dropout", -1, "override the preset's dropout probability (hidden and attention; -1: the preset's)")
	initDir := fs.String("init", "", "Hugging Face folder to start from (BERT or cross-encoder); empty: from scratch")
	vocab := fs.Int("vocab", 0, "train a WordPiece vocabulary of this size on the corpus (0: bert-base-uncased's)")
	steps := fs.Int("steps", 300, "optimisation steps")
	loss := fs.String("loss", teacher.LossLCE, "lce (listwise softmax over 1+n) or bce (pointwise)")
	lr := fs.Float64("lr", 1e-3, "peak learning rate (AdamW; linear warm-up over 10% of the steps, then linear decay)")
	queries := fs.Int("queries-per-batch", 8, "training groups per step")
	negs := fs.Int("negatives", 7, "hard negatives per group and step")
	depth := fs.Int("depth", 50, "BM25 depth from which negatives are mined")
	maxLen := fs.Int("max-len", 128, "maximum pair length in tokens")
	rerank := fs.Int("rerank-depth", 100, "BM25 candidates reranked by the final evaluation")
	evalEvery := fs.Int("eval-every", 100, "evaluate on the dev groups every so many steps (0: never)")
	ckptEvery := fs.Int("checkpoint-every", 50, "save a checkpoint every so many steps")
	seed := fs.Int64("seed", 42, "random seed (data order, sampling, initialisation)")
	keepBest := fs.Bool("keep-best", true, "end with the weights of the dev evaluation with the highest nDCG@10, not the last step's (needs --eval-every > 0)")
	mark := fs.Bool("mark-matches", false, "mark the words query and passage share before tokenisation (MarkedBERT); recorded in the model's config.json")
	rareDF := fs.Float64("mark-rare-df", teacher.DefaultMarkRareDF, "with --mark-matches: shared words in fewer than this fraction of the documents get a marker of their own (0: one marker for all)")
	residual := fs.Bool("bm25-residual", false, "train a residual teacher: its score is its logit plus w·BM25, w fitted on the training queries (recorded in config.json; scoring it needs the collection)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mimicry train teacher --data <spec> --out DIR [flags]\n\n"+
			"Builds the hard-negative training set (BM25, or title→body weak supervision for collections without\n"+
			"training queries), fine-tunes a cross-encoder on it, exports it as a Hugging Face folder (DIR/model)\n"+
			"and writes DIR/teacher.json: BM25 and the teacher reranking BM25's top --rerank-depth.\n\nFlags:\n")
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
	if *out == "" {
		fs.Usage()
		return errors.New("--out is required")
	}
	if *rareDF < 0 || *rareDF >= 1 {
		return fmt.Errorf("--mark-rare-df %g: want a fraction in [0, 1)", *rareDF)
	}
	if *steps <= 0 || *queries <= 0 || *negs <= 0 || *maxLen < 8 {
		return errors.New("--steps, --queries-per-batch and --negatives must be positive and --max-len at least 8")
	}
	col, err := datasets.Load(*data)
	if err != nil {
		return err
	}
	be, err := backend.Default()
	if err != nil {
		return err
	}
	job := &teacher.Job{
		Collection: col, Backend: be, OutDir: *out, Preset: *preset, Init: *initDir, Vocab: *vocab,
		Depth: *depth, RerankDepth: *rerank, Seed: *seed, MarkExactMatches: *mark, MarkRareDF: *rareDF,
		BM25Residual: *residual,
		Train: teacher.Options{
			Steps: *steps, QueriesPerBatch: *queries, Negatives: *negs, Loss: *loss, MaxLen: *maxLen,
			Optimizer:       &train.Optimizer{LearningRate: *lr, WarmupSteps: *steps / 10, WeightDecay: 0.01, ClipNorm: 1},
			CheckpointEvery: *ckptEvery, EvalEvery: *evalEvery,
		},
	}
	if *hidden > 0 || *layers > 0 || *dropout >= 0 {
		if *initDir != "" {
			return errors.New("--hidden, --layers and --dropout shape a model trained from scratch; they cannot be combined with --init")
		}
		if *dropout >= 1 {
			return fmt.Errorf("--dropout %g: want a probability below 1", *dropout)
		}
		cfg, err := resizedPreset(*preset, *hidden, *layers)
		if err != nil {
			return err
		}
		if *dropout >= 0 {
			cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = *dropout, *dropout
		}
		job.Config = cfg
	}
	if *keepBest && *evalEvery > 0 {
		job.Train.SelectBy = "nDCG@10"
	}
	_, _, rep, err := job.Run()
	if err != nil {
		return err
	}
	fmt.Printf("%s, %d queries, reranking BM25 top %d:\n", rep.Dataset, rep.Queries, rep.RerankDepth)
	fmt.Printf("  %-8s %8s %8s %8s\n", "system", "nDCG@10", "RR@10", "AP")
	for _, row := range []struct {
		name string
		m    map[string]float64
	}{{"bm25", rep.BM25}, {"teacher", rep.Teacher}} {
		fmt.Printf("  %-8s %8.4f %8.4f %8.4f\n", row.name, row.m["nDCG@10"], row.m["RR@10"], row.m["AP"])
	}
	if rep.BM25Weight > 0 {
		fmt.Printf("  %-8s %8.4f %8.4f %8.4f   (the teacher without its %.3f·BM25 term)\n", "network", rep.Network["nDCG@10"], rep.Network["RR@10"], rep.Network["AP"], rep.BM25Weight)
	}
	fmt.Printf("teacher − bm25: %+.4f nDCG@10 (paired randomisation test, %d queries: p = %.3f)\n", rep.GainNDCG10, rep.Queries, rep.GainP)
	if rep.BestStep > 0 {
		fmt.Printf("weights of step %d (dev nDCG@10 %.4f, the best of the run)\n", rep.BestStep, rep.BestDev["nDCG@10"])
	}
	fmt.Printf("teacher model: %s/model, report: %s/teacher.json\n", *out, *out)
	return nil
}

// resizedPreset is a preset's configuration with its width and depth changed (0 keeps either); the
// jobs set its vocabulary size from their tokenizer.
func resizedPreset(preset string, hidden, layers int) (*models.Config, error) {
	cfg, err := models.NewConfig(preset, 1)
	if err != nil {
		return nil, err
	}
	if err := cfg.Resize(hidden, layers); err != nil {
		return nil, fmt.Errorf("--hidden %d --layers %d: %w", hidden, layers, err)
	}
	return cfg, nil
}
