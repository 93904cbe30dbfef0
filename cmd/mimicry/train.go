package main

import (
	"errors"
	"fmt"

	"github.com/mimicry-ir/mimicry/distill/teacher"
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
	fs := newFlags("train teacher", "train teacher --data <spec> --out DIR [flags]", `
Builds the hard-negative training set (BM25, or title→body weak supervision for collections without
training queries), fine-tunes a cross-encoder on it, exports it as a Hugging Face folder (DIR/model)
and writes DIR/teacher.json: BM25 and the teacher reranking BM25's top --rerank-depth.`)
	data := fs.dataFlag("synthetic", "training and evaluation queries")
	out := fs.String("out", "", "output directory (checkpoints/, metrics.jsonl, model/, teacher.json); re-running resumes")
	model := fs.modelFlags("BERT or cross-encoder", false, true)
	tr := fs.trainFlags(300, 1e-3, 8)
	loss := fs.String("loss", teacher.LossLCE, "lce (listwise softmax over 1+n) or bce (pointwise)")
	negs := fs.Int("negatives", 7, "hard negatives per group and step")
	depth := fs.Int("depth", 50, "BM25 depth from which negatives are mined")
	maxLen := fs.Int("max-len", 128, "maximum pair length in tokens")
	rerank := fs.Int("rerank-depth", 100, "BM25 candidates reranked by the final evaluation")
	evalEvery := fs.Int("eval-every", 100, "evaluate on the dev groups every so many steps (0: never)")
	keepBest := fs.Bool("keep-best", true, "end with the weights of the dev evaluation with the highest nDCG@10, not the last step's (needs --eval-every > 0)")
	mark := fs.Bool("mark-matches", false, "mark the words query and passage share before tokenisation (MarkedBERT); recorded in the model's config.json")
	rareDF := fs.Float64("mark-rare-df", teacher.DefaultMarkRareDF, "with --mark-matches: shared words in fewer than this fraction of the documents get a marker of their own (0: one marker for all)")
	dense := fs.Bool("dense-residual", false, "with --init: add w'·cos(query, passage) under --init as a frozen bi-encoder to the score, w' fitted with BM25's (recorded in config.json)")
	residual := fs.Bool("bm25-residual", false, "train a residual teacher: its score is its logit plus w·BM25, w fitted on the training queries (recorded in config.json; scoring it needs the collection)")
	fs.require("out")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := tr.check(); err != nil {
		return err
	}
	if *rareDF < 0 || *rareDF >= 1 {
		return fmt.Errorf("--mark-rare-df %g: want a fraction in [0, 1)", *rareDF)
	}
	if *negs <= 0 || *maxLen < 8 {
		return errors.New("--negatives must be positive and --max-len at least 8")
	}
	setup, err := model.setup(*data, *out, *tr.seed)
	if err != nil {
		return err
	}
	job := &teacher.Job{
		Setup: setup, Depth: *depth, RerankDepth: *rerank, MarkExactMatches: *mark, MarkRareDF: *rareDF, BM25Residual: *residual, DenseResidual: *dense,
		Train: teacher.Options{
			Steps: *tr.steps, QueriesPerBatch: *tr.queries, Negatives: *negs, Loss: *loss, MaxLen: *maxLen,
			Optimizer: tr.optimizer(), CheckpointEvery: *tr.ckptEvery, EvalEvery: *evalEvery, Quiet: *tr.quiet,
		},
	}
	if *keepBest && *evalEvery > 0 {
		job.Train.SelectBy = "nDCG@10"
	}
	_, rep, err := job.Run()
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
	if rep.Residual != nil {
		fmt.Printf("  %-8s %8.4f %8.4f %8.4f   (%.3f·BM25 + %.3f·cos, without the network)\n", "residual", rep.Residual["nDCG@10"], rep.Residual["RR@10"], rep.Residual["AP"], rep.BM25Weight, rep.DenseWeight)
		fmt.Printf("  %-8s %8.4f %8.4f %8.4f   (the teacher without its residual terms)\n", "network", rep.Network["nDCG@10"], rep.Network["RR@10"], rep.Network["AP"])
	}
	fmt.Printf("teacher − bm25: %+.4f nDCG@10 (paired randomisation test, %d queries: p = %.3f)\n", rep.GainNDCG10, rep.Queries, rep.GainP)
	if rep.BestStep > 0 {
		fmt.Printf("weights of step %d (dev nDCG@10 %.4f, the best of the run)\n", rep.BestStep, rep.BestDev["nDCG@10"])
	}
	fmt.Printf("teacher model: %s/model, report: %s/teacher.json\n", *out, *out)
	return nil
}
