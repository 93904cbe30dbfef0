package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
)

func init() {
	register(&command{
		name:    "negatives",
		summary: "mine BM25 hard negatives and write training groups (query, positives, negatives) as JSONL",
		run:     runNegatives,
	})
}

// trainGroupLine is one line of the negatives command's JSONL output.
type trainGroupLine struct {
	Split         string    `json:"split"`
	QID           string    `json:"qid"`
	Query         string    `json:"query"`
	Positives     []string  `json:"positives"`
	Negatives     []string  `json:"negatives"`
	PositiveTexts *[]string `json:"positive_texts,omitempty"` // only with --texts
	NegativeTexts *[]string `json:"negative_texts,omitempty"` // only with --texts
}

// runNegatives implements `mimicry negatives --data <spec> --depth 100 --count 32 --out train.jsonl`.
func runNegatives(args []string) error {
	fs := newFlags("negatives", "negatives --data <spec> --out train.jsonl [--depth 100] [--count 32] [--texts]", `
Builds training groups from the collection's training queries and judgements, or, for collections
without training queries (Cranfield, CACM), from title → body pairs (weak supervision; evaluation
queries are never used). Negatives are the top --depth BM25 results minus the judged positives.
Each output line is {"split": "train"|"dev", "qid", "query", "positives": [ids], "negatives": [ids]}
plus, with --texts, "positive_texts" and "negative_texts" parallel to the id lists.`)
	data := fs.String("data", "", "collection spec: "+strings.Join(datasetSpecNames(), ", "))
	out := fs.String("out", "", "write the training groups to this JSONL file")
	depth := fs.Int("depth", 100, "BM25 depth of the negative pool")
	count := fs.Int("count", 32, "negatives per query")
	strategy := fs.String("strategy", "top", "how negatives are picked from the pool: top (highest-ranked first) or sample (seeded uniform sample)")
	seed := fs.Int64("seed", 0, "seed of the sampling and of the train/dev split")
	dev := fs.Float64("dev", 0, "fraction of the training queries held out as the dev split (0 ≤ f < 1)")
	maxQueries := fs.Int("max-queries", 0, "use at most this many training queries (0 = all), chosen by the seeded permutation")
	weak := fs.Bool("weak", false, "use title → body weak supervision even when the collection has training queries")
	texts := fs.Bool("texts", false, "include the passage texts (positive_texts, negative_texts) besides the ids")
	k1 := fs.Float64("k1", 0.9, "BM25 k1 of the mining index")
	b := fs.Float64("b", 0.4, "BM25 b of the mining index")
	fs.require("data", "out")
	if err := fs.parse(args); err != nil {
		return err
	}
	strat, err := negatives.ParseStrategy(*strategy)
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
	ts, err := negatives.Build(c, negatives.Options{
		Mine:        negatives.MineConfig{Depth: *depth, Count: *count, Strategy: strat, Seed: *seed},
		BM25:        &params,
		DevFraction: *dev,
		MaxQueries:  *maxQueries,
		Weak:        *weak,
	})
	if err != nil {
		return err
	}
	err = datasets.WriteFileAtomic(*out, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, part := range []struct {
			name   string
			groups []negatives.TrainGroup
		}{{"train", ts.Train}, {"dev", ts.Dev}} {
			for _, g := range part.groups {
				line := trainGroupLine{Split: part.name, QID: g.QID, Query: g.Query, Positives: g.Positives, Negatives: g.Negatives}
				if line.Negatives == nil {
					line.Negatives = []string{}
				}
				if *texts {
					pos, neg := lookupTexts(ts.Texts, g.Positives), lookupTexts(ts.Texts, g.Negatives)
					line.PositiveTexts, line.NegativeTexts = &pos, &neg
				}
				if err := enc.Encode(line); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	nNeg := 0
	for _, g := range ts.Train {
		nNeg += len(g.Negatives)
	}
	mean := 0.0
	if len(ts.Train) > 0 {
		mean = float64(nNeg) / float64(len(ts.Train))
	}
	fmt.Fprintf(os.Stdout, "%s: %d train and %d dev groups (%s), %.1f negatives per train query (depth %d, %s) → %s\n",
		collectionLabel(c, *data), len(ts.Train), len(ts.Dev), ts.Source, mean, *depth, strat, *out)
	return nil
}

// lookupTexts returns the texts of ids.
func lookupTexts(texts map[string]string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = texts[id]
	}
	return out
}
