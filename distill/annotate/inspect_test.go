package annotate

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
)

// inspectKey: q1 has two positives (p1 grade 2, p4 grade 1), a judged negative (p2) and an unjudged one
// (p3); q2 a positive scored below its negative; q3 no positive; q4 only a positive.
func inspectKey() ([]datasets.ScoredPair, datasets.Qrels) {
	pairs := []datasets.ScoredPair{
		{QueryID: "q1", DocID: "p1", Score: 3}, {QueryID: "q1", DocID: "p2", Score: 1},
		{QueryID: "q1", DocID: "p3", Score: 2}, {QueryID: "q1", DocID: "p4", Score: 2.5},
		{QueryID: "q2", DocID: "p5", Score: 0.5}, {QueryID: "q2", DocID: "p6", Score: 1.5},
		{QueryID: "q3", DocID: "p7", Score: 1},
		{QueryID: "q4", DocID: "p8", Score: -2},
	}
	qrels := datasets.Qrels{}
	qrels.Add("q1", "p1", 2)
	qrels.Add("q1", "p2", 0)
	qrels.Add("q1", "p4", 1)
	qrels.Add("q2", "p5", 1)
	qrels.Add("q4", "p8", 1)
	qrels.Add("q5", "p9", 1) // judged but not in the key
	return pairs, qrels
}

func TestScoreDistributions(t *testing.T) {
	pairs, qrels := inspectKey()
	pos, neg := ScoreDistributions(pairs, qrels)
	if !reflect.DeepEqual(pos, []float64{3, 2.5, 0.5, -2}) || !reflect.DeepEqual(neg, []float64{1, 2, 1.5, 1}) {
		t.Fatalf("positives %v, negatives %v", pos, neg)
	}
}

func TestMargins(t *testing.T) {
	pairs, qrels := inspectKey()
	got := Margins(pairs, qrels)
	want := []QueryMargin{
		{QID: "q1", PositiveID: "p1", Positive: 3, NegativeID: "p3", HardestNegative: 2, Margin: 1},
		{QID: "q2", PositiveID: "p5", Positive: 0.5, NegativeID: "p6", HardestNegative: 1.5, Margin: -1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Ties go to the smaller id.
	tie := []datasets.ScoredPair{{QueryID: "q", DocID: "b", Score: 1}, {QueryID: "q", DocID: "a", Score: 1}, {QueryID: "q", DocID: "n2", Score: 0}, {QueryID: "q", DocID: "n1", Score: 0}}
	qr := datasets.Qrels{"q": {"a": 1, "b": 1}}
	if m := Margins(tie, qr); len(m) != 1 || m[0].PositiveID != "a" || m[0].NegativeID != "n1" || m[0].Margin != 1 {
		t.Fatalf("ties: %+v", m)
	}
}

func TestTeacherAsReranker(t *testing.T) {
	pairs, qrels := inspectKey()
	got, err := TeacherAsReranker(pairs, qrels)
	if err != nil {
		t.Fatal(err)
	}
	// Evaluated: q1, q2, q4 (in the key and judged). q1 ranks p1 (2), p4 (1), p3, p2: perfect.
	// q2 ranks p6 (unjudged), p5 (1): RR 1/2, AP 1/2, nDCG (1/log2 3)/(1/log2 2). q4: perfect.
	ndcgQ2 := 1 / math.Log2(3)
	want := map[string]float64{"nDCG@10": (2 + ndcgQ2) / 3, "RR@10": 2.5 / 3, "R@100": 1, "AP": 2.5 / 3}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-12 {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("measures %v", got)
	}
	_, err = TeacherAsReranker(append(pairs, datasets.ScoredPair{QueryID: "q2", DocID: "p5", Score: 9}), qrels)
	if err == nil || !strings.Contains(err.Error(), `pair 9: query "q2", passage "p5"`) {
		t.Fatalf("repeated pair: %v", err)
	}
}
