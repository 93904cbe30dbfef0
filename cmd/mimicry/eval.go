package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

func init() {
	register(&command{
		name:    "eval",
		summary: "evaluate a TREC run file against a collection's judgements (trec_eval's measures)",
		run:     runEval,
	})
}

// runEval implements `mimicry eval --data <spec> --run run.trec --metrics metrics.json`.
func runEval(args []string) error {
	fs := newFlags("eval", "eval --data <spec> --run run.trec [--baseline base.trec] [--metrics metrics.json]", `
Evaluates any TREC run against the collection's evaluation judgements exactly as trec_eval does:
documents ranked by score, ties by document id descending; only queries both in the run and judged
are averaged unless --complete. --baseline compares the run with another one query by query: the
mean difference of each measure and its p-value by the paired randomisation test (10,000 trials).`)
	data := fs.String("data", "", "collection spec whose evaluation qrels to use: "+strings.Join(datasetSpecNames(), ", "))
	runPath := fs.String("run", "", "TREC run file to evaluate (qid Q0 docid rank score tag)")
	metricsPath := fs.String("metrics", "", "write the mean measures as JSON to this file (optional)")
	measures := fs.String("measures", "nDCG@10,RR@10,R@100,AP", "comma-separated ir_measures names (nDCG@k, RR@k, R@k, AP, P@k)")
	baseline := fs.String("baseline", "", "a second TREC run: print each measure's mean difference run − baseline and its paired randomisation p-value")
	complete := fs.Bool("complete", false, "average over every judged query, counting queries missing from the run as 0 (trec_eval -c)")
	fs.require("data", "run")
	if err := fs.parse(args); err != nil {
		return err
	}
	ms, err := eval.ParseMeasures(*measures)
	if err != nil {
		return err
	}
	c, err := datasets.Load(*data)
	if err != nil {
		return err
	}
	entries, err := datasets.LoadTRECRun(*runPath)
	if err != nil {
		return err
	}
	run, err := eval.RunFromEntries(entries)
	if err != nil {
		return fmt.Errorf("%s: %w", *runPath, err)
	}
	res, err := eval.Evaluate(c.Qrels, run, ms, eval.Options{Complete: *complete})
	if err != nil {
		return fmt.Errorf("%s against %s: %w", *runPath, *data, err)
	}
	printRetrievalMetrics(os.Stdout, collectionLabel(c, *data), res)
	if *baseline != "" {
		if err := compareWithBaseline(os.Stdout, c.Qrels, res, *baseline, ms, eval.Options{Complete: *complete}); err != nil {
			return err
		}
	}
	if *metricsPath != "" {
		if err := writeRetrievalMetrics(*metricsPath, collectionLabel(c, *data), res); err != nil {
			return err
		}
	}
	return nil
}

// compareWithBaseline evaluates the baseline run and prints, for each measure, the mean difference
// res − baseline over the queries both evaluate and its paired randomisation p-value.
func compareWithBaseline(w io.Writer, qrels datasets.Qrels, res *eval.Result, path string, ms []eval.Measure, opts eval.Options) error {
	entries, err := datasets.LoadTRECRun(path)
	if err != nil {
		return err
	}
	run, err := eval.RunFromEntries(entries)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	base, err := eval.Evaluate(qrels, run, ms, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(w, "against %s (paired randomisation, 10,000 trials):\n", path)
	for _, m := range ms {
		a, b := map[string]float64{}, map[string]float64{}
		for q, v := range res.PerQuery {
			if bv, ok := base.PerQuery[q]; ok {
				a[q], b[q] = v[m.String()], bv[m.String()]
			}
		}
		diff, p, err := eval.PairedRandomization(a, b, 10000, 1)
		if err != nil {
			return fmt.Errorf("%s against %s: %w", m, path, err)
		}
		fmt.Fprintf(w, "  %-10s %+.4f  p = %.4f  (%d queries)\n", m.String(), diff, p, len(a))
	}
	return nil
}

// datasetSpecNames lists the forms of --data for help texts.
func datasetSpecNames() []string {
	var names []string
	for _, s := range datasets.LoadSpecs {
		names = append(names, strings.Fields(s)[0])
	}
	return names
}

// collectionLabel names a collection in reports: its Name, or the spec it was loaded from.
func collectionLabel(c *datasets.Collection, spec string) string {
	if c.Name != "" {
		return c.Name
	}
	return spec
}

// retrievalMetrics is the content of metrics.json.
type retrievalMetrics struct {
	Dataset  string             `json:"dataset"`
	Queries  int                `json:"queries"`
	Measures map[string]float64 `json:"measures"`
}

// writeRetrievalMetrics writes the means of res as metrics.json, atomically.
func writeRetrievalMetrics(path, dataset string, res *eval.Result) error {
	m := retrievalMetrics{Dataset: dataset, Queries: len(res.Queries), Measures: res.Mean}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	err = datasets.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing metrics %s: %w", path, err)
	}
	return nil
}

// printRetrievalMetrics prints the means, one measure a line, in the order asked.
func printRetrievalMetrics(w io.Writer, dataset string, res *eval.Result) {
	fmt.Fprintf(w, "%s: %d queries\n", dataset, len(res.Queries))
	for _, m := range res.Measures {
		fmt.Fprintf(w, "  %-10s %.4f\n", m.String(), res.Mean[m.String()])
	}
}
