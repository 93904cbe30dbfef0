package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// TestTrainColBERTAndRetrieveCommands runs the ColBERT phase end to end on a tiny case: a BM25
// teacher's answer key, a 1-layer H=32 student trained for a few steps, its index, and `retrieve`
// reproducing the report's numbers from the exported model and the saved index.
func TestTrainColBERTAndRetrieveCommands(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.jsonl")
	if err := runAnnotate([]string{"--teacher", "bm25", "--data", "synthetic:3", "--bm25-top", "6", "--queries", "train", "--out", key, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "colbert")
	base := []string{"--data", "synthetic:3", "--answer-key", key, "--out", out, "--hidden", "32", "--layers", "1",
		"--dim", "16", "--steps", "6", "--queries-per-batch", "4", "--query-len", "16", "--doc-len", "48", "--lr", "3e-3",
		"--eval-every", "3", "--rerank-depth", "20", "--depth", "100", "--quiet"}

	// A BM25 teacher has no tokenizer: the error says what to do.
	err := runTrainColBERT(base)
	if err == nil || !strings.Contains(err.Error(), "--tokenizer") || !strings.Contains(err.Error(), "bm25") {
		t.Fatalf("BM25 teacher without --vocab: %v", err)
	}
	if err := runTrainColBERT(append(slices.Clone(base), "--vocab", "400")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "model/tokenizer.json", "model/" + colbert.SettingsFile,
		"index.colbert", "colbert.json", "metrics.jsonl", "run.colbert.trec", "run.colbert-rerank.trec"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("missing %s: %v", f, err)
		}
	}
	var rep colbert.Report
	data, _ := os.ReadFile(filepath.Join(out, "colbert.json"))
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Queries != 200 || rep.Steps != 6 || rep.Teacher == "" || rep.DroppedPairs != 0 || rep.KeyPairs != 1200*6 ||
		rep.BM25["nDCG@10"] <= 0 || rep.ColBERT["nDCG@10"] <= 0 || rep.ColBERTRerank["nDCG@10"] <= 0 || rep.IndexTokens <= 0 {
		t.Fatalf("report %+v", rep)
	}
	t.Logf("train %.1f s, encode %.1f s, search %.2f s, rerank %.2f s; bm25 %v colbert %v rerank %v heldout %v", rep.TrainSecs, rep.EncodeSecs, rep.SearchSecs, rep.RerankSecs, rep.BM25["nDCG@10"], rep.ColBERT["nDCG@10"], rep.ColBERTRerank["nDCG@10"], rep.HeldOut)
	if _, ok := rep.HeldOut[colbert.MetricMarginPearson]; !ok {
		t.Errorf("no held-out margin correlation in the report: %v", rep.HeldOut)
	}
	recs, err := train.ReadLog(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	evals := 0
	for _, r := range recs {
		if r.Eval != nil {
			evals++
		}
	}
	if recs[0].Step != 0 || evals != 3 { // untrained, step 3, step 6
		t.Errorf("metrics.jsonl: first step %d, %d evaluations, want 0 and 3", recs[0].Step, evals)
	}

	// --zero-shot exports, indexes and evaluates the start without a training step.
	start := filepath.Join(dir, "start")
	startArgs := append(slices.Clone(base), "--vocab", "400", "--zero-shot")
	startArgs[slices.Index(startArgs, out)] = start
	if err := runTrainColBERT(startArgs); err != nil {
		t.Fatal(err)
	}
	var startRep colbert.Report
	data, _ = os.ReadFile(filepath.Join(start, "colbert.json"))
	if err := json.Unmarshal(data, &startRep); err != nil || startRep.Steps != 0 || startRep.ColBERT["nDCG@10"] <= 0 {
		t.Fatalf("zero-shot colbert.json: %v %+v", err, startRep)
	}
	if _, err := os.Stat(filepath.Join(start, "metrics.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("the zero-shot run trained: metrics.jsonl %v", err)
	}
	if err := runTrainColBERT(append(startArgs, "--recipe", "kl")); err == nil || !strings.Contains(err.Error(), "--zero-shot and --recipe") {
		t.Fatalf("--zero-shot --recipe kl: %v", err)
	}

	// retrieve with the exported model and the saved index gives the report's numbers, exhaustive and reranking.
	for _, tc := range []struct {
		args []string
		want map[string]float64
	}{{nil, rep.ColBERT}, {[]string{"--rerank-bm25", "20"}, rep.ColBERTRerank}} {
		run, metrics := filepath.Join(dir, "run.trec"), filepath.Join(dir, "m.json")
		args := append([]string{"--model", filepath.Join(out, "model"), "--data", "synthetic:3", "--run", run, "--metrics", metrics,
			"--index", filepath.Join(out, "index.colbert"), "--k", "100", "--quiet"}, tc.args...)
		if err := runRetrieve(args); err != nil {
			t.Fatal(err)
		}
		m := readRetrievalMetrics(t, metrics)
		for name, v := range tc.want {
			if m.Measures[name] != v {
				t.Errorf("retrieve %v: %s = %v, the training report says %v", tc.args, name, m.Measures[name], v)
			}
		}
		// The run file says the same as the metrics.
		metrics2 := filepath.Join(dir, "m2.json")
		if err := runEval([]string{"--data", "synthetic:3", "--run", run, "--metrics", metrics2}); err != nil {
			t.Fatal(err)
		}
		if m2 := readRetrievalMetrics(t, metrics2); m2.Measures["nDCG@10"] != m.Measures["nDCG@10"] {
			t.Errorf("eval of the run file: nDCG@10 %v, retrieve said %v", m2.Measures["nDCG@10"], m.Measures["nDCG@10"])
		}
	}

	// Errors.
	if err := runRetrieve([]string{"--model", dir, "--data", "synthetic:3", "--run", filepath.Join(dir, "r.trec")}); err == nil ||
		!strings.Contains(err.Error(), "config.json") {
		t.Errorf("retrieve from a folder without a model: %v", err)
	}
	if err := runRetrieve([]string{"--model", filepath.Join(out, "model"), "--data", "synthetic:4", "--run", filepath.Join(dir, "r.trec"),
		"--index", filepath.Join(out, "index.colbert"), "--quiet"}); err == nil || !strings.Contains(err.Error(), "index.colbert") {
		t.Errorf("index of another corpus accepted: %v", err)
	}
	if err := runTrainColBERT([]string{"--data", "synthetic:3", "--out", out}); err == nil || !strings.Contains(err.Error(), "--answer-key") {
		t.Errorf("missing --answer-key: %v", err)
	}
	if err := runTrainColBERT(append(slices.Clone(base), "--vocab", "400", "--loss", "hard-labels", "--pairing", "random-pairs")); err == nil ||
		!strings.Contains(err.Error(), "random-pairs") {
		t.Errorf("hard labels with random pairs: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--recipe", "kl", "--loss", "margin-mse"}, "--loss and --recipe kl"},
		{[]string{"--recipe", "online"}, "--teacher"},
		{[]string{"--teacher", dir}, "--recipe online"},
		{[]string{"--recipe", "distill-harder"}, "offline, kl, fixed-margin, online, self, multitask"},
	} {
		if err := runTrainColBERT(append(slices.Clone(base), append([]string{"--vocab", "400"}, tc.args...)...)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	// A recipe runs through the command and is recorded in colbert.json.
	mt := filepath.Join(dir, "multitask")
	args := append(slices.Clone(base), "--vocab", "400", "--recipe", "multitask", "--eval-every", "0")
	args[slices.Index(args, out)] = mt
	if err := runTrainColBERT(args); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(mt, "colbert.json"))
	var mrep colbert.Report
	if err := json.Unmarshal(data, &mrep); err != nil || mrep.Recipe != "multitask" || mrep.Steps != 6 {
		t.Errorf("multitask colbert.json: recipe %q, %d steps, %v", mrep.Recipe, mrep.Steps, err)
	}
	recs, err = train.ReadLog(filepath.Join(mt, "metrics.jsonl"))
	if err != nil || recs[len(recs)-1].Parts["task_mlm"] <= 0 || recs[len(recs)-1].Parts["task_inbatch"] <= 0 {
		t.Errorf("multitask metrics.jsonl: %v %v", recs, err)
	}
}

// TestTeacherTokenizerFromKeyMeta finds the teacher's tokenizer through the key's meta, checking its
// digest.
func TestTeacherTokenizerFromKeyMeta(t *testing.T) {
	dir := t.TempDir()
	tk, err := tokenizer.Train(slices.Values([]string{"the vole eats seeds", "port kelda has a river"}), 60, tokenizer.TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	teacher := filepath.Join(dir, "runs", "teacher", "model")
	if err := os.MkdirAll(teacher, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tk.Save(teacher); err != nil {
		t.Fatal(err)
	}
	sum, err := files.SHA256(filepath.Join(teacher, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "runs", "answer-key.jsonl")
	meta := &datasets.AnswerKeyMeta{Teacher: "teacher", Tokenizer: "tokenizer.json sha256:" + sum}
	fs := newFlags("test", "test", "")
	m := fs.modelFlags("", true, false)
	got, where, err := m.studentTokenizer(key, meta)
	if err != nil {
		t.Fatal(err)
	}
	if got.VocabSize() != tk.VocabSize() || where != teacher {
		t.Errorf("found %s with %d tokens, want %s with %d", where, got.VocabSize(), teacher, tk.VocabSize())
	}
	// A folder whose tokenizer does not match the recorded digest is not used.
	meta.Tokenizer = "tokenizer.json sha256:" + strings.Repeat("0", 64)
	if _, _, err := m.studentTokenizer(key, meta); err == nil || !strings.Contains(err.Error(), "--tokenizer") {
		t.Errorf("digest mismatch: %v", err)
	}
	// --tokenizer wins, and may name the teacher's folder above model/.
	*m.tokenizer = filepath.Dir(teacher)
	if got, _, err := m.studentTokenizer(key, nil); err != nil || got.VocabSize() != tk.VocabSize() {
		t.Errorf("--tokenizer: %v", err)
	}
	*m.tokenizer = ""
	if _, _, err := m.studentTokenizer(key, nil); err == nil || !strings.Contains(err.Error(), "meta.json") {
		t.Errorf("key without meta: %v", err)
	}
}
