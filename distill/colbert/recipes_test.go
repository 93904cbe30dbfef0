package colbert

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/annotate"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// recipeOptions are the options of a short training run on the ColBERT fixture.
func recipeOptions(t *testing.T, f *fixture.Key, steps int) Options {
	return Options{
		Model: fixture.TinyColBERT(t, f.Tk.VocabSize(), 32, 5), Tokenizer: f.Tk, Backend: fixture.Backend(t), Steps: steps, QueriesPerBatch: 8,
		Negatives: 3, QueryLen: 16, DocLen: 48, Seed: 2, HeldOutFraction: 0.2, NoInitialEval: true, EvalEvery: -1,
		Optimizer: &train.Optimizer{LearningRate: 3e-3, WarmupSteps: 5, WeightDecay: 0.01, ClipNorm: 1}, Quiet: true,
	}
}

// decreased reports whether the mean loss of the last quarter of the records is below the first's.
func decreased(t *testing.T, name string, h []train.Record) {
	t.Helper()
	n := max(1, len(h)/4)
	mean := func(rs []train.Record) float64 {
		s := 0.0
		for _, r := range rs {
			s += r.Loss
		}
		return s / float64(len(rs))
	}
	first, last := mean(h[:n]), mean(h[len(h)-n:])
	t.Logf("%s: loss %.4f → %.4f; last parts %v", name, first, last, h[len(h)-1].Parts)
	if !(last < first) {
		t.Errorf("%s: loss %.4f → %.4f did not decrease", name, first, last)
	}
}

func TestColBERTRecipeLossesTrain(t *testing.T) {
	f := fixture.ColBERTKey(t)
	for _, tc := range []struct{ loss, pairing string }{
		{LossKL, PairingNWay}, {LossKLMarginMSE, PairingNWay}, {LossFixedMargin, PairingPositiveVsNegative},
	} {
		opts := recipeOptions(t, f, 30)
		opts.Loss, opts.Pairing = tc.loss, tc.pairing
		res, err := Train(f.Key, f.Positives, f.Queries, f.Texts, opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.loss, err)
		}
		decreased(t, tc.loss, res.History)
	}
	opts := recipeOptions(t, f, 1)
	opts.Loss, opts.Pairing = LossFixedMargin, PairingRandomPairs
	if _, err := Train(f.Key, f.Positives, f.Queries, f.Texts, opts); err == nil || !strings.Contains(err.Error(), "judged positive") {
		t.Errorf("fixed margin with random pairs: %v", err)
	}
}

// Online distillation with the very teacher that wrote the answer key sees the same scores, so it
// must train exactly as offline distillation does; with the key's scores scrambled it must still
// learn the teacher, because it never reads them.
func TestColBERTOnlineMatchesOffline(t *testing.T) {
	f := fixture.ColBERTKey(t)
	s, err := fixture.SyntheticOnce()
	if err != nil {
		t.Fatal(err)
	}
	teacher := &score.BM25{Index: s.Ix}
	offline, err := Train(f.Key, f.Positives, f.Queries, f.Texts, recipeOptions(t, f, 12))
	if err != nil {
		t.Fatal(err)
	}
	opts := recipeOptions(t, f, 12)
	opts.Teacher = teacher
	scrambled := make([]datasets.ScoredPair, len(f.Key))
	for i, p := range f.Key {
		p.Score = math.Mod(float64(i)*7.31, 5) // nothing to do with BM25
		scrambled[i] = p
	}
	online, err := Train(scrambled, f.Positives, f.Queries, f.Texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(online.History) != len(offline.History) {
		t.Fatalf("%d records online, %d offline", len(online.History), len(offline.History))
	}
	for i := range online.History {
		a, b := online.History[i], offline.History[i]
		if math.Abs(a.Loss-b.Loss) > 1e-6*math.Max(1, math.Abs(b.Loss)) {
			t.Errorf("step %d: online loss %.8f, offline %.8f", a.Step, a.Loss, b.Loss)
		}
	}
}

func TestColBERTOnlineRefreshesNegatives(t *testing.T) {
	f := fixture.ColBERTKey(t)
	s, err := fixture.SyntheticOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := recipeOptions(t, f, 40)
	opts.Teacher, opts.RefreshEvery, opts.RefreshDepth, opts.OutDir, opts.CheckpointEvery = &score.BM25{Index: s.Ix}, 20, 5, dir, 10
	// Refreshing ranks every text: keep the corpus small.
	texts := map[string]string{}
	for _, p := range f.Key {
		texts[p.DocID] = f.Texts[p.DocID]
	}
	res, err := Train(f.Key, f.Positives, f.Queries, texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Each refresh swaps in harder negatives (the student's own mistakes), so the loss is only
	// comparable within a period (records cover 10 steps): it must fall within each.
	h := res.History
	if len(h) != 4 {
		t.Fatalf("%d records, want 4", len(h))
	}
	decreased(t, "online, before the refresh", h[:2])
	decreased(t, "online, after the refresh", h[2:])
	keyNegs := map[[2]string]bool{}
	for _, p := range f.Key {
		keyNegs[[2]string{p.QueryID, p.DocID}] = true
	}
	for _, step := range []int{20} {
		r := &colbertRefresher{dir: filepath.Join(dir, "refresh"), texts: texts}
		pool, err := r.load(step)
		if err != nil || len(pool) == 0 {
			t.Fatalf("refresh at step %d: pool of %d queries, %v", step, len(pool), err)
		}
		fresh := 0
		for qid, ids := range pool {
			for _, id := range ids {
				if !keyNegs[[2]string{qid, id}] {
					fresh++
				}
			}
			if len(ids) != 5 {
				t.Errorf("step %d, query %s: %d refreshed negatives, want 5", step, qid, len(ids))
			}
			for _, id := range ids {
				if f.Positives[qid][id] > 0 {
					t.Errorf("step %d, query %s: judged positive %s among the negatives", step, qid, id)
				}
			}
		}
		t.Logf("refresh at step %d: %d queries, %d negatives not among the key's candidates", step, len(pool), fresh)
		if fresh == 0 {
			t.Errorf("refresh at step %d chose only the key's own candidates", step)
		}
	}
	// A corrupt pool file is an error naming it, not a silent re-retrieval.
	if err := os.WriteFile(filepath.Join(dir, "refresh", "20.json"), []byte(`{"T0001": ["nope"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &colbertRefresher{dir: filepath.Join(dir, "refresh"), texts: texts}
	if _, err := r.load(20); err == nil || !strings.Contains(err.Error(), "20.json") || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("corrupt pool: %v", err)
	}
	opts.Teacher = nil
	if _, err := Train(f.Key, f.Positives, f.Queries, texts, opts); err == nil || !strings.Contains(err.Error(), "online teacher") {
		t.Errorf("refresh without a teacher: %v", err)
	}
}

func TestColBERTMultiTask(t *testing.T) {
	f := fixture.ColBERTKey(t)
	opts := recipeOptions(t, f, 30)
	opts.MLMWeight, opts.InBatchWeight, opts.AuxSchedule = 0.5, 0.5, ScheduleLinearDecay
	res, err := Train(f.Key, f.Positives, f.Queries, f.Texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	decreased(t, "multitask", res.History)
	h := res.History
	for _, part := range []string{"task_distill", "task_mlm", "mlm_accuracy", "task_inbatch", "margin_mse"} {
		if _, ok := h[len(h)-1].Parts[part]; !ok {
			t.Errorf("part %q not logged: %v", part, h[len(h)-1].Parts)
		}
	}
	first, last := h[0].Parts, h[len(h)-1].Parts
	if !(last["task_mlm"] < first["task_mlm"] && last["task_inbatch"] < first["task_inbatch"]) {
		t.Errorf("auxiliary tasks did not improve: mlm %.3f → %.3f, in-batch %.3f → %.3f",
			first["task_mlm"], last["task_mlm"], first["task_inbatch"], last["task_inbatch"])
	}
	// The tied MLM decoder adds no parameter: the student exports as a plain ColBERT model.
	params, err := opts.Model.Params()
	if err != nil {
		t.Fatal(err)
	}
	for name := range params {
		if strings.HasPrefix(name, "cls.") {
			t.Errorf("multi-task training added parameter %s", name)
		}
	}
}

// Self-distillation: a two-layer student learns the answer key, re-annotates its pairs, and a
// one-layer student learns from it.
func TestColBERTSelfDistillation(t *testing.T) {
	f := fixture.ColBERTKey(t)
	bigCfg := fixture.TinyConfig(f.Tk.VocabSize())
	bigCfg.NumHiddenLayers = 2
	big := recipeOptions(t, f, 30)
	var err error
	if big.Model, err = models.New(models.KindColBERT, bigCfg, 32, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(f.Key, f.Positives, f.Queries, f.Texts, big); err != nil {
		t.Fatal(err)
	}
	enc := &Encoder{Model: big.Model, Tokenizer: f.Tk, Backend: big.Backend, QueryLen: 16, DocLen: 48, Quiet: true, Label: "big-student"}
	out := filepath.Join(t.TempDir(), "self.jsonl")
	sum, err := annotate.Run(annotate.Options{Teacher: enc, Pairs: annotate.KeyPairs(f.Key, f.Queries, f.Texts), Out: out, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	key, meta, err := datasets.LoadAnswerKey(out)
	if err != nil {
		t.Fatal(err)
	}
	if int(sum.Pairs) != len(f.Key) || len(key) != len(f.Key) || meta.Teacher != "big-student" {
		t.Fatalf("re-annotated %d pairs (file %d, teacher %q), want %d by big-student", sum.Pairs, len(key), meta.Teacher, len(f.Key))
	}
	small := recipeOptions(t, f, 30)
	res, err := Train(key, f.Positives, f.Queries, f.Texts, small)
	if err != nil {
		t.Fatal(err)
	}
	decreased(t, "self-distilled student", res.History)
	// A key row without a text is an error naming the row.
	bad := append([]datasets.ScoredPair{}, f.Key[:3]...)
	bad[2].DocID = "nope"
	err = annotate.KeyPairs(bad, f.Queries, f.Texts)(func(annotate.Pair) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "row 3") {
		t.Errorf("missing text: %v", err)
	}
}
