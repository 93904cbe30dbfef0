package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

func init() {
	register(&command{
		name:    "bm25",
		summary: "retrieve with BM25 (Anserini's defaults), write a TREC run and its metrics",
		run:     runBM25,
	})
}

// runBM25 implements `mimicry bm25 --data <spec> --run run.trec --metrics metrics.json`.
func runBM25(args []string) error {
	fs := newFlags("bm25", "bm25 --data <spec> --run run.trec [--metrics metrics.json] [--k 1000] [--k1 0.9 --b 0.4]", `
Indexes the collection in memory (Lucene's BM25 and EnglishAnalyzer, as Anserini), retrieves the top k
documents of each evaluation query, writes them as a TREC run and evaluates it like trec_eval.`)
	data := fs.String("data", "", "collection spec: "+strings.Join(datasetSpecNames(), ", "))
	runPath := fs.String("run", "", "write the TREC run of the evaluation queries to this file")
	metricsPath := fs.String("metrics", "", "write the mean measures as JSON to this file (optional)")
	k := fs.Int("k", 1000, "documents retrieved per query")
	k1 := fs.Float64("k1", 0.9, "BM25 k1 (term-frequency saturation)")
	b := fs.Float64("b", 0.4, "BM25 b (length normalisation)")
	stem := fs.Bool("stem", true, "Porter stemming")
	stop := fs.Bool("stopwords", true, "remove Lucene's English stop words")
	tag := fs.String("tag", "mimicry-bm25", "run tag (last column of the run file)")
	measures := fs.String("measures", "nDCG@10,RR@10,R@100,AP", "comma-separated ir_measures names to report")
	fs.require("data", "run")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *k <= 0 {
		return fmt.Errorf("--k must be positive, got %d", *k)
	}
	ms, err := eval.ParseMeasures(*measures)
	if err != nil {
		return err
	}
	params := bm25.Params{K1: *k1, B: *b}
	if err := params.Validate(); err != nil {
		return err
	}
	c, err := datasets.Load(*data)
	if err != nil {
		return err
	}
	if len(c.Queries) == 0 {
		return fmt.Errorf("%s has no evaluation queries", *data)
	}
	an := bm25.DefaultAnalyzer()
	an.Stem = *stem
	if !*stop {
		an.StopWords = nil
	}
	start := time.Now()
	ix, err := bm25.Build(c.Docs, bm25.Config{Params: &params, Analyzer: an})
	if err != nil {
		return err
	}
	indexed := time.Since(start)
	start = time.Now()
	hits := ix.SearchBatch(c.Queries, *k)
	searched := time.Since(start)

	var entries []datasets.RunEntry
	run := eval.Run{}
	for _, q := range c.Queries {
		docs := map[string]float64{}
		for i, h := range hits[q.ID] {
			entries = append(entries, datasets.RunEntry{QueryID: q.ID, DocID: h.DocID, Rank: i + 1, Score: h.Score, Tag: *tag})
			docs[h.DocID] = h.Score
		}
		if len(docs) > 0 {
			run[q.ID] = docs
		}
	}
	if err := datasets.WriteTRECRun(*runPath, entries); err != nil {
		return fmt.Errorf("writing run %s: %w", *runPath, err)
	}
	label := collectionLabel(c, *data)
	fmt.Fprintf(os.Stderr, "bm25: %s: %d documents indexed in %v, %d queries searched in %v (k1=%g b=%g, k=%d) → %s\n",
		label, ix.Len(), indexed.Round(time.Millisecond), len(c.Queries), searched.Round(time.Millisecond), params.K1, params.B, *k, *runPath)
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
