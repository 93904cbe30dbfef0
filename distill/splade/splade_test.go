package splade

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/annotate"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// spladeFixture is the small world of the SPLADE tests: a subset of the synthetic collection, a
// BM25 answer key over some of its training queries, a vocabulary trained on it and a tiny config.
type spladeFixture struct {
	col     *datasets.Collection
	key     []datasets.ScoredPair
	tk      *tokenizer.WordPiece
	be      backends.Backend
	queries map[string]string
	texts   map[string]string
}

var (
	spladeFixOnce sync.Once
	spladeFix     *spladeFixture
	spladeFixErr  error
)

// tinySpladeConfig is a 1-layer, H = 32 BERT.
func tinySpladeConfig() *models.Config {
	return &models.Config{ModelType: "bert", HiddenSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, IntermediateSize: 64,
		HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2, InitializerRange: 0.02, LayerNormEps: 1e-12, DType: "float32"}
}

// newSpladeFixture builds the fixture once: 48 training queries with their BM25 top 8 scored by
// BM25 (the teacher), 30 evaluation queries, and a corpus of the passages involved plus 100 others.
func newSpladeFixture(t testing.TB) *spladeFixture {
	t.Helper()
	spladeFixOnce.Do(func() {
		spladeFix, spladeFixErr = buildSpladeFixture(48, 30, 100, 400)
	})
	if spladeFixErr != nil {
		t.Fatal(spladeFixErr)
	}
	return spladeFix
}

// buildSpladeFixture makes a fixture of nTrain training queries, nEval evaluation queries, a corpus of
// the passages they involve plus extra others, and a vocabulary of vocab tokens.
func buildSpladeFixture(nTrain, nEval, extra, vocab int) (*spladeFixture, error) {
	full, err := datasets.Synthetic(11)
	if err != nil {
		return nil, err
	}
	ix, err := bm25.Build(full.Docs, bm25.Config{})
	if err != nil {
		return nil, err
	}
	allTexts := score.Texts(full.Docs)
	trainQs := full.TrainQueries[:nTrain]
	var pairs []annotate.Pair
	if err := annotate.BM25Pairs(ix, trainQs, allTexts, 8)(func(p annotate.Pair) error { pairs = append(pairs, p); return nil }); err != nil {
		return nil, err
	}
	qs, ps := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		qs[i], ps[i] = p.Query, p.Passage
	}
	scores, err := (&score.BM25{Index: ix}).Score(qs, ps)
	if err != nil {
		return nil, err
	}
	key := make([]datasets.ScoredPair, len(pairs))
	keep := map[string]bool{}
	for i, p := range pairs {
		key[i] = datasets.ScoredPair{QueryID: p.QueryID, DocID: p.DocID, Score: scores[i]}
		keep[p.DocID] = true
	}
	col := &datasets.Collection{Name: full.Name + "-subset", Queries: full.Queries[:nEval], Qrels: datasets.Qrels{}, TrainQueries: trainQs}
	for _, q := range col.Queries {
		for did, rel := range full.Qrels[q.ID] {
			col.Qrels.Add(q.ID, did, rel)
			keep[did] = true
		}
	}
	for i, d := range full.Docs {
		if keep[d.ID] || i < extra {
			col.Docs = append(col.Docs, d)
		}
	}
	tk, err := tokenizer.Train(slices.Values(train.CorpusTexts(col)), vocab, tokenizer.TrainOptions{})
	if err != nil {
		return nil, err
	}
	be, err := backend.Default()
	if err != nil {
		return nil, err
	}
	return &spladeFixture{col: col, key: key, tk: tk, be: be, queries: col.QueryTexts(), texts: score.Texts(col.Docs)}, nil
}

// newModel returns a fresh tiny SPLADE student.
func (f *spladeFixture) newModel(t testing.TB, seed int64) *models.Model {
	t.Helper()
	cfg := tinySpladeConfig()
	cfg.VocabSize = f.tk.VocabSize()
	m, err := models.New(models.KindSPLADE, cfg, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// options are the fixture's training options.
func (f *spladeFixture) options(m *models.Model, steps int) Options {
	return Options{
		Model: m, Tokenizer: f.tk, Backend: f.be, Steps: steps, QueriesPerBatch: 4, PassagesPerQuery: 4,
		QueryMaxLen: 16, DocMaxLen: 48, LogEvery: 5, Seed: 1, Quiet: true,
		Optimizer: &train.Optimizer{LearningRate: 3e-3, WarmupSteps: 5, ClipNorm: 1},
	}
}

// evalScalar runs a scalar graph and returns its value.
func evalScalar(t *testing.T, be backends.Backend, fn func(g *Graph) *Node) float64 {
	t.Helper()
	exec, err := NewExec(be, fn)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec()
	if err != nil {
		t.Fatal(err)
	}
	switch v := out[0].Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	t.Fatalf("not a float scalar: %v", out[0])
	return 0
}

// TestSparsityWarmupInGraph: the graph's λ(t) is losses.SparsityWeight at every step, and the
// weighted FLOPS and L1 terms are λ(t) times their values computed by hand.
func TestSparsityWarmupInGraph(t *testing.T) {
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	w := [][]float64{{0, 1, 2, 0}, {3, 0, 1, 0}}
	// FLOPS = Σ_j (mean_i |w_ij|)² = 1.5² + 0.5² + 1.5² + 0 = 4.75; L1 = (3 + 4)/2 = 3.5.
	hand := map[string]float64{RegFLOPS: 4.75, RegL1: 3.5}
	const lambda, warm = 0.3, 10
	for _, step := range []int{0, 1, 3, 5, 9, 10, 11, 100} {
		want := losses.SparsityWeight(lambda, step, warm)
		got := evalScalar(t, be, func(g *Graph) *Node {
			return losses.SparsityWeightNode(Const(g, int64(step)), lambda, warm, dtypes.Float64)
		})
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("step %d: λ(t) = %g, want %g", step, got, want)
		}
		for reg, value := range hand {
			got := evalScalar(t, be, func(g *Graph) *Node {
				return Mul(losses.SparsityWeightNode(Const(g, int64(step)), lambda, warm, dtypes.Float64), spladeRegularizer(Const(g, w), reg))
			})
			if math.Abs(got-want*value) > 1e-12 {
				t.Fatalf("step %d, %s: weighted term %g, want %g·%g", step, reg, got, want, value)
			}
		}
	}
	// Spot values: a quarter of the way, λ/16; halfway λ/4; no warm-up: λ from step 0.
	for _, c := range []struct {
		step, warm int
		want       float64
	}{{25, 100, lambda / 16}, {50, 100, lambda / 4}, {0, 0, lambda}, {0, -1, lambda}} {
		got := evalScalar(t, be, func(g *Graph) *Node {
			return losses.SparsityWeightNode(Const(g, int64(c.step)), lambda, c.warm, dtypes.Float64)
		})
		if math.Abs(got-c.want) > 1e-12 {
			t.Fatalf("step %d of %d: λ(t) = %g, want %g", c.step, c.warm, got, c.want)
		}
	}
}

// TestSpladeBatchStats: active terms per query and document and Σ_j p_q(j)·p_d(j) on a hand-made
// batch.
func TestSpladeBatchStats(t *testing.T) {
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	q := [][]float32{{1, 0, 0, 2}, {0, 0, 0, 3}}               // 2 and 1 active: 1.5; p_q = (.5, 0, 0, 1)
	d := [][]float32{{1, 1, 0, 0}, {0, 1, 0, 1}, {1, 0, 0, 0}} // 2, 2, 1: 5/3; p_d = (2/3, 2/3, 0, 1/3)
	want := []float64{1.5, 5.0 / 3, 0.5*2.0/3 + 1*1.0/3}
	for i := range want {
		got := evalScalar(t, be, func(g *Graph) *Node {
			qa, da, fl := spladeBatchStats(Const(g, q), Const(g, d))
			return []*Node{qa, da, fl}[i]
		})
		if math.Abs(got-want[i]) > 1e-6 {
			t.Fatalf("stat %d = %g, want %g", i, got, want[i])
		}
	}
}

// TestSpladeDistillLossStandardization shows what standardising the teacher does: without it the
// distillation loss grows with the square of the teacher's scale (so a fixed λ means something else
// for each teacher); with it, rescaling or shifting the teacher's scores changes nothing. Either way
// a constant offset between student and teacher costs nothing.
func TestSpladeDistillLossStandardization(t *testing.T) {
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	student := []float64{0.5, 1.0, 3.0, 0.2, 2.5, 0.0}
	teacher := []float64{-1.0, 0.3, 2.0, -2.5, 1.1, -0.7}
	lossOf := func(t2 []float64, standardize bool) float64 {
		return evalScalar(t, be, func(g *Graph) *Node {
			return spladeDistillLoss(Const(g, student), Const(g, t2), standardize)
		})
	}
	scaled := make([]float64, len(teacher))
	for i, v := range teacher {
		scaled[i] = 10*v + 7
	}
	raw, raw10 := lossOf(teacher, false), lossOf(scaled, false)
	std, std10 := lossOf(teacher, true), lossOf(scaled, true)
	t.Logf("raw: %.4f → %.4f with the teacher ×10+7; standardised: %.4f → %.4f", raw, raw10, std, std10)
	if math.Abs(std-std10) > 1e-9 {
		t.Fatalf("standardised loss depends on the teacher's scale: %g vs %g", std, std10)
	}
	if raw10 < 20*raw {
		t.Fatalf("raw loss should grow with the teacher's scale: %g vs %g", raw, raw10)
	}
	shifted := make([]float64, len(teacher))
	for i, v := range student {
		shifted[i] = v + 5
	}
	if a, b := lossOf(student, false), lossOf(shifted, false); a > 1e-12 || b > 1e-12 {
		t.Fatalf("a student equal to the teacher up to a constant should cost 0: %g, %g", a, b)
	}
}

// TestSpladeSamplerIsAPureFunctionOfTheStep: same step, same batch; every query once per epoch;
// unknown ids are errors.
func TestSpladeSamplerIsAPureFunctionOfTheStep(t *testing.T) {
	f := newSpladeFixture(t)
	s, err := newSpladeSampler(f.key, f.queries, f.texts, 3, 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	q1, p1, s1 := s.batch(7)
	q2, p2, s2 := s.batch(7)
	if !slices.Equal(q1, q2) || !slices.Equal(p1, p2) || !slices.Equal(s1, s2) {
		t.Fatal("same step, different batch")
	}
	if len(q1) != 4 || len(p1) != 20 || len(s1) != 20 {
		t.Fatalf("batch of %d queries, %d passages, %d scores", len(q1), len(p1), len(s1))
	}
	seen := map[int]bool{}
	for pos := range len(s.groups) {
		seen[s.group(pos)] = true
	}
	if len(seen) != 48 {
		t.Fatalf("an epoch covers %d of 48 queries", len(seen))
	}
	// Each passage comes with its own teacher score.
	score := map[[2]string]float32{}
	for _, p := range f.key {
		score[[2]string{f.queries[p.QueryID], f.texts[p.DocID]}] = float32(p.Score)
	}
	for i, p := range p1 {
		if got := score[[2]string{q1[i/5], p}]; got != s1[i] {
			t.Fatalf("pair %d: score %g, answer key says %g", i, s1[i], got)
		}
	}
	if _, err := newSpladeSampler([]datasets.ScoredPair{{QueryID: "nope", DocID: f.key[0].DocID, Score: 1}}, f.queries, f.texts, 1, 1, 1); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown query: %v", err)
	}
	if _, err := newSpladeSampler([]datasets.ScoredPair{{QueryID: f.key[0].QueryID, DocID: "D-missing", Score: 1}}, f.queries, f.texts, 1, 1, 1); err == nil || !strings.Contains(err.Error(), "D-missing") {
		t.Fatalf("unknown passage: %v", err)
	}
}

// TestTrainSPLADEDecreasesDistillationLoss distils the BM25 answer key into a tiny student: the
// distillation loss of the last logged window must be well below that of the first, and the logged
// statistics must be consistent (λ warmed up, active counts within the vocabulary).
func TestTrainSPLADEDecreasesDistillationLoss(t *testing.T) {
	f := newSpladeFixture(t)
	m := f.newModel(t, 1)
	opts := f.options(m, 60)
	opts.LambdaQ, opts.LambdaD = DefaultLambdaQ, DefaultLambdaD
	res, err := Train(f.key, f.queries, f.texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0].Parts, res.History[len(res.History)-1].Parts
	for _, r := range res.History {
		t.Logf("step %3d loss %.4f distill %.4f reg %.4f λ_d %.2g q_active %.1f d_active %.1f flops %.1f",
			r.Step, r.Loss, r.Parts[PartDistill], r.Parts[PartReg], r.Parts[PartLambdaD], r.Parts[PartQueryActive], r.Parts[PartDocActive], r.Parts[PartFLOPS])
	}
	if !(last[PartDistill] < 0.7*first[PartDistill]) {
		t.Fatalf("distillation loss went from %.4f to %.4f", first[PartDistill], last[PartDistill])
	}
	if math.Abs(last[PartLambdaD]-DefaultLambdaD) > 1e-9 || first[PartLambdaD] >= DefaultLambdaD/10 {
		t.Fatalf("λ_d warm-up: first window %g, last %g", first[PartLambdaD], last[PartLambdaD])
	}
	v := float64(f.tk.VocabSize())
	for _, p := range []string{PartQueryActive, PartDocActive} {
		if !(last[p] >= 1 && last[p] <= v) {
			t.Fatalf("%s = %g outside [1, %g]", p, last[p], v)
		}
	}
	if !(last[PartFLOPS] > 0 && last[PartFLOPS] <= math.Min(last[PartQueryActive], last[PartDocActive])+1e-6) {
		t.Fatalf("FLOPS estimate %g not in (0, min(q_active, d_active)]", last[PartFLOPS])
	}
}

// TestTrainSPLADECollapseGuard: with an absurd λ_d the document vectors die within a few steps and
// training stops with a SparsityError that says so and what to do.
func TestTrainSPLADECollapseGuard(t *testing.T) {
	f := newSpladeFixture(t)
	opts := f.options(f.newModel(t, 2), 200)
	opts.LambdaQ, opts.LambdaD, opts.SparsityWarmup = 0, 1e4, -1
	opts.Guard.After = 10
	res, err := Train(f.key, f.queries, f.texts, opts)
	var se *SparsityError
	if !errors.As(err, &se) || !se.Collapsed || se.Side != "documents" {
		t.Fatalf("want a document collapse, got %v", err)
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{"SPLADE collapsed", "documents have 0.0 active terms", "λ_d = 10000", "too high", "try λ_d = 1e+03"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
	if n := len(res.History); n == 0 || res.History[n-1].Step >= 200 {
		t.Fatalf("training did not stop early: %d records", n)
	}
}

// TestTrainSPLADEDenseGuard: with a negligible λ the vectors stay (almost) fully dense and the guard
// says the model is not sparse; with λ = 0 a dense model is allowed.
func TestTrainSPLADEDenseGuard(t *testing.T) {
	f := newSpladeFixture(t)
	opts := f.options(f.newModel(t, 3), 100)
	opts.LambdaQ, opts.LambdaD, opts.SparsityWarmup = 0, 1e-12, -1
	opts.Guard = Guard{After: 5, MaxActiveFraction: 0.5}
	_, err := Train(f.key, f.queries, f.texts, opts)
	var se *SparsityError
	if !errors.As(err, &se) || se.Collapsed || se.Side != "documents" || !strings.Contains(err.Error(), "SPLADE is not sparse") || !strings.Contains(err.Error(), "too low") {
		t.Fatalf("want a density error, got %v", err)
	}
	t.Log(err)
	if e := (Guard{}).CheckSparsity(10, 399, 400, 0, 0, RegFLOPS, 100); e != nil {
		t.Fatalf("λ = 0 must allow a dense model: %v", e)
	}
	if e := (Guard{}).CheckSparsity(0.2, 50, 400, 1, 1, RegFLOPS, 100); e == nil || !strings.Contains(e.Error(), "queries have 0.2 active terms") || !strings.Contains(e.Error(), "λ_q") {
		t.Fatalf("query collapse: %v", e)
	}
}

// TestSpladeJobEndToEnd runs the SPLADE phase on the fixture: it must write the HF folder (which
// imports back as SPLADE with nothing missing), the index, the run and splade.json with sane numbers,
// and the saved index must give the same run.
func TestSpladeJobEndToEnd(t *testing.T) {
	f := newSpladeFixture(t)
	dir := t.TempDir()
	opts := f.options(nil, 30)
	opts.LambdaQ, opts.LambdaD = DefaultLambdaQ, DefaultLambdaD
	opts.CheckpointEvery = 10
	// A from-scratch student as the command line trains one: a bag-of-words start (τ = 2, as this
	// 32-wide model's own-token logits stand out less than the tiny preset's) whose term thresholds
	// learn fast (the job's default for that start).
	opts.Optimizer = &train.Optimizer{LearningRate: 1e-4, WarmupSteps: 3, ClipNorm: 1}
	// The guards have their own tests.
	opts.Guard.Off = true
	job := &Job{Setup: train.Setup{Collection: f.col, Backend: f.be, OutDir: dir, Tokenizer: f.tk, Config: tinySpladeConfig(), Seed: 4},
		Key: f.key, Train: opts, Depth: 100, LexicalInit: true, LexicalThreshold: 2}
	enc, rep, err := job.Run()
	if err != nil {
		t.Fatal(err)
	}
	m := enc.Model
	data, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("%s", data)
	for _, name := range []string{"model/config.json", "model/model.safetensors", "model/tokenizer.json", "index.splade", "run.trec", "splade.json", "metrics.jsonl", "checkpoints"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("missing %s: %v", name, err)
		}
	}
	if rep.Queries != 30 || rep.Documents != len(f.col.Docs) || rep.Steps != 30 || !(rep.Measures["nDCG@10"] > 0) || !(rep.BM25["nDCG@10"] > 0) {
		t.Fatalf("report %+v", rep)
	}
	if !(rep.AvgDocActive > 0 && rep.AvgDocActive <= float64(f.tk.VocabSize())) || !(rep.AvgQueryActive > 0) || !(rep.FLOPS > 0) || rep.QueryMs <= 0 {
		t.Fatalf("sparsity or latency missing: %+v", rep)
	}
	var onDisk map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "splade.json"))
	if err := json.Unmarshal(raw, &onDisk); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"measures", "avg_doc_active", "avg_query_active", "flops", "query_ms"} {
		if _, ok := onDisk[k]; !ok {
			t.Fatalf("splade.json lacks %q", k)
		}
	}
	back, report, err := models.ImportHF(filepath.Join(dir, "model"), "", 0)
	if err != nil || back.Kind != models.KindSPLADE || len(report.Missing) != 0 {
		t.Fatalf("exported student does not import as SPLADE: %v %+v", err, report)
	}
	loaded, err := LoadIndex(filepath.Join(dir, "index.splade"))
	if err != nil {
		t.Fatal(err)
	}
	enc = &Encoder{Model: m, Tokenizer: f.tk, Backend: f.be, Quiet: true}
	r2, _, err := Search(enc, loaded, f.col.Queries, 100, SearchOptions{QueryMaxLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	mm2, _ := eval.Means(f.col.Qrels, r2)
	if mm2["nDCG@10"] != rep.Measures["nDCG@10"] {
		t.Fatalf("the saved index ranks differently: %v, the job's %v", mm2, rep.Measures)
	}
	// A second run resumes (nothing left to train) and reports the same.
	_, rep2, err := job.Run()
	if err != nil || rep2.Measures["nDCG@10"] != rep.Measures["nDCG@10"] {
		t.Fatalf("rerun: %v %+v", err, rep2)
	}
}

// TestSpladeSweepAddsZeroAndDefault: a sweep asked for one λ_d trains three students (0, the
// default and that λ), in increasing order, and writes sweep.json; λ = 0 is the densest.
func TestSpladeSweepAddsZeroAndDefault(t *testing.T) {
	f := newSpladeFixture(t)
	dir := t.TempDir()
	opts := f.options(nil, 20)
	opts.LambdaQ, opts.LambdaD = DefaultLambdaQ, DefaultLambdaD
	job := Job{Setup: train.Setup{Collection: f.col, Backend: f.be, OutDir: dir, Tokenizer: f.tk, Config: tinySpladeConfig(), Seed: 4},
		Key: f.key, Train: opts, Depth: 100}
	rows, err := Sweep([]float64{DefaultLambdaD * 30}, job)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Logf("λ_d %-8g λ_q %-8g doc terms %6.1f query terms %5.1f flops %7.2f nDCG@10 %.4f query %.3f ms %s",
			r.LambdaD, r.LambdaQ, r.AvgDocActive, r.AvgQueryActive, r.FLOPS, r.NDCG10, r.QueryMs, r.Warning)
	}
	if len(rows) != 3 || rows[0].LambdaD != 0 || rows[1].LambdaD != DefaultLambdaD || rows[2].LambdaD != 30*DefaultLambdaD {
		t.Fatalf("rows %+v", rows)
	}
	if rows[1].LambdaQ != DefaultLambdaQ {
		t.Fatalf("λ_q of the default row is %g, want %g", rows[1].LambdaQ, DefaultLambdaQ)
	}
	if !(rows[0].AvgDocActive > rows[2].AvgDocActive) {
		t.Fatalf("λ_d = 0 should be denser than λ_d = %g: %g vs %g terms", rows[2].LambdaD, rows[0].AvgDocActive, rows[2].AvgDocActive)
	}
	var onDisk []SweepRow
	raw, _ := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err := json.Unmarshal(raw, &onDisk); err != nil || len(onDisk) != 3 {
		t.Fatalf("sweep.json: %v %d rows", err, len(onDisk))
	}
	// Known rows are taken as they are: another folder, only the new λ is trained.
	dir2 := t.TempDir()
	job.OutDir = dir2
	again, err := Sweep([]float64{DefaultLambdaD * 30}, job, rows[0], rows[1])
	if err != nil || !reflect.DeepEqual(again[:2], rows[:2]) || again[2].NDCG10 != rows[2].NDCG10 {
		t.Fatalf("sweep with known rows: %v\n%+v\n%+v", err, again, rows)
	}
	for _, l := range []string{"0", strconv.FormatFloat(DefaultLambdaD, 'g', -1, 64)} {
		if _, err := os.Stat(filepath.Join(dir2, "sweep", "lambda_d="+l)); err == nil {
			t.Errorf("the known student λ_d = %s was trained again", l)
		}
	}
}

// TestSpladeExperiment (MIMICRY_SPLADE_EXPERIMENT=1) trains students on a larger slice of the
// synthetic collection for several λ_d, with and without standardised teacher scores, and logs the
// trade-off: the numbers behind the defaults.
func TestSpladeExperiment(t *testing.T) {
	if os.Getenv("MIMICRY_SPLADE_EXPERIMENT") == "" {
		t.Skip("set MIMICRY_SPLADE_EXPERIMENT=1 to run")
	}
	f, err := buildSpladeFixture(400, 100, 3000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	steps := 300
	if s := os.Getenv("MIMICRY_SPLADE_STEPS"); s != "" {
		fmt.Sscan(s, &steps)
	}
	lambdas := []float64{0, 1e-3, 1e-2, 1e-1}
	if s := os.Getenv("MIMICRY_SPLADE_LAMBDAS"); s != "" {
		lambdas = nil
		for _, x := range strings.Split(s, ",") {
			var v float64
			fmt.Sscan(x, &v)
			lambdas = append(lambdas, v)
		}
	}
	{
		byQ := map[string][]float64{}
		for _, p := range f.key {
			byQ[p.QueryID] = append(byQ[p.QueryID], p.Score)
		}
		var all []float64
		var within float64
		for _, xs := range byQ {
			mu := 0.0
			for _, x := range xs {
				mu += x / float64(len(xs))
			}
			for _, x := range xs {
				within += (x - mu) * (x - mu)
			}
			all = append(all, xs...)
		}
		mu := 0.0
		for _, x := range all {
			mu += x / float64(len(all))
		}
		total := 0.0
		for _, x := range all {
			total += (x - mu) * (x - mu)
		}
		t.Logf("teacher score variance: %.1f%% within queries", 100*within/total)
	}
	for _, raw := range []bool{false, true} {
		if os.Getenv("MIMICRY_SPLADE_RAW") != "" && fmt.Sprint(raw) != os.Getenv("MIMICRY_SPLADE_RAW") {
			continue
		}
		for _, l := range lambdas {
			opts := f.options(nil, steps)
			opts.LambdaQ, opts.LambdaD, opts.Standardize = 3*l, l, !raw
			opts.LogEvery = 50
			opts.Guard.Off = true
			opts.QueriesPerBatch, opts.PassagesPerQuery = 8, 4
			mlm := 0
			if s := os.Getenv("MIMICRY_SPLADE_MLM"); s != "" {
				fmt.Sscan(s, &mlm)
			}
			job := &Job{Setup: train.Setup{Collection: f.col, Backend: f.be, OutDir: t.TempDir(), Tokenizer: f.tk,
				Config: tinySpladeConfig(), Seed: 4}, Key: f.key, Train: opts, Depth: 100, MLMSteps: mlm}
			enc, rep, err := job.Run()
			if err != nil {
				t.Fatal(err)
			}
			m := enc.Model
			ix, _ := bm25.Build(f.col.Docs, bm25.Config{})
			sc := &Scorer{Encoder: &Encoder{Model: m, Tokenizer: f.tk, Backend: f.be, Quiet: true}, QueryMaxLen: 16, DocMaxLen: 48}
			rr, err := score.Rerank(sc, f.col.Queries, score.Candidates(ix, f.col.Queries, 100), f.texts)
			if err != nil {
				t.Fatal(err)
			}
			rm, _ := eval.Means(f.col.Qrels, rr)
			// Within-query agreement with the teacher on training pairs.
			var qs, ps []string
			for _, p := range f.key[:800] {
				qs, ps = append(qs, f.queries[p.QueryID]), append(ps, f.texts[p.DocID])
			}
			st, _ := sc.Score(qs, ps)
			var corr float64
			groups := 0
			for i := 0; i < 800; i += 8 {
				x, y := st[i:i+8], make([]float64, 8)
				for j := range y {
					y[j] = f.key[i+j].Score
				}
				corr += pearsonForTest(x, y)
				groups++
			}
			t.Logf("rerank BM25 top-100 nDCG@10 %.4f; within-query eval.Pearson with the teacher on training pairs %.3f", rm["nDCG@10"], corr/float64(groups))
			t.Logf("raw=%v λ_d=%g: nDCG@10 %.4f (BM25 %.4f) doc terms %.1f query terms %.1f flops %.1f query %.3f ms; last %v",
				raw, l, rep.Measures["nDCG@10"], rep.BM25["nDCG@10"], rep.AvgDocActive, rep.AvgQueryActive, rep.FLOPS, rep.QueryMs, rep.FinalParts)
		}
	}
}

func pearsonForTest(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i] / n
		my += y[i] / n
	}
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// TestWithTermBiasLR: a bag-of-words student gets DefaultTermBiasLR on its decoder bias unless the
// caller names a multiplier for it; the caller's optimizer is not changed.
func TestWithTermBiasLR(t *testing.T) {
	caller := &train.Optimizer{LearningRate: 1e-4, LRMultipliers: map[string]float64{"bert.pooler.dense.bias": 2}}
	got := withTermBiasLR(Options{Optimizer: caller})
	if got.Optimizer.LRMultipliers[models.SpladeTermBias] != DefaultTermBiasLR || got.Optimizer.LRMultipliers["bert.pooler.dense.bias"] != 2 {
		t.Fatalf("multipliers %v", got.Optimizer.LRMultipliers)
	}
	if _, ok := caller.LRMultipliers[models.SpladeTermBias]; ok {
		t.Fatal("the caller's map was changed")
	}
	own := &train.Optimizer{LRMultipliers: map[string]float64{models.SpladeTermBias: 1}}
	if got := withTermBiasLR(Options{Optimizer: own}); got.Optimizer.LRMultipliers[models.SpladeTermBias] != 1 {
		t.Fatalf("an explicit multiplier was overridden: %v", got.Optimizer.LRMultipliers)
	}
	if got := withTermBiasLR(Options{Steps: 50}); got.Optimizer.LearningRate != 2e-4 || got.Optimizer.LRMultipliers[models.SpladeTermBias] != DefaultTermBiasLR {
		t.Fatalf("default optimizer %+v", got.Optimizer)
	}
}
