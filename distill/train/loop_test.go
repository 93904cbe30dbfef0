package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
)

func tinyModel(t *testing.T, seed int64) *models.Model {
	t.Helper()
	cfg := &models.Config{
		ModelType: "bert", VocabSize: 30, HiddenSize: 16, NumHiddenLayers: 1, NumAttentionHeads: 2,
		IntermediateSize: 32, HiddenAct: "gelu", MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		InitializerRange: 0.1, LayerNormEps: 1e-12, HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1,
		DType: "float32", NumLabels: 1,
	}
	m, err := models.New(models.KindCrossEncoder, cfg, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// batchAt is a pure function of the step: sequences whose label is whether token 5 occurs.
func batchAt(step int) ([]any, error) {
	rng := rand.New(rand.NewPCG(uint64(step), 99))
	const b, l = 8, 6
	ids := make([][]int32, b)
	mask := make([][]bool, b)
	labels := make([]float32, b)
	for i := range b {
		ids[i], mask[i] = make([]int32, l), make([]bool, l)
		for j := range l {
			ids[i][j] = int32(6 + rng.IntN(20))
			mask[i][j] = true
		}
		if i%2 == 0 {
			ids[i][1+rng.IntN(l-1)] = 5
			labels[i] = 1
		}
	}
	return []any{ids, mask, labels}, nil
}

// bceLoss is binary cross-entropy with logits of the cross-encoder, plus the mean logit as a part.
func bceLoss(cfg *models.Config) LossFn {
	return func(ctx *context.Context, step *Node, in []*Node) (*Node, []*Node) {
		ids, mask, labels := in[0], in[1], in[2]
		logits := models.CrossEncoderLogits(ctx, cfg, ids, nil, mask)
		loss := ReduceAllMean(Add(Sub(Max(logits, ZerosLike(logits)), Mul(logits, labels)), Log1p(Exp(Neg(Abs(logits))))))
		return loss, []*Node{ReduceAllMean(logits)}
	}
}

func newTrainer(t *testing.T, m *models.Model, dir string, steps int) *Trainer {
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	return &Trainer{
		Model: m, Backend: be, Loss: bceLoss(m.Config), Batches: batchAt,
		Config: Config{
			Name: "test", Steps: steps, OutDir: dir, CheckpointEvery: 3, LogEvery: 2, Quiet: true,
			PartNames: []string{"mean_logit"},
			Optimizer: Optimizer{LearningRate: 3e-3, WarmupSteps: 3, TotalSteps: 24, WeightDecay: 0.01, ClipNorm: 1},
		},
	}
}

func params(t *testing.T, m *models.Model) map[string][]float32 {
	p, err := m.Params()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for k, v := range p {
		out[k] = tensors.MustCopyFlatData[float32](v)
	}
	return out
}

func TestLossDecreases(t *testing.T) {
	m := tinyModel(t, 1)
	tr := newTrainer(t, m, "", 80)
	tr.Config.LogEvery = 10
	tr.Config.Optimizer = Optimizer{LearningRate: 1e-2, WarmupSteps: 5, TotalSteps: 80, ClipNorm: 1}
	res, err := tr.Run()
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0].Loss, res.History[len(res.History)-1].Loss
	if !(last < first*0.8) {
		t.Fatalf("loss did not decrease: first window %.4f, last %.4f", first, last)
	}
	if res.History[0].Parts["mean_logit"] == 0 {
		t.Fatal("parts not logged")
	}
}

// TestResumeIsExact stops a run half-way and resumes it from its checkpoint in a fresh model: the
// final weights equal an uninterrupted run's bit for bit.
func TestResumeIsExact(t *testing.T) {
	full := tinyModel(t, 2)
	if _, err := newTrainer(t, full, t.TempDir(), 12).Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	half := tinyModel(t, 2)
	if _, err := newTrainer(t, half, dir, 6).Run(); err != nil {
		t.Fatal(err)
	}
	resumed := tinyModel(t, 777) // different seed: everything must come from the checkpoint
	res, err := newTrainer(t, resumed, dir, 12).Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 6 {
		t.Fatalf("resumed from %d, want 6", res.ResumedFrom)
	}
	a, b := params(t, full), params(t, resumed)
	for k := range a {
		if !slices.Equal(a[k], b[k]) {
			t.Fatalf("%s differs between the uninterrupted and the resumed run", k)
		}
	}
	recs, err := ReadLog(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, r := range recs {
		steps = append(steps, r.Step)
	}
	if !slices.Equal(steps, []int{2, 4, 6, 8, 10, 12}) {
		t.Fatalf("metrics log steps %v", steps)
	}
}

// TestNaNStopsWithCheckpointIntact feeds a NaN label at step 5: training stops with a clear error,
// the weights are not updated by that step, and the step-3 checkpoint is intact.
func TestNaNStopsWithCheckpointIntact(t *testing.T) {
	m := tinyModel(t, 3)
	dir := t.TempDir()
	tr := newTrainer(t, m, dir, 12)
	tr.Batches = func(step int) ([]any, error) {
		in, _ := batchAt(step)
		if step == 4 {
			in[2].([]float32)[0] = float32(math.NaN())
		}
		return in, nil
	}
	_, err := tr.Run()
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("want ErrNonFinite, got %v", err)
	}
	t.Logf("error: %v", err)
	ck := filepath.Join(dir, "checkpoints", "state-00000003.safetensors")
	if _, err := os.Stat(ck); err != nil {
		t.Fatalf("last good checkpoint missing: %v", err)
	}
	if Step(m.Ctx) != 4 {
		t.Fatalf("optimizer step %d after the NaN step, want 4 (update skipped)", Step(m.Ctx))
	}
	for k, v := range params(t, m) {
		for _, x := range v {
			if math.IsNaN(float64(x)) {
				t.Fatalf("%s has NaN: the bad update was applied", k)
			}
		}
	}
}

func TestLearningRateSchedule(t *testing.T) {
	o := Optimizer{LearningRate: 1, WarmupSteps: 4, TotalSteps: 12}
	got := []float64{o.LearningRateAt(1), o.LearningRateAt(4), o.LearningRateAt(8), o.LearningRateAt(12)}
	want := []float64{0.25, 1, 0.5, 0}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("schedule %v, want %v", got, want)
		}
	}
}

// TestSelectByKeepsBestStep evaluates every 2 steps with a measure that peaks at step 6: the run ends
// with step 6's weights — copied in memory without an output directory, pinned on disk with one,
// and found again by a resumed run.
func TestSelectByKeepsBestStep(t *testing.T) {
	for _, withDir := range []bool{false, true} {
		dir := ""
		if withDir {
			dir = t.TempDir()
		}
		m := tinyModel(t, 3)
		var atBest map[string][]float32
		tr := newTrainer(t, m, dir, 12)
		tr.Config.EvalEvery, tr.Config.SelectBy = 2, "score"
		tr.Eval = func(step int) (map[string]float64, error) {
			if step == 6 {
				atBest = params(t, m)
			}
			return map[string]float64{"score": -math.Abs(float64(step - 6))}, nil
		}
		if withDir {
			// Stop at step 8, then resume in a fresh model.
			tr.Config.Steps = 8
			if _, err := tr.Run(); err != nil {
				t.Fatal(err)
			}
			m = tinyModel(t, 777)
			tr.Model, tr.Config.Steps = m, 12
		}
		res, err := tr.Run()
		if err != nil {
			t.Fatal(err)
		}
		if res.BestStep != 6 || res.BestEval["score"] != 0 {
			t.Fatalf("dir %v: best step %d %v, want 6", withDir, res.BestStep, res.BestEval)
		}
		got := params(t, m)
		for k := range atBest {
			if !slices.Equal(atBest[k], got[k]) {
				t.Fatalf("dir %v: %s is not step 6's", withDir, k)
			}
		}
		if withDir {
			for _, step := range []int{6, 9, 12} {
				if _, err := os.Stat(filepath.Join(dir, "checkpoints", "state-"+fmt.Sprintf("%08d", step)+".safetensors")); err != nil {
					t.Fatalf("checkpoint of step %d: %v", step, err)
				}
			}
			// A rerun of the finished job ends with the same weights.
			again := tinyModel(t, 5)
			tr.Model = again
			if res, err := tr.Run(); err != nil || res.BestStep != 6 {
				t.Fatalf("rerun: best step %d, %v", res.BestStep, err)
			}
			if !slices.Equal(params(t, again)["bert.pooler.dense.weight"], atBest["bert.pooler.dense.weight"]) {
				t.Fatal("the rerun of a finished job does not hold the best step's weights")
			}
		}
	}
	m := tinyModel(t, 3)
	tr := newTrainer(t, m, "", 2)
	tr.Config.EvalEvery, tr.Config.SelectBy = 2, "nDCG@10"
	tr.Eval = func(int) (map[string]float64, error) { return map[string]float64{"RR@10": 1}, nil }
	if _, err := tr.Run(); err == nil || !strings.Contains(err.Error(), `no measure "nDCG@10"`) || !strings.Contains(err.Error(), "RR@10") {
		t.Fatalf("missing measure: %v", err)
	}
}

// TestLRMultipliers: a multiplier scales the update of the parameter it names, and only that one.
func TestLRMultipliers(t *testing.T) {
	deltas := func(mult map[string]float64) map[string][]float32 {
		m := tinyModel(t, 3)
		tr := newTrainer(t, m, "", 1)
		if err := m.Materialize(tr.Backend); err != nil {
			t.Fatal(err)
		}
		before := params(t, m)
		tr.Config.Optimizer = Optimizer{LearningRate: 1e-3, TotalSteps: 100, LRMultipliers: mult}
		if _, err := tr.Run(); err != nil {
			t.Fatal(err)
		}
		after := params(t, m)
		out := map[string][]float32{}
		for k, v := range after {
			d := make([]float32, len(v))
			for i := range v {
				d[i] = v[i] - before[k][i]
			}
			out[k] = d
		}
		return out
	}
	plain, scaled := deltas(nil), deltas(map[string]float64{"classifier.bias": 10})
	if len(plain["classifier.bias"]) == 0 {
		t.Fatalf("no classifier.bias among %d parameters", len(plain))
	}
	for name, d := range plain {
		for i := range d {
			want := d[i]
			if name == "classifier.bias" {
				want *= 10
			}
			if diff := math.Abs(float64(scaled[name][i] - want)); diff > 1e-6+1e-3*math.Abs(float64(want)) {
				t.Fatalf("%s[%d]: update %g with the multiplier, %g without", name, i, scaled[name][i], d[i])
			}
		}
	}
	if plain["classifier.bias"][0] == 0 {
		t.Fatal("the classifier bias did not move")
	}
	// A name the model does not have is refused before training.
	tr := newTrainer(t, tinyModel(t, 3), "", 1)
	tr.Config.Optimizer.LRMultipliers = map[string]float64{"cls/predictions/bias": 10}
	if _, err := tr.Run(); err == nil || !strings.Contains(err.Error(), `"cls/predictions/bias", which the cross-encoder model does not have`) {
		t.Fatalf("want an unknown-parameter error, got %v", err)
	}
}
