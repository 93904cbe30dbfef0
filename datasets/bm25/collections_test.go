package bm25

import (
	"os"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

// evaluate runs BM25 with the default settings over c's evaluation queries and returns the means.
func evaluate(t *testing.T, c *datasets.Collection) map[string]float64 {
	t.Helper()
	ix, err := Build(c.Docs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	hits := ix.SearchBatch(c.Queries, 1000)
	run := eval.Run{}
	for qid, hs := range hits {
		if len(hs) == 0 {
			continue
		}
		run[qid] = map[string]float64{}
		for _, h := range hs {
			run[qid][h.DocID] = h.Score
		}
	}
	res, err := eval.Evaluate(c.Qrels, run, eval.DefaultMeasures(), eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Mean
}

// TestSyntheticIsNotLexicallyEasy checks the synthetic collection's design goal: BM25 finds the
// answers (every relevant passage shares the entity's name with its query) but often ranks hard
// negatives above them.
func TestSyntheticIsNotLexicallyEasy(t *testing.T) {
	c, err := datasets.Synthetic(42)
	if err != nil {
		t.Fatal(err)
	}
	m := evaluate(t, c)
	t.Logf("BM25 on %s: %v", c.Name, m)
	if m["R@100"] < 0.95 {
		t.Errorf("R@100 = %.3f: relevant passages should be retrievable lexically", m["R@100"])
	}
	if m["nDCG@10"] < 0.35 || m["nDCG@10"] > 0.75 {
		t.Errorf("nDCG@10 = %.3f, want between 0.35 and 0.75 (lexical matching only partly enough)", m["nDCG@10"])
	}
}

// TestRealCollections checks BM25 against the published range on Cranfield and CACM (BM25 nDCG@10 on
// Cranfield is about 0.3–0.45 depending on the setup).
func TestRealCollections(t *testing.T) {
	for _, c := range []struct {
		dir           string
		lo, hi, apLow float64
	}{
		{"../../../shared/data/cranfield", 0.30, 0.45, 0.22},
		{"../../../shared/data/cacm", 0.35, 0.55, 0.25},
	} {
		if _, err := os.Stat(c.dir); err != nil {
			t.Logf("skipping %s: not available (%v)", c.dir, err)
			continue
		}
		col, err := datasets.Load("smart:" + c.dir)
		if err != nil {
			t.Fatal(err)
		}
		m := evaluate(t, col)
		t.Logf("BM25 on %s: %v", col.Name, m)
		if m["nDCG@10"] < c.lo || m["nDCG@10"] > c.hi || m["AP"] < c.apLow {
			t.Errorf("%s: nDCG@10 = %.4f (want %.2f–%.2f), AP = %.4f (want ≥ %.2f)", col.Name, m["nDCG@10"], c.lo, c.hi, m["AP"], c.apLow)
		}
	}
}
