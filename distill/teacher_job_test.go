package distill

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// TestTeacherJobEndToEnd runs the whole teacher phase on the synthetic collection with a very small
// model and few steps: it must write a resumable checkpoint, the HF folder and teacher.json, and a
// second run must resume rather than retrain.
func TestTeacherJobEndToEnd(t *testing.T) {
	col, err := datasets.Synthetic(5)
	if err != nil {
		t.Fatal(err)
	}
	col.Queries = col.Queries[:10]
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &models.Config{ModelType: "bert", HiddenSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, IntermediateSize: 64,
		HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2, InitializerRange: 0.02, LayerNormEps: 1e-12, DType: "float32"}
	dir := t.TempDir()
	job := &TeacherJob{Collection: col, Backend: be, OutDir: dir, Config: cfg, Vocab: 600, Depth: 20, RerankDepth: 5, Seed: 1,
		Train: TeacherOptions{Steps: 4, QueriesPerBatch: 2, Negatives: 2, MaxLen: 48, CheckpointEvery: 2, EvalEvery: 2, SelectBy: "nDCG@10", Quiet: true}}
	if _, _, rep, err := job.Run(); err != nil {
		t.Fatal(err)
	} else if rep.Queries != 10 || rep.BM25["nDCG@10"] <= 0 || rep.Teacher["nDCG@10"] <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "model/tokenizer.json", "teacher.json", "metrics.jsonl", "checkpoints/state-00000004.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("missing %s: %v", f, err)
		}
	}
	var rep TeacherReport
	data, _ := os.ReadFile(filepath.Join(dir, "teacher.json"))
	if err := json.Unmarshal(data, &rep); err != nil || rep.Steps != 4 || (rep.BestStep != 2 && rep.BestStep != 4) || rep.BestDev["nDCG@10"] <= 0 {
		t.Fatalf("teacher.json: %v %+v", err, rep)
	}
	m, report, err := models.ImportHF(filepath.Join(dir, "model"), "", 0)
	if err != nil || m.Kind != models.KindCrossEncoder || len(report.Missing) != 0 {
		t.Fatalf("exported teacher does not import: %v %+v", err, report)
	}
}
