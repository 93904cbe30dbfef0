package teacher

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// smallTeacherSetup is the synthetic collection (10 evaluation queries), the backend and a 1-layer,
// 32-wide configuration for the teacher-job tests.
func smallTeacherSetup(t *testing.T) (*datasets.Collection, backends.Backend, *models.Config) {
	t.Helper()
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
	return col, be, cfg
}

// TestTeacherJobEndToEnd runs the whole teacher phase on the synthetic collection with a very small
// model and few steps: it must write a resumable checkpoint, the HF folder and teacher.json, and a
// second run must resume rather than retrain.
func TestTeacherJobEndToEnd(t *testing.T) {
	col, be, cfg := smallTeacherSetup(t)
	dir := t.TempDir()
	job := &Job{Setup: train.Setup{Collection: col, Backend: be, OutDir: dir, Config: cfg, Vocab: 600, Seed: 1}, Depth: 20, RerankDepth: 5,
		Train: Options{Steps: 4, QueriesPerBatch: 2, Negatives: 2, MaxLen: 48, CheckpointEvery: 2, EvalEvery: 2, SelectBy: "nDCG@10", Quiet: true}}
	if _, rep, err := job.Run(); err != nil {
		t.Fatal(err)
	} else if rep.Queries != 10 || rep.BM25["nDCG@10"] <= 0 || rep.Teacher["nDCG@10"] <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "model/tokenizer.json", "teacher.json", "metrics.jsonl", "checkpoints/state-00000004.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("missing %s: %v", f, err)
		}
	}
	var rep Report
	data, _ := os.ReadFile(filepath.Join(dir, "teacher.json"))
	if err := json.Unmarshal(data, &rep); err != nil || rep.Steps != 4 || (rep.BestStep != 2 && rep.BestStep != 4) || rep.BestDev["nDCG@10"] <= 0 {
		t.Fatalf("teacher.json: %v %+v", err, rep)
	}
	m, report, err := models.ImportHF(filepath.Join(dir, "model"), "", 0)
	if err != nil || m.Kind != models.KindCrossEncoder || len(report.Missing) != 0 {
		t.Fatalf("exported teacher does not import: %v %+v", err, report)
	}
}

// TestResidualTeacherWithRareMarks trains a residual teacher that marks rare matches: the BM25
// weight is fitted and recorded, the report separates the network from the BM25 term, and the
// exported teacher scores a pair as its network's logit plus weight·BM25 — which it refuses to do
// without the collection.
func TestResidualTeacherWithRareMarks(t *testing.T) {
	col, be, cfg := smallTeacherSetup(t)
	dir := t.TempDir()
	job := &Job{Setup: train.Setup{Collection: col, Backend: be, OutDir: dir, Config: cfg, Vocab: 600, Seed: 1}, Depth: 20, RerankDepth: 20,
		MarkExactMatches: true, MarkRareDF: 0.01, BM25Residual: true,
		Train: Options{Steps: 2, QueriesPerBatch: 2, Negatives: 2, MaxLen: 48, Quiet: true}}
	_, rep, err := job.Run()
	if err != nil {
		t.Fatal(err)
	}
	if !(rep.BM25Weight > 0.05 && rep.BM25Weight < 10) || rep.Network["nDCG@10"] <= 0 {
		t.Fatalf("bm25 weight %g, network %v", rep.BM25Weight, rep.Network)
	}
	ce, _, err := Load(dir, be, 48, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c := ce.Model.Config; c.BM25Weight != rep.BM25Weight || c.MarkRareDF != 0.01 || !c.MarkExactMatches {
		t.Fatalf("exported config: bm25 weight %g, rare df %g, marking %v", c.BM25Weight, c.MarkRareDF, c.MarkExactMatches)
	}
	q, p := col.Queries[0].Text, col.Docs[0].Text
	texts := score.Texts(col.Docs)
	if _, err := ce.Score([]string{q}, []string{p}); err == nil || !NeedsCollection(ce.Model.Config) {
		t.Fatalf("scoring without the collection: %v", err)
	}
	if err := ce.UseCollection(col); err != nil {
		t.Fatal(err)
	}
	top := ce.BM25.Search(q, 1)
	p2 := texts[top[0].DocID]
	full, err := ce.Score([]string{q, q}, []string{p, p2})
	if err != nil {
		t.Fatal(err)
	}
	lexical, err := (&score.BM25{Index: ce.BM25}).Score([]string{q, q}, []string{p, p2})
	if err != nil {
		t.Fatal(err)
	}
	// The network alone: the same weights with the weight set to 0 (the markers need the index still).
	netCfg := *ce.Model.Config
	netCfg.BM25Weight = 0
	net := &CrossEncoder{Model: &models.Model{Kind: ce.Model.Kind, Config: &netCfg, Ctx: ce.Model.Ctx}, Tokenizer: ce.Tokenizer, Backend: be, MaxLen: 48, BM25: ce.BM25}
	alone, err := net.Score([]string{q, q}, []string{p, p2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		if want := alone[i] + rep.BM25Weight*lexical[i]; math.Abs(full[i]-want) > 1e-4 {
			t.Errorf("pair %d: score %g, want network %g + %g × BM25 %g", i, full[i], alone[i], rep.BM25Weight, lexical[i])
		}
	}
	if lexical[0] == lexical[1] {
		t.Error("the test pairs have equal BM25 scores: it shows nothing")
	}
}

// TestFitBM25WeightMinimisesTheListwiseLoss checks the fitted weight against the loss computed here:
// nudging it either way does not lower the loss.
func TestFitBM25WeightMinimisesTheListwiseLoss(t *testing.T) {
	col, err := datasets.Synthetic(5)
	if err != nil {
		t.Fatal(err)
	}
	set, err := negatives.Build(col, negatives.Options{Mine: negatives.MineConfig{Depth: 20, Count: 4, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := bm25.Build(col.Docs, bm25.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := FitBM25Weight(ix, set, 30)
	if err != nil {
		t.Fatal(err)
	}
	var qs []datasets.Query
	for _, g := range set.Train {
		qs = append(qs, datasets.Query{ID: g.QID, Text: g.Query})
	}
	hits := ix.SearchBatch(qs, 30)
	loss := func(w float64) float64 {
		total, n := 0.0, 0
		for _, g := range set.Train {
			var sum, pos float64
			found := false
			for _, h := range hits[g.QID] {
				if h.DocID == g.Positives[0] {
					pos, found = h.Score, true
				} else if slices.Contains(g.Positives, h.DocID) {
					continue
				}
				sum += math.Exp(w * h.Score)
			}
			if found && len(hits[g.QID]) > 1 {
				total += math.Log(sum) - w*pos
				n++
			}
		}
		return total / float64(n)
	}
	if !(w > 0) || loss(w) > loss(w*0.9) || loss(w) > loss(w*1.1) || loss(w) >= loss(0) {
		t.Fatalf("w = %g: loss %g, at 0.9w %g, at 1.1w %g, at 0 %g", w, loss(w), loss(0.9*w), loss(1.1*w), loss(0))
	}
	t.Logf("w = %.3f: listwise loss %.4f (uniform: %.4f)", w, loss(w), loss(0))
}

// TestDenseResidualTeacher trains a teacher from a (tiny, seeded) bi-encoder checkpoint with both
// residual terms: the weights are fitted and recorded, the report has the residual terms alone and
// the network alone, and the exported teacher, once given the collection, scores a pair as its
// network's logit plus w·BM25 plus w'·cosine under the checkpoint.
func TestDenseResidualTeacher(t *testing.T) {
	col, be, cfg := smallTeacherSetup(t)
	tk := tokenizer.Default()
	cfg.VocabSize = tk.VocabSize()
	bi, err := models.New(models.KindBiEncoder, cfg, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	init := filepath.Join(t.TempDir(), "bi")
	if err := models.ExportHF(init, bi, be, tk); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	job := &Job{Setup: train.Setup{Collection: col, Backend: be, OutDir: dir, Init: init, Seed: 1}, Depth: 20, RerankDepth: 20,
		BM25Residual: true, DenseResidual: true, Train: Options{Steps: 2, QueriesPerBatch: 2, Negatives: 2, MaxLen: 48, Quiet: true}}
	_, rep, err := job.Run()
	if err != nil {
		t.Fatal(err)
	}
	if !(rep.BM25Weight > 0) || !(rep.DenseWeight >= 0) || rep.DenseModel != init || rep.Residual == nil || rep.Network == nil {
		t.Fatalf("report: bm25 weight %g, dense weight %g (%q), residual %v, network %v", rep.BM25Weight, rep.DenseWeight, rep.DenseModel, rep.Residual, rep.Network)
	}
	ce, _, err := Load(dir, be, 48, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c := ce.Model.Config; c.DenseWeight != rep.DenseWeight || c.DenseModel != init {
		t.Fatalf("exported config: dense weight %g (%q)", c.DenseWeight, c.DenseModel)
	}
	if err := ce.UseCollection(col); err != nil {
		t.Fatal(err)
	}
	// A random bi-encoder may earn a weight of 0; check the formula with a weight that shows.
	t.Logf("fitted weights: BM25 %g, dense %g", rep.BM25Weight, rep.DenseWeight)
	ce.Model.Config.DenseWeight = max(rep.DenseWeight, 0.5)
	qs := []string{col.Queries[0].Text, col.Queries[0].Text}
	ps := []string{col.Docs[0].Text, col.Docs[1].Text}
	full, err := ce.Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	lexical, err := (&score.BM25{Index: ce.BM25}).Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	cos, err := ce.Dense.Cosines(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	netCfg := *ce.Model.Config
	netCfg.BM25Weight, netCfg.DenseWeight = 0, 0
	net := &CrossEncoder{Model: &models.Model{Kind: ce.Model.Kind, Config: &netCfg, Ctx: ce.Model.Ctx}, Tokenizer: ce.Tokenizer, Backend: be, MaxLen: 48}
	alone, err := net.Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		if want := alone[i] + rep.BM25Weight*lexical[i] + ce.Model.Config.DenseWeight*cos[i]; math.Abs(full[i]-want) > 1e-4 {
			t.Errorf("pair %d: score %g, want network %g + %g × BM25 %g + %g × cos %g", i, full[i], alone[i], rep.BM25Weight, lexical[i], ce.Model.Config.DenseWeight, cos[i])
		}
	}
	job.Init = ""
	job.OutDir = t.TempDir()
	if _, _, err := job.Run(); err == nil || !strings.Contains(err.Error(), "Init") {
		t.Errorf("a dense residual without Init: %v", err)
	}
}
