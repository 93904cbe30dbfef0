package eval_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/models/bench"
)

// parityTolerance is the largest difference allowed between Mimicry's and ir_measures' value of a
// measure on one query.
const parityTolerance = 1e-6

// parityMeasures are the measures checked: the reported ones, cutoffs that bite and the uncut forms.
var parityMeasures = "nDCG@10,nDCG@3,nDCG,RR@10,RR,R@100,R@5,AP,AP@10,P@5,P@10"

// irMeasures returns run path → query → measure → value as ir_measures' pytrec_eval provider
// (trec_eval's code) computes them.
func irMeasures(t *testing.T, qrelsPath string, runPaths []string) map[string]map[string]map[string]float64 {
	t.Helper()
	py := bench.FindPython()
	if py == "" {
		t.Skip("no .venv with the Python extras (python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt)")
	}
	if out, err := exec.Command(py, "-c", "import ir_measures, pytrec_eval").CombinedOutput(); err != nil {
		t.Skipf("%s lacks ir_measures (an extra of docker/requirements.txt): %v\n%s", py, err, out)
	}
	cmd := exec.Command(py, append([]string{"irmeasures.py", qrelsPath, parityMeasures}, runPaths...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("irmeasures.py: %v", err)
	}
	var res map[string]map[string]map[string]float64
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("irmeasures.py output: %v", err)
	}
	return res
}

// checkParity evaluates each run with Mimicry and compares every query's every measure, and the set
// of evaluated queries, with ir_measures. One documented convention differs and is checked as such:
// ir_measures also reports judged queries missing from the run, as zeros (trec_eval -c); Mimicry, like
// trec_eval's default and BEIR, evaluates the queries of the run only.
func checkParity(t *testing.T, qrels datasets.Qrels, runs map[string][]datasets.RunEntry) {
	t.Helper()
	dir := t.TempDir()
	qrelsPath := filepath.Join(dir, "qrels.txt")
	if err := datasets.WriteTRECQrels(qrelsPath, qrels); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for name, entries := range runs {
		p := filepath.Join(dir, name+".trec")
		if err := datasets.WriteTRECRun(p, entries); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	ir := irMeasures(t, qrelsPath, paths)
	measures, err := eval.ParseMeasures(parityMeasures)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".trec")
		entries, err := datasets.LoadTRECRun(p) // what was written, scores as ir_measures read them
		if err != nil {
			t.Fatal(err)
		}
		run, err := eval.RunFromEntries(entries)
		if err != nil {
			t.Fatal(err)
		}
		got, err := eval.Evaluate(qrels, run, measures, eval.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := ir[p]
		inRun := map[string]bool{}
		for _, q := range got.Queries {
			inRun[q] = true
		}
		for q, values := range want {
			if inRun[q] {
				continue
			}
			if _, judged := qrels[q]; !judged || run[q] != nil {
				t.Errorf("%s: ir_measures evaluates query %s, Mimicry does not", name, q)
			}
			for m, v := range values {
				if v != 0 {
					t.Errorf("%s: query %s is not in the run, yet ir_measures gives it %s = %g", name, q, m, v)
				}
			}
		}
		worst, where := 0.0, ""
		for _, q := range got.Queries {
			for _, m := range measures {
				w, ok := want[q][m.String()]
				if !ok {
					t.Errorf("%s: ir_measures has no %s for query %s", name, m, q)
					continue
				}
				if d := math.Abs(got.PerQuery[q][m.String()] - w); d > worst {
					worst, where = d, fmt.Sprintf("%s on %s (Mimicry %.9f, ir_measures %.9f)", m, q, got.PerQuery[q][m.String()], w)
				}
			}
		}
		if worst > parityTolerance {
			t.Errorf("%s: max |Δ| = %.3g > %g: %s", name, worst, parityTolerance, where)
		}
		t.Logf("%s: %d queries × %d measures, max |Δ| = %.3g; nDCG@10 %.4f", name, len(got.Queries), len(measures), worst, got.Mean["nDCG@10"])
	}
}

// TestMeasuresEqualIRMeasures: on seeded runs made to trip an evaluator (ties broken by document id,
// graded and zero grades, unjudged and never-retrieved relevant documents, queries without
// judgements, judged queries with no relevant document, runs shorter than the cutoffs), every
// query's every measure equals ir_measures' within 1e-6.
func TestMeasuresEqualIRMeasures(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	qrels := datasets.Qrels{}
	for q := 0; q < 60; q++ {
		qid := fmt.Sprintf("q%d", q)
		if q%10 == 9 {
			continue // in the runs, not judged
		}
		for j := 0; j < 1+rng.IntN(12); j++ {
			grade := rng.IntN(4) // 0 (judged non-relevant) to 3
			if q%10 == 8 {
				grade = 0 // judged, nothing relevant
			}
			qrels.Add(qid, fmt.Sprintf("d%d", rng.IntN(80)), grade)
		}
	}
	runs := map[string][]datasets.RunEntry{}
	for r, ties := range []float64{0, 0.1, 0.5} { // score grid: 0 = continuous, else many ties
		var entries []datasets.RunEntry
		for q := 0; q < 60; q++ {
			seen := map[int]bool{}
			for k := 0; k < rng.IntN(40); k++ {
				d := rng.IntN(80)
				if seen[d] {
					continue
				}
				seen[d] = true
				s := rng.Float64()
				if ties > 0 {
					s = math.Round(s/ties) * ties
				}
				entries = append(entries, datasets.RunEntry{QueryID: fmt.Sprintf("q%d", q), DocID: fmt.Sprintf("d%d", d), Score: s, Tag: "random"})
			}
		}
		runs[fmt.Sprintf("random-%d", r)] = entries
	}
	checkParity(t, qrels, runs)
}

// TestBM25RunsEqualIRMeasures: the BM25 runs Mimicry reports on the real collections (top 1000 of
// every evaluation query) measure the same in Mimicry and ir_measures.
func TestBM25RunsEqualIRMeasures(t *testing.T) {
	for _, spec := range []string{"smart:../../../shared/data/cranfield", "smart:../../../shared/data/cacm", "beir:../../../shared/data/scifact"} {
		dir := spec[strings.Index(spec, ":")+1:]
		if _, err := os.Stat(dir); err != nil {
			t.Logf("%s not present (get it with `mimicry download`); skipped", dir)
			continue
		}
		c, err := datasets.Load(spec)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := bm25.Build(c.Docs, bm25.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var entries []datasets.RunEntry
		for qid, hits := range ix.SearchBatch(c.Queries, 1000) {
			for _, h := range hits {
				entries = append(entries, datasets.RunEntry{QueryID: qid, DocID: h.DocID, Score: h.Score, Tag: "bm25"})
			}
		}
		checkParity(t, c.Qrels, map[string][]datasets.RunEntry{"bm25-" + c.Name: entries})
	}
}
