package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// writeSmallBEIR writes a small BEIR folder cut from the synthetic collection: 16 training and 8
// evaluation queries, and the passages of their BM25 top 5 and judgements plus a few others.
func writeSmallBEIR(t *testing.T, dir string) {
	t.Helper()
	full, err := datasets.Synthetic(3)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := bm25.Build(full.Docs, bm25.Config{})
	if err != nil {
		t.Fatal(err)
	}
	train, eval := full.TrainQueries[:16], full.Queries[:8]
	keep := map[string]bool{}
	for _, qs := range [][]datasets.Query{train, eval} {
		for _, hits := range ix.SearchBatch(qs, 5) {
			for _, h := range hits {
				keep[h.DocID] = true
			}
		}
	}
	for _, part := range []struct {
		qs    []datasets.Query
		qrels datasets.Qrels
		file  string
	}{{train, full.TrainQrels, "train.tsv"}, {eval, full.Qrels, "test.tsv"}} {
		lines := []string{"query-id\tcorpus-id\tscore"}
		for _, q := range part.qs {
			for did, rel := range part.qrels[q.ID] {
				lines = append(lines, fmt.Sprintf("%s\t%s\t%d", q.ID, did, rel))
				keep[did] = true
			}
		}
		slices.Sort(lines[1:])
		if err := os.MkdirAll(filepath.Join(dir, "qrels"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "qrels", part.file), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var corpus, queries []byte
	for i, d := range full.Docs {
		if keep[d.ID] || i < 20 {
			line, _ := json.Marshal(map[string]string{"_id": d.ID, "title": d.Title, "text": d.Text})
			corpus = append(append(corpus, line...), '\n')
		}
	}
	for _, q := range append(slices.Clone(train), eval...) {
		line, _ := json.Marshal(map[string]string{"_id": q.ID, "text": q.Text})
		queries = append(append(queries, line...), '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "corpus.jsonl"), corpus, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "queries.jsonl"), queries, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTrainSpladeCommand runs the SPLADE phase end to end on a tiny case: a tiny cross-encoder teacher
// annotates BM25 candidates, `train splade` finds the teacher's tokenizer through the answer key,
// trains, exports, indexes, evaluates and sweeps; a BM25 answer key without --tokenizer is refused
// with advice, and an absurd λ_d stops training with the collapse message.
func TestTrainSpladeCommand(t *testing.T) {
	dir := t.TempDir()
	beir := filepath.Join(dir, "beir")
	writeSmallBEIR(t, beir)
	data := "beir:" + beir
	col, err := datasets.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(col.TrainQueries) != 16 || len(col.Queries) != 8 {
		t.Fatalf("collection has %d training and %d evaluation queries", len(col.TrainQueries), len(col.Queries))
	}
	// The teacher: a tiny cross-encoder with a small vocabulary trained on the corpus.
	tk, err := tokenizer.Train(slices.Values(train.CorpusTexts(col)), 300, tokenizer.TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := models.NewConfig(models.PresetTiny, tk.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = 32, 1, 2, 64
	teacher, err := models.New(models.KindCrossEncoder, cfg, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := models.ExportHF(filepath.Join(dir, "teacher", "model"), teacher, be, tk); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "key.jsonl")
	if code, stderr := runCaptured(t, "annotate", "--teacher", filepath.Join(dir, "teacher"), "--data", data, "--bm25-top", "5",
		"--queries", "train", "--max-len", "64", "--out", key, "--quiet"); code != 0 {
		t.Fatalf("annotate: exit %d: %s", code, stderr)
	}

	out := filepath.Join(dir, "splade")
	common := []string{"train", "splade", "--data", data, "--answer-key", key, "--steps", "6", "--queries-per-batch", "2",
		"--passages-per-query", "3", "--query-max-len", "16", "--doc-max-len", "32", "--depth", "50", "--log-every", "2", "--quiet"}
	// Six steps are too few for any λ to sparsify the vectors: the density guard is off here (the
	// collapse case below keeps it on).
	code, stderr := runCaptured(t, append(common, "--out", out, "--no-guard", "--sweep", "--sweep-lambdas", "0.1")...)
	if code != 0 {
		t.Fatalf("train splade: exit %d: %s", code, stderr)
	}
	var rep splade.Report
	raw, err := os.ReadFile(filepath.Join(out, "splade.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Queries != 8 || rep.Steps != 6 || rep.Documents != len(col.Docs) || rep.AvgDocActive <= 0 || rep.LambdaD != splade.DefaultLambdaD ||
		rep.Standardized || rep.Regularizer != splade.RegFLOPS {
		t.Fatalf("report %+v", rep)
	}
	student, _, err := models.ImportHF(filepath.Join(out, "model"), "", 0)
	if err != nil || student.Kind != models.KindSPLADE || student.Config.VocabSize != tk.VocabSize() {
		t.Fatalf("student: %v", err)
	}
	if _, err := splade.LoadIndex(filepath.Join(out, "index.splade")); err != nil {
		t.Fatal(err)
	}
	var rows []splade.SweepRow
	raw, _ = os.ReadFile(filepath.Join(out, "sweep.json"))
	if err := json.Unmarshal(raw, &rows); err != nil || len(rows) != 3 || rows[0].LambdaD != 0 || rows[2].LambdaD != 0.1 {
		t.Fatalf("sweep.json: %v %+v", err, rows)
	}
	if svg, err := os.ReadFile(filepath.Join(out, "sweep.svg")); err != nil || !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "λ_d = 0.1") {
		t.Fatalf("sweep.svg: %v, %.200q", err, svg)
	}

	// --zero-shot exports, indexes and evaluates the start without a training step.
	start := filepath.Join(dir, "start")
	if code, stderr := runCaptured(t, append(common, "--out", start, "--zero-shot")...); code != 0 {
		t.Fatalf("train splade --zero-shot: exit %d: %s", code, stderr)
	}
	var startRep splade.Report
	raw, _ = os.ReadFile(filepath.Join(start, "splade.json"))
	if err := json.Unmarshal(raw, &startRep); err != nil || startRep.Steps != 0 || startRep.Queries != 8 || startRep.AvgDocActive <= 0 {
		t.Fatalf("zero-shot splade.json: %v %+v", err, startRep)
	}
	if _, err := os.Stat(filepath.Join(out, "metrics.jsonl")); err != nil {
		t.Fatalf("a trained run writes metrics.jsonl: %v", err)
	}
	if _, err := os.Stat(filepath.Join(start, "metrics.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("zero-shot run trained: metrics.jsonl %v", err)
	}
	if sm, _, err := models.ImportHF(filepath.Join(start, "model"), "", 0); err != nil || sm.Kind != models.KindSPLADE {
		t.Fatalf("zero-shot model: %v", err)
	}
	if code, stderr := runCaptured(t, append(common, "--out", start, "--zero-shot", "--sweep")...); code == 0 || !strings.Contains(stderr, "--zero-shot and --sweep") {
		t.Fatalf("--zero-shot --sweep: exit %d: %s", code, stderr)
	}

	// A BM25 answer key names no model: the command asks for a tokenizer.
	bmKey := filepath.Join(dir, "bm25.jsonl")
	if code, stderr := runCaptured(t, "annotate", "--teacher", "bm25", "--data", data, "--bm25-top", "5", "--queries", "train", "--out", bmKey, "--quiet"); code != 0 {
		t.Fatalf("annotate bm25: exit %d: %s", code, stderr)
	}
	bmArgs := []string{"train", "splade", "--data", data, "--answer-key", bmKey, "--out", filepath.Join(dir, "bm"), "--quiet"}
	if code, stderr := runCaptured(t, bmArgs...); code == 0 || !strings.Contains(stderr, "--tokenizer") {
		t.Fatalf("BM25 key without --tokenizer: exit %d: %s", code, stderr)
	}
	// An absurd λ_d collapses the documents: the command fails with the guard's message.
	collapse := []string{"train", "splade", "--data", data, "--answer-key", bmKey, "--tokenizer", filepath.Join(dir, "teacher"),
		"--out", filepath.Join(dir, "collapse"), "--lambda-d", "1e4", "--lambda-q", "0", "--sparsity-warmup", "-1", "--steps", "12", "--lr", "1e-2",
		"--queries-per-batch", "2", "--passages-per-query", "3", "--query-max-len", "16", "--doc-max-len", "32", "--log-every", "4", "--quiet"}
	if code, stderr := runCaptured(t, collapse...); code == 0 || !strings.Contains(stderr, "SPLADE collapsed: documents have") {
		t.Fatalf("collapse: exit %d: %s", code, stderr)
	}
	if code, stderr := runCaptured(t, "train", "splade", "--out", out); code == 0 || !strings.Contains(stderr, "--answer-key") {
		t.Fatalf("missing --answer-key: exit %d: %s", code, stderr)
	}
}
