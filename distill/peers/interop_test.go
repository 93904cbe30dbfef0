package peers

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/bench"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// interopTolerance is the largest difference allowed between Mimicry's and the peers' numbers for
// the same model and texts (fp32).
const interopTolerance = 1e-4

// peersPython is the Python of the extras with PyLate and sentence-transformers, or the test skips.
func peersPython(t *testing.T) string {
	t.Helper()
	py := bench.FindPython()
	if py == "" {
		t.Skip("no .venv with the Python extras (python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt)")
	}
	if out, err := exec.Command(py, "-c", "import pylate, sentence_transformers, datasets").CombinedOutput(); err != nil {
		t.Skipf("%s lacks PyLate or sentence-transformers (the extras of docker/requirements.txt): %v\n%s", py, err, out)
	}
	return py
}

// runInterop runs interop.py in mode on dir and returns its standard output.
func runInterop(t *testing.T, py, mode, dir string, env ...string) []byte {
	t.Helper()
	cmd := exec.Command(py, "interop.py", mode, dir)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop.py %s: %v", mode, err)
	}
	return out
}

var (
	interopQueries = []string{"what lifts a wing", "heat transfer in plates", "does vitamin d prevent fractures?"}
	interopDocs    = []string{"The lift of a wing comes from the pressure difference above and below it.",
		"Heat moves through thin plates by conduction; boundary layers matter.",
		"In a trial of 2,000 adults, vitamin D did not reduce fractures."}
)

// tinyModel is a seeded model of the kind with bert-base-uncased's vocabulary.
func tinyModel(t *testing.T, kind models.Kind, dim int, be backends.Backend) *models.Model {
	t.Helper()
	cfg := fixture.TinyConfig(tokenizer.Default().VocabSize())
	cfg.NumLabels = 1
	m, err := models.New(kind, cfg, dim, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Materialize(be); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMimicryModelsLoadInPeers: a ColBERT student exported by Mimicry loads in PyLate and scores
// query–passage pairs as Mimicry does; a SPLADE student loads in sentence-transformers'
// SparseEncoder with the same vectors; a teacher loads as its CrossEncoder with the same scores.
func TestMimicryModelsLoadInPeers(t *testing.T) {
	py := peersPython(t)
	be := fixture.Backend(t)
	tk := tokenizer.Default()
	dir := t.TempDir()
	numbers := map[string]any{"queries": interopQueries, "docs": interopDocs}

	enc := &colbert.Encoder{Model: tinyModel(t, models.KindColBERT, 16, be), Tokenizer: tk, Backend: be, QueryLen: 16, DocLen: 32, Quiet: true}
	if err := colbert.Export(filepath.Join(dir, "colbert"), enc); err != nil {
		t.Fatal(err)
	}
	cs, err := enc.Score(interopQueries, interopDocs)
	if err != nil {
		t.Fatal(err)
	}
	numbers["colbert_scores"] = cs

	sm := tinyModel(t, models.KindSPLADE, 0, be)
	senc := &splade.Encoder{Model: sm, Tokenizer: tk, Backend: be, Quiet: true}
	if err := splade.Export(filepath.Join(dir, "splade"), senc, 64); err != nil {
		t.Fatal(err)
	}
	vecs, err := senc.Encode(interopDocs, 64, "documents")
	if err != nil {
		t.Fatal(err)
	}
	var sparse []map[string]float32
	for _, v := range vecs {
		m := map[string]float32{}
		for i, term := range v.Terms {
			m[strconv.Itoa(int(term))] = v.Weights[i]
		}
		sparse = append(sparse, m)
	}
	numbers["splade_docs"], numbers["splade_max_len"] = sparse, 64

	tm := tinyModel(t, models.KindCrossEncoder, 0, be)
	if err := models.ExportHF(filepath.Join(dir, "teacher"), tm, be, tk); err != nil {
		t.Fatal(err)
	}
	ts, err := (&teacher.CrossEncoder{Model: tm, Tokenizer: tk, Backend: be, MaxLen: 64}).Score(interopQueries, interopDocs)
	if err != nil {
		t.Fatal(err)
	}
	numbers["teacher_scores"], numbers["teacher_max_len"] = ts, 64
	writeJSON(t, filepath.Join(dir, "texts.json"), numbers)

	var got struct {
		ColBERT      float64  `json:"colbert_maxsim"`
		QueryTokens  []int    `json:"colbert_query_tokens"`
		Splade       float64  `json:"splade_vectors"`
		SpladeMods   []string `json:"splade_modules"`
		SpladeMaxLen int      `json:"splade_max_seq_length"`
		SpladeSim    string   `json:"splade_similarity"`
		TeacherScore float64  `json:"teacher_scores"`
	}
	if err := json.Unmarshal(runInterop(t, py, "check-mimicry", dir), &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.SpladeMods, []string{"MLMTransformer", "SpladePooling"}) || got.SpladeMaxLen != 64 || got.SpladeSim != "dot" {
		t.Errorf("the SPLADE folder loads in SparseEncoder as modules %v, max_seq_length %d, similarity %q; want MLMTransformer + SpladePooling, 64, dot",
			got.SpladeMods, got.SpladeMaxLen, got.SpladeSim)
	}
	t.Logf("max |Δ| against the peers: PyLate MaxSim %.2g, SparseEncoder vectors %.2g, CrossEncoder scores %.2g", got.ColBERT, got.Splade, got.TeacherScore)
	for what, d := range map[string]float64{"PyLate MaxSim": got.ColBERT, "SparseEncoder vectors": got.Splade, "CrossEncoder scores": got.TeacherScore} {
		if !(d <= interopTolerance) {
			t.Errorf("%s differ from Mimicry's by %g (tolerance %g)", what, d, interopTolerance)
		}
	}
	for _, n := range got.QueryTokens {
		if n != 16 {
			t.Errorf("PyLate encodes queries as %d tokens, Mimicry's student as 16", n)
		}
	}
}

// TestPeerModelsLoadInMimicry: a ColBERT saved by PyLate, a SparseEncoder and a CrossEncoder saved by
// sentence-transformers load in Mimicry and give the same scores and vectors.
func TestPeerModelsLoadInMimicry(t *testing.T) {
	py := peersPython(t)
	be := fixture.Backend(t)
	dir := t.TempDir()
	vocab := filepath.Join(dir, "vocab")
	if err := os.MkdirAll(vocab, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tokenizer.Default().Save(vocab); err != nil {
		t.Fatal(err)
	}
	runInterop(t, py, "write-peers", dir, "MIMICRY_VOCAB_DIR="+vocab)
	var want struct {
		PyLate []float64            `json:"pylate_scores"`
		Sparse []map[string]float64 `json:"sparse_docs"`
		CE     []float64            `json:"crossencoder_scores"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "peer_numbers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}

	enc, err := colbert.Load(filepath.Join(dir, "pylate"), be)
	if err != nil {
		t.Fatal(err)
	}
	got, err := enc.Score(interopQueries, interopDocs)
	if err != nil {
		t.Fatal(err)
	}
	compareFloats(t, "PyLate ColBERT MaxSim", got, want.PyLate)

	sm, _, err := models.ImportHF(filepath.Join(dir, "sparse"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if sm.Kind != models.KindSPLADE {
		t.Fatalf("a SparseEncoder folder imports as %s", sm.Kind)
	}
	stk, err := models.LoadHFTokenizer(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := (&splade.Encoder{Model: sm, Tokenizer: stk, Backend: be, Quiet: true}).Encode(interopDocs, 64, "documents")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		dense := map[string]float64{}
		for k, term := range v.Terms {
			dense[strconv.Itoa(int(term))] = float64(v.Weights[k])
		}
		worst := 0.0
		for _, m := range []map[string]float64{dense, want.Sparse[i]} {
			for term := range m {
				worst = math.Max(worst, math.Abs(dense[term]-want.Sparse[i][term]))
			}
		}
		if worst > interopTolerance {
			t.Errorf("SparseEncoder vector %d: max |Δ| %g", i, worst)
		}
	}

	ce, _, err := teacher.Load(filepath.Join(dir, "crossencoder"), be, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ce.Score(interopQueries, interopDocs)
	if err != nil {
		t.Fatal(err)
	}
	compareFloats(t, "CrossEncoder scores", cs, want.CE)
}

// TestKDFilesRoundTrip: PyLate's knowledge-distillation rows and sentence-transformers' hard
// negatives, as those libraries' users write them, read into Mimicry's answer key; the answer key
// written back in PyLate's layout is read by the datasets library PyLate uses, unchanged.
func TestKDFilesRoundTrip(t *testing.T) {
	py := peersPython(t)
	dir := t.TempDir()
	runInterop(t, py, "kd-files", dir)
	kd, err := datasets.LoadPyLateKD(filepath.Join(dir, "pylate_train.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := datasets.KDToAnswerKey(kd)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 6 || key[0] != (datasets.ScoredPair{QueryID: "1", DocID: "10", Score: 0.9}) || key[4].Score != -1 {
		t.Fatalf("answer key from PyLate's rows: %+v", key)
	}
	hn, err := datasets.LoadHardNegatives(filepath.Join(dir, "st_hard_negatives.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(hn) != 1 || !reflect.DeepEqual(hn[0].Neg["bm25"], []string{"11", "12"}) || hn[0].Pos[0] != "10" {
		t.Fatalf("hard negatives: %+v", hn)
	}
	back, err := datasets.AnswerKeyToKD(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := datasets.WritePyLateKD(filepath.Join(dir, "from_mimicry_kd.jsonl"), back); err != nil {
		t.Fatal(err)
	}
	var read struct {
		Rows []struct {
			QueryID string    `json:"query_id"`
			DocIDs  []string  `json:"document_ids"`
			Scores  []float64 `json:"scores"`
		} `json:"kd_rows"`
	}
	if err := json.Unmarshal(runInterop(t, py, "kd-files", dir), &read); err != nil {
		t.Fatal(err)
	}
	if len(read.Rows) != len(kd) {
		t.Fatalf("datasets read %d rows of Mimicry's PyLate file, want %d", len(read.Rows), len(kd))
	}
	for i, r := range read.Rows {
		if r.QueryID != kd[i].QueryID || !reflect.DeepEqual(r.DocIDs, kd[i].DocIDs) || !reflect.DeepEqual(r.Scores, kd[i].Scores) {
			t.Errorf("row %d read back as %+v, want %+v", i, r, kd[i])
		}
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func compareFloats(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(got[i]-want[i]))
	}
	t.Logf("%s: max |Δ| %.2g", what, worst)
	if worst > interopTolerance {
		t.Errorf("%s: got %v, want %v (max |Δ| %g)", what, got, want, worst)
	}
}
