package report

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/distill/splade"
)

// TestMargins checks the per-query margins against hand-computed values: query a has one positive
// (score 3, student 1) and two others (1 and 2; students 0 and 2); query b has no positive.
func TestMargins(t *testing.T) {
	samples := []Sample{
		{QueryID: "a", DocID: "p", Positive: true, Teacher: 3, Student: 1},
		{QueryID: "a", DocID: "n1", Teacher: 1, Student: 0},
		{QueryID: "b", DocID: "x", Teacher: 5, Student: 5},
		{QueryID: "a", DocID: "n2", Teacher: 2, Student: 2},
	}
	teacher, student := Margins(samples)
	if !reflect.DeepEqual(teacher, []float64{2, 1}) || !reflect.DeepEqual(student, []float64{1, -1}) {
		t.Fatalf("margins %v %v", teacher, student)
	}
}

// TestWriteAndRead writes a small report (JSON, markdown, figures) and reads it back.
func TestWriteAndRead(t *testing.T) {
	dir := t.TempDir()
	r := &Report{
		Dataset: Dataset{Name: "toy", Documents: 3, Queries: 1}, Preset: "tiny", Seed: 1, Backend: "go",
		Systems: map[string]map[string]float64{
			SystemBM25: {"nDCG@10": 0.5}, SystemTeacher: {"nDCG@10": 0.8}, SystemColBERT: {"nDCG@10": 0.72},
			SystemSplade: {"nDCG@10": 0.6, "avg_doc_active": 12, "avg_query_active": 5, "flops": 1.5},
		},
		SpladeSweep: []splade.SweepRow{{LambdaD: 0, AvgDocActive: 40, NDCG10: 0.62}, {LambdaD: 0.001, AvgDocActive: 12, NDCG10: 0.6}},
		Settings: map[string]any{"rerank_depth": 20, "teacher_bm25_weight": 1.25, "student_residual": true, "splade_lexical_init": true,
			"teacher_dense_weight": 10.5, "teacher_dense_model": "org/bi"},
		Details: Details{
			Curves:  map[string][]CurvePoint{"teacher": {{Step: 10, Loss: 1.4}, {Step: 20, Loss: 1.1}}},
			Samples: map[string][]Sample{SystemColBERT: {{QueryID: "a", Positive: true, Teacher: 2, Student: 1}, {QueryID: "a", Teacher: 0, Student: 0.5}, {QueryID: "a", Teacher: 1, Student: 0.2}}},
			Example: &Example{DocID: "d1", Terms: []Term{{"river", 2.1}, {"port", 1.5}}},
		},
	}
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| ColBERT, Margin-MSE, reranking BM25's top 20 | 0.7200 |", "| 90% |", "12.0 active terms per document", "figures/splade_tradeoff.svg",
		"the ColBERT students scored MaxSim plus the same 1.250·BM25", "started as bags of words",
		"logit plus 1.250·BM25 plus 10.500·cos(q, p) of org/bi's embeddings (a residual teacher)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	for _, f := range []string{"training_curves.svg", "colbert_scores.svg", "colbert_margins.svg", "splade_tradeoff.svg", "splade_top_terms.svg"} {
		data, err := os.ReadFile(filepath.Join(dir, "figures", f))
		if err != nil || !strings.Contains(string(data), "<svg") {
			t.Errorf("figure %s: %v", f, err)
		}
	}
	back, err := Read(filepath.Join(dir, "report.json"))
	if err != nil || !reflect.DeepEqual(back.Systems, r.Systems) || !reflect.DeepEqual(back.Details.Samples, r.Details.Samples) {
		t.Fatalf("read back: %v", err)
	}
}
