package colbert

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models/backend"
)

func TestPearsonAndKendallTau(t *testing.T) {
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-12 }
	x := []float64{1, 2, 3, 4, 5}
	if r := eval.Pearson(x, []float64{2, 4, 6, 8, 10}); !near(r, 1) {
		t.Errorf("Pearson of a linear relation = %v, want 1", r)
	}
	if r := eval.Pearson(x, []float64{5, 4, 3, 2, 1}); !near(r, -1) {
		t.Errorf("Pearson of a decreasing relation = %v, want -1", r)
	}
	// By hand: x̄ = 3, ȳ = 2.8; Σdxdy = 6, Σdx² = 10, Σdy² = 6.8 → 6/√68.
	if r, want := eval.Pearson(x, []float64{2, 1, 4, 3, 4}), 6/math.Sqrt(68); !near(r, want) {
		t.Errorf("Pearson = %v, want %v", r, want)
	}
	if !math.IsNaN(eval.Pearson(x, []float64{1, 1, 1, 1, 1})) || !math.IsNaN(eval.Pearson(x[:1], x[:1])) || !math.IsNaN(eval.Pearson(x, x[:3])) {
		t.Error("undefined eval.Pearson is not NaN")
	}
	if tau := eval.KendallTau(x, []float64{1, 3, 2, 5, 4}); !near(tau, 0.6) { // 8 concordant, 2 discordant
		t.Errorf("Kendall τ = %v, want 0.6", tau)
	}
	// scipy.stats.kendalltau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]) = -0.47140452079103173 (τ-b, with ties).
	if tau := eval.KendallTau([]float64{12, 2, 1, 12, 2}, []float64{1, 4, 7, 1, 0}); !near(tau, -0.47140452079103173) {
		t.Errorf("Kendall τ-b with ties = %v, want -0.4714045", tau)
	}
	if !math.IsNaN(eval.KendallTau(x, []float64{2, 2, 2, 2, 2})) {
		t.Error("undefined Kendall τ is not NaN")
	}
}

func TestSplitAnswerKey(t *testing.T) {
	f := fixture.ColBERTKey(t)
	tr, held := datasets.SplitAnswerKey(f.Key, 0.2, 3)
	if len(tr)+len(held) != len(f.Key) {
		t.Fatalf("%d + %d pairs, want %d", len(tr), len(held), len(f.Key))
	}
	hq := map[string]bool{}
	for _, p := range held {
		hq[p.QueryID] = true
	}
	for _, p := range tr {
		if hq[p.QueryID] {
			t.Fatalf("query %s is in both parts", p.QueryID)
		}
	}
	if len(hq) != 24 {
		t.Errorf("%d held-out queries, want 20%% of 120 = 24", len(hq))
	}
	// The split depends on the set of queries, not on the order of the key.
	rev := slices.Clone(f.Key)
	slices.Reverse(rev)
	_, held2 := datasets.SplitAnswerKey(rev, 0.2, 3)
	hq2 := map[string]bool{}
	for _, p := range held2 {
		hq2[p.QueryID] = true
	}
	if !reflect.DeepEqual(hq, hq2) {
		t.Error("reversing the key changes the held-out queries")
	}
	if _, h := datasets.SplitAnswerKey(f.Key, 0, 3); h != nil {
		t.Error("fraction 0 holds out pairs")
	}
}

func TestColBERTSamplerIsAPureFunctionOfTheStep(t *testing.T) {
	f := fixture.ColBERTKey(t)
	for _, tc := range []struct {
		pairing string
		n       int
	}{{PairingPositiveVsNegative, 1}, {PairingRandomPairs, 1}, {PairingNWay, 3}} {
		s, err := newColbertSampler(f.Key, f.Positives, f.Queries, f.Texts, tc.pairing, tc.n, 4, 11)
		if err != nil {
			t.Fatal(err)
		}
		a, b := s.examples(9), s.examples(9)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: same step, different examples", tc.pairing)
		}
		s2, _ := newColbertSampler(f.Key, f.Positives, f.Queries, f.Texts, tc.pairing, tc.n, 4, 11)
		if !reflect.DeepEqual(a, s2.examples(9)) {
			t.Fatalf("%s: a new sampler with the same seed draws differently", tc.pairing)
		}
		s3, _ := newColbertSampler(f.Key, f.Positives, f.Queries, f.Texts, tc.pairing, tc.n, 4, 12)
		if reflect.DeepEqual(a, s3.examples(9)) {
			t.Fatalf("%s: another seed, same examples", tc.pairing)
		}
		if reflect.DeepEqual(a, s.examples(10)) {
			t.Fatalf("%s: steps 9 and 10 draw the same examples", tc.pairing)
		}
		scoreOf := map[[2]string]float64{}
		for _, p := range f.Key {
			scoreOf[[2]string{p.QueryID, p.DocID}] = p.Score
		}
		for _, ex := range a {
			if len(ex.docs) != 1+tc.n || len(ex.scores) != 1+tc.n || ex.query != f.Queries[ex.qid] {
				t.Fatalf("%s: example %+v", tc.pairing, ex)
			}
			for i, d := range ex.docs {
				if ex.scores[i] != scoreOf[[2]string{ex.qid, d}] {
					t.Fatalf("%s: teacher score of (%s, %s) is %v, the key says %v", tc.pairing, ex.qid, d, ex.scores[i], scoreOf[[2]string{ex.qid, d}])
				}
				positive := f.Positives[ex.qid][d] > 0
				if tc.pairing != PairingRandomPairs && positive != (i == 0) {
					t.Fatalf("%s: passage %d (%s) of query %s: judged positive %v", tc.pairing, i, d, ex.qid, positive)
				}
			}
			if tc.pairing == PairingRandomPairs && ex.docs[0] == ex.docs[1] {
				t.Fatalf("random pair of the same passage: %+v", ex)
			}
		}
		// One epoch visits every eligible query once.
		seen := map[string]int{}
		for pos := range len(s.queries) {
			seen[s.query(pos).qid]++
		}
		if len(seen) != len(s.queries) {
			t.Fatalf("%s: an epoch covers %d of %d queries", tc.pairing, len(seen), len(s.queries))
		}
	}
	// Without any judged positive in the key, the positive pairings explain what is missing.
	if _, err := newColbertSampler(f.Key, datasets.Qrels{}, f.Queries, f.Texts, PairingPositiveVsNegative, 1, 4, 1); err == nil ||
		!strings.Contains(err.Error(), "judged positive") {
		t.Errorf("no positives: %v", err)
	}
	// A passage without text is an error naming the row.
	bad := slices.Clone(f.Key)
	bad[5].DocID = "nope"
	if _, err := newColbertSampler(bad, f.Positives, f.Queries, f.Texts, PairingRandomPairs, 1, 4, 1); err == nil ||
		!strings.Contains(err.Error(), "row 6") || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing text: %v", err)
	}
}

// trainTiny trains a tiny student on the fixture and returns the run's result and log.
func trainTiny(t *testing.T, loss, pairing string, steps int, dir string, hardLoss ...string) *train.Result {
	t.Helper()
	f := fixture.ColBERTKey(t)
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Model: fixture.TinyColBERT(t, f.Tk.VocabSize(), 32, 5), Tokenizer: f.Tk, Backend: be, Steps: steps, QueriesPerBatch: 8,
		Pairing: pairing, Negatives: 3, Loss: loss, QueryLen: 16, DocLen: 48, Seed: 2, HeldOutFraction: 0.2, OutDir: dir,
		Optimizer: &train.Optimizer{LearningRate: 3e-3, WarmupSteps: 5, WeightDecay: 0.01, ClipNorm: 1},
		EvalEvery: steps / 2, CheckpointEvery: steps / 2, Quiet: true,
		Eval: func(step int) (map[string]float64, error) {
			return map[string]float64{"custom_step": float64(step)}, nil
		},
	}
	if len(hardLoss) > 0 {
		opts.HardLoss = hardLoss[0]
	}
	res, err := Train(f.Key, f.Positives, f.Queries, f.Texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTrainColBERTMarginMSE(t *testing.T) {
	dir := t.TempDir()
	const steps = 60
	res := trainTiny(t, LossMarginMSE, PairingPositiveVsNegative, steps, dir)
	h := res.History
	for _, r := range h {
		t.Logf("step %3d loss %8.3f parts %v eval %v", r.Step, r.Loss, r.Parts, r.Eval)
	}
	if h[len(h)-1].Step != steps || h[0].Step != 0 || h[0].Eval == nil {
		t.Fatalf("first record %+v is not the evaluation of the untrained model", h[0])
	}
	first, last := h[1], h[len(h)-1]
	if !(last.Loss < 0.5*first.Loss) {
		t.Errorf("loss %.3f after %d steps, %.3f after %d: did not halve", last.Loss, last.Step, first.Loss, first.Step)
	}
	r0, r1 := h[0].Eval[MetricMarginPearson], last.Eval[MetricMarginPearson]
	k0, k1 := h[0].Eval[MetricMarginKendall], last.Eval[MetricMarginKendall]
	if !(r1 > r0+0.2 && k1 > k0+0.1 && r1 > 0.4) {
		t.Errorf("held-out margin correlation: eval.Pearson %.3f → %.3f, Kendall %.3f → %.3f; want clear gains", r0, r1, k0, k1)
	}
	if last.Eval["custom_step"] != steps {
		t.Errorf("Eval's measures missing from the last record: %v", last.Eval)
	}
	recs, err := train.ReadLog(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Step != 0 || recs[0].Eval[MetricMarginPearson] != r0 || recs[len(recs)-1].Step != steps {
		t.Errorf("metrics.jsonl: first %+v, last %+v", recs[0], recs[len(recs)-1])
	}
	// Running again resumes from the final checkpoint: nothing to do, and the step-0 record stays single.
	again := trainTiny(t, LossMarginMSE, PairingPositiveVsNegative, steps, dir)
	if again.ResumedFrom != steps {
		t.Errorf("second run resumed from %d, want %d", again.ResumedFrom, steps)
	}
	recs2, _ := train.ReadLog(filepath.Join(dir, "metrics.jsonl"))
	if len(recs2) != len(recs) {
		t.Errorf("metrics.jsonl grew from %d to %d records on a finished rerun", len(recs), len(recs2))
	}
}

func TestTrainColBERTHardLabelsAndNWay(t *testing.T) {
	// The ablation draws the same tuples as Margin-MSE (the sampler does not depend on the loss) and
	// ignores their teacher scores.
	for _, tc := range []struct{ loss, pairing, hard string }{
		{LossHardLabels, PairingPositiveVsNegative, HardLossLCE}, {LossHardLabels, PairingNWay, HardLossHinge}, {LossMarginMSE, PairingNWay, ""},
	} {
		res := trainTiny(t, tc.loss, tc.pairing, 20, "", tc.hard)
		h := res.History
		first, last := h[1], h[len(h)-1]
		t.Logf("%s(%s)/%s: loss %.3f → %.3f, eval %v", tc.loss, tc.hard, tc.pairing, first.Loss, last.Loss, last.Eval)
		if !(last.Loss < first.Loss) {
			t.Errorf("%s/%s: loss %.3f → %.3f did not decrease", tc.loss, tc.pairing, first.Loss, last.Loss)
		}
		if _, ok := last.Parts["margin_mse"]; !ok {
			t.Errorf("%s/%s: margin_mse part missing: %v", tc.loss, tc.pairing, last.Parts)
		}
	}
	f := fixture.ColBERTKey(t)
	_, err := Train(f.Key, f.Positives, f.Queries, f.Texts, Options{Model: fixture.TinyColBERT(t, f.Tk.VocabSize(), 8, 1),
		Tokenizer: f.Tk, Backend: fixture.Backend(t), Steps: 1, Loss: LossHardLabels, Pairing: PairingRandomPairs})
	if err == nil || !strings.Contains(err.Error(), "random-pairs") {
		t.Errorf("hard labels with random pairs: %v", err)
	}
}
