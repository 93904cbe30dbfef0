package eval

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
)

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) < eps }

func mustParse(t *testing.T, names ...string) []Measure {
	t.Helper()
	var ms []Measure
	for _, n := range names {
		m, err := ParseMeasure(n)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// The fixture, with values computed by hand (trec_eval's definitions):
//
//	q1: qrels d1:2 d2:1 d3:0 d4:1 d9:3 (d9 never retrieved); run d1 .9, d3 .8, d2 .8, d5 .7, d4 .5.
//	    The tie d3/d2 is broken by docid descending, so the ranking is d1 d3 d2 d5 d4 → grades 2 0 1 0 1.
//	    4 relevant. RR = 1; P@3 = 2/3; R@3 = 2/4; R@100 = 3/4; AP = (1/1 + 2/3 + 3/5)/4;
//	    nDCG@3 = (2 + 1/log2 4)/(3 + 2/log2 3 + 1/log2 4);
//	    nDCG@10 = (2 + 1/log2 4 + 1/log2 6)/(3 + 2/log2 3 + 1/log2 4 + 1/log2 5).
//	q2: qrels d10:1 d9:0 d3:2; run d9 .5, d10 .5, d3 .1. "d9" > "d10" byte-wise, so d9 ranks first
//	    (ascending tie-breaking would put d10 first and give RR = 1). Grades 0 1 2. RR = 1/2,
//	    AP = (1/2 + 2/3)/2, nDCG@10 = (1/log2 3 + 2/log2 4)/(2 + 1/log2 3).
//	q3: judged (all non-relevant) and retrieved: evaluated, every measure 0.
//	q4: retrieved but not judged: ignored.
//	q5: judged, not retrieved: ignored, except with Complete where it scores 0.
func fixture() (datasets.Qrels, Run) {
	qrels := datasets.Qrels{}
	for _, j := range []struct {
		q, d string
		r    int
	}{
		{"q1", "d1", 2}, {"q1", "d2", 1}, {"q1", "d3", 0}, {"q1", "d4", 1}, {"q1", "d9", 3},
		{"q2", "d10", 1}, {"q2", "d9", 0}, {"q2", "d3", 2},
		{"q3", "d1", 0},
		{"q5", "d7", 1},
	} {
		qrels.Add(j.q, j.d, j.r)
	}
	run := Run{
		"q1": {"d1": 0.9, "d3": 0.8, "d2": 0.8, "d5": 0.7, "d4": 0.5},
		"q2": {"d9": 0.5, "d10": 0.5, "d3": 0.1},
		"q3": {"d1": 1},
		"q4": {"d1": 1},
	}
	return qrels, run
}

var (
	q1NDCG10 = (2 + 1/math.Log2(4) + 1/math.Log2(6)) / (3 + 2/math.Log2(3) + 1/math.Log2(4) + 1/math.Log2(5))
	q2NDCG10 = (1/math.Log2(3) + 2/math.Log2(4)) / (2 + 1/math.Log2(3))
)

func TestPerQueryHandComputed(t *testing.T) {
	qrels, run := fixture()
	ms := mustParse(t, "nDCG@10", "nDCG@3", "RR@10", "RR@1", "R@3", "R@100", "AP", "P@3", "P@10", "AP@2", "nDCG")
	res, err := Evaluate(qrels, run, ms, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{
		"q1": {
			"nDCG@10": 0.5559620137398665, "nDCG@3": 0.5250049893849101, "nDCG": 0.5559620137398665,
			"RR@10": 1, "RR@1": 1, "R@3": 0.5, "R@100": 0.75, "AP": 0.5666666666666667,
			"P@3": 2.0 / 3, "P@10": 0.3, "AP@2": 0.25,
		},
		"q2": {
			"nDCG@10": 0.6199062332840657, "nDCG@3": 0.6199062332840657, "nDCG": 0.6199062332840657,
			"RR@10": 0.5, "RR@1": 0, "R@3": 1, "R@100": 1, "AP": 0.5833333333333333,
			"P@3": 2.0 / 3, "P@10": 0.2, "AP@2": 0.25,
		},
		"q3": {"nDCG@10": 0, "nDCG@3": 0, "nDCG": 0, "RR@10": 0, "RR@1": 0, "R@3": 0, "R@100": 0, "AP": 0, "P@3": 0, "P@10": 0, "AP@2": 0},
	}
	if len(res.Queries) != 3 || res.Queries[0] != "q1" || res.Queries[1] != "q2" || res.Queries[2] != "q3" {
		t.Fatalf("evaluated queries %v, want [q1 q2 q3] (q4 unjudged, q5 not retrieved)", res.Queries)
	}
	for q, w := range want {
		for name, v := range w {
			if got := res.PerQuery[q][name]; !near(got, v) {
				t.Errorf("%s %s = %.10f, want %.10f", q, name, got, v)
			}
		}
	}
	if !near(q1NDCG10, want["q1"]["nDCG@10"]) || !near(q2NDCG10, want["q2"]["nDCG@10"]) {
		t.Fatal("fixture constants disagree with the formulas")
	}
	means := map[string]float64{
		"nDCG@10": (q1NDCG10 + q2NDCG10) / 3,
		"RR@10":   0.5,
		"AP":      0.3833333333333333,
		"R@100":   1.75 / 3,
	}
	for name, v := range means {
		if got := res.Mean[name]; !near(got, v) {
			t.Errorf("mean %s = %.10f, want %.10f", name, got, v)
		}
	}
}

func TestCompleteAveragesOverQrels(t *testing.T) {
	qrels, run := fixture()
	res, err := Evaluate(qrels, run, mustParse(t, "nDCG@10", "RR@10"), Options{Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Queries) != 4 {
		t.Fatalf("queries %v, want q1 q2 q3 q5", res.Queries)
	}
	if v, ok := res.PerQuery["q5"]["RR@10"]; !ok || v != 0 {
		t.Errorf("q5 RR@10 = %v (present %v), want 0", v, ok)
	}
	if got, want := res.Mean["RR@10"], 1.5/4; !near(got, want) {
		t.Errorf("mean RR@10 = %v, want %v", got, want)
	}
	if got, want := res.Mean["nDCG@10"], 0.2939670617559831; !near(got, want) {
		t.Errorf("mean nDCG@10 = %v, want %v", got, want)
	}
}

func TestTiesBrokenByDocIDDescending(t *testing.T) {
	got := Ranked(map[string]float64{"a": 1, "b": 1, "c": 2, "B": 1, "d10": 0, "d9": 0})
	want := []string{"c", "b", "a", "B", "d9", "d10"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Ranked = %v, want %v", got, want)
		}
	}
}

func TestGradedGainsAndNegativeGrades(t *testing.T) {
	// Negative grades count as non-relevant and gain nothing; the ideal ranking uses grades ≥ 1 only.
	judged := map[string]int{"a": 3, "b": -1, "c": 1}
	rels := []int{-1, 1, 3} // b, c, a
	ms := mustParse(t, "nDCG@10", "AP", "RR@10")
	want := []float64{
		(1/math.Log2(3) + 3/math.Log2(4)) / (3 + 1/math.Log2(3)),
		(1.0/2 + 2.0/3) / 2,
		0.5,
	}
	for i, m := range ms {
		if got := Compute(m, rels, judged); !near(got, want[i]) {
			t.Errorf("%s = %v, want %v", m, got, want[i])
		}
	}
	// Perfect ranking gives 1.
	if got := Compute(ms[0], []int{3, 1}, judged); !near(got, 1) {
		t.Errorf("ideal nDCG@10 = %v, want 1", got)
	}
}

func TestParseMeasure(t *testing.T) {
	for in, want := range map[string]string{
		"nDCG@10": "nDCG@10", "ndcg@5": "nDCG@5", "RR@10": "RR@10", "MRR@10": "RR@10", "R@100": "R@100",
		"recall@1000": "R@1000", "AP": "AP", "map": "AP", "P@10": "P@10", "RR": "RR", "nDCG": "nDCG",
	} {
		m, err := ParseMeasure(in)
		if err != nil {
			t.Errorf("ParseMeasure(%q): %v", in, err)
			continue
		}
		if m.String() != want {
			t.Errorf("ParseMeasure(%q) = %s, want %s", in, m, want)
		}
	}
	for _, bad := range []string{"", "foo@10", "nDCG@0", "nDCG@x", "P", "RR@-1"} {
		if _, err := ParseMeasure(bad); err == nil {
			t.Errorf("ParseMeasure(%q) succeeded, want an error", bad)
		}
	}
	ms, err := ParseMeasures("nDCG@10, RR@10,R@100,AP")
	if err != nil || len(ms) != 4 || ms[3].Kind != AP {
		t.Errorf("ParseMeasures = %v, %v", ms, err)
	}
}

func TestRunFromEntriesRejectsDuplicates(t *testing.T) {
	_, err := RunFromEntries([]datasets.RunEntry{{QueryID: "q", DocID: "d", Score: 1}, {QueryID: "q", DocID: "d", Score: 2}})
	if err == nil {
		t.Fatal("duplicate document accepted")
	}
	run, err := RunFromEntries([]datasets.RunEntry{{QueryID: "q", DocID: "d", Score: 1}, {QueryID: "q", DocID: "e", Score: 2}})
	if err != nil || run["q"]["e"] != 2 {
		t.Fatalf("run %v, %v", run, err)
	}
}

func TestNoOverlapIsAnError(t *testing.T) {
	qrels := datasets.Qrels{}
	qrels.Add("q1", "d1", 1)
	if _, err := Evaluate(qrels, Run{"q2": {"d1": 1}}, DefaultMeasures(), Options{}); err == nil {
		t.Fatal("want an error when no query is both judged and retrieved")
	}
}

func TestPairedRandomization(t *testing.T) {
	// A system better on every one of 12 queries: only the all-positive and all-negative sign
	// patterns (2 of 4096) are as extreme, p ≈ 0.0005.
	a, b := map[string]float64{}, map[string]float64{}
	for i := range 12 {
		q := fmt.Sprintf("q%d", i)
		a[q], b[q] = 0.5+0.01*float64(i), 0.3
	}
	d, p, err := PairedRandomization(a, b, 20000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d-0.255) > 1e-9 || p > 0.002 {
		t.Fatalf("consistent gain: diff %g, p %g", d, p)
	}
	// Gains and losses that cancel: p near 1.
	for i := range 12 {
		q := fmt.Sprintf("q%d", i)
		b[q] = a[q] + 0.1*float64(1-2*(i%2))
	}
	if d, p, _ := PairedRandomization(a, b, 20000, 1); math.Abs(d) > 1e-9 || p < 0.9 {
		t.Fatalf("cancelling differences: diff %g, p %g", d, p)
	}
	delete(b, "q3")
	if _, _, err := PairedRandomization(a, b, 100, 1); err == nil || !strings.Contains(err.Error(), "q3") {
		t.Fatalf("missing query: %v", err)
	}
}
