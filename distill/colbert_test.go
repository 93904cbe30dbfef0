package distill

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// colbertFixture is a tiny distillation problem: the BM25 teacher's answer key over 12 candidates
// of each of 120 training queries of the synthetic collection (seed 7), a vocabulary trained on
// those texts, and the collection's ids → texts.
type colbertFixture struct {
	key       []datasets.ScoredPair
	positives datasets.Qrels
	queries   map[string]string
	texts     map[string]string
	tk        *tokenizer.WordPiece
}

// colbertFixQueries is the number of training queries of the fixture.
const colbertFixQueries = 120

var colbertFix = sync.OnceValues(func() (*colbertFixture, error) {
	s, err := synth()
	if err != nil {
		return nil, err
	}
	qs := s.c.TrainQueries[:colbertFixQueries]
	// Each query's candidates: BM25's top 6 and 6 passages drawn at random from the corpus, so the
	// teacher's margins range from near ties to large gaps.
	var pairs []Pair
	err = BM25Pairs(s.ix, qs, s.texts, 6)(func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var withRandom []Pair
	for i := 0; i < len(pairs); {
		j := i
		have := map[string]bool{}
		for ; j < len(pairs) && pairs[j].QueryID == pairs[i].QueryID; j++ {
			withRandom = append(withRandom, pairs[j])
			have[pairs[j].DocID] = true
		}
		for added := 0; added < 6; {
			d := s.c.Docs[rng.IntN(len(s.c.Docs))]
			if !have[d.ID] {
				have[d.ID] = true
				withRandom = append(withRandom, Pair{QueryID: pairs[i].QueryID, DocID: d.ID, Query: pairs[i].Query, Passage: s.texts[d.ID]})
				added++
			}
		}
		i = j
	}
	pairs = withRandom
	qt, pt := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		qt[i], pt[i] = p.Query, p.Passage
	}
	scores, err := (&BM25Scorer{Index: s.ix}).Score(qt, pt)
	if err != nil {
		return nil, err
	}
	var key []datasets.ScoredPair
	corpus := map[string]bool{}
	var vocabTexts []string
	for i, p := range pairs {
		key = append(key, datasets.ScoredPair{QueryID: p.QueryID, DocID: p.DocID, Score: scores[i]})
		if !corpus[p.DocID] {
			corpus[p.DocID] = true
			vocabTexts = append(vocabTexts, p.Passage)
		}
	}
	for _, q := range qs {
		vocabTexts = append(vocabTexts, q.Text)
	}
	tk, err := tokenizer.Train(slices.Values(vocabTexts), 500, tokenizer.TrainOptions{})
	if err != nil {
		return nil, err
	}
	return &colbertFixture{key: key, positives: s.c.TrainQrels, queries: QueryTexts(s.c), texts: s.texts, tk: tk}, nil
})

func getColbertFixture(t testing.TB) *colbertFixture {
	t.Helper()
	f, err := colbertFix()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// tinyColBERTConfig is a 1-layer H=32 encoder for fast tests.
func tinyColBERTConfig(vocab int) *models.Config {
	return &models.Config{ModelType: "bert", VocabSize: vocab, HiddenSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2,
		IntermediateSize: 64, HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2, InitializerRange: 0.02,
		LayerNormEps: 1e-12, DType: "float32"}
}

func tinyColBERT(t testing.TB, vocab, dim int, seed int64) *models.Model {
	t.Helper()
	m, err := models.New(models.KindColBERT, tinyColBERTConfig(vocab), dim, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPearsonAndKendallTau(t *testing.T) {
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-12 }
	x := []float64{1, 2, 3, 4, 5}
	if r := Pearson(x, []float64{2, 4, 6, 8, 10}); !near(r, 1) {
		t.Errorf("Pearson of a linear relation = %v, want 1", r)
	}
	if r := Pearson(x, []float64{5, 4, 3, 2, 1}); !near(r, -1) {
		t.Errorf("Pearson of a decreasing relation = %v, want -1", r)
	}
	// By hand: x̄ = 3, ȳ = 2.8; Σdxdy = 6, Σdx² = 10, Σdy² = 6.8 → 6/√68.
	if r, want := Pearson(x, []float64{2, 1, 4, 3, 4}), 6/math.Sqrt(68); !near(r, want) {
		t.Errorf("Pearson = %v, want %v", r, want)
	}
	if !math.IsNaN(Pearson(x, []float64{1, 1, 1, 1, 1})) || !math.IsNaN(Pearson(x[:1], x[:1])) || !math.IsNaN(Pearson(x, x[:3])) {
		t.Error("undefined Pearson is not NaN")
	}
	if tau := KendallTau(x, []float64{1, 3, 2, 5, 4}); !near(tau, 0.6) { // 8 concordant, 2 discordant
		t.Errorf("Kendall τ = %v, want 0.6", tau)
	}
	// scipy.stats.kendalltau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]) = -0.47140452079103173 (τ-b, with ties).
	if tau := KendallTau([]float64{12, 2, 1, 12, 2}, []float64{1, 4, 7, 1, 0}); !near(tau, -0.47140452079103173) {
		t.Errorf("Kendall τ-b with ties = %v, want -0.4714045", tau)
	}
	if !math.IsNaN(KendallTau(x, []float64{2, 2, 2, 2, 2})) {
		t.Error("undefined Kendall τ is not NaN")
	}
}

func TestSplitAnswerKey(t *testing.T) {
	f := getColbertFixture(t)
	tr, held := SplitAnswerKey(f.key, 0.2, 3)
	if len(tr)+len(held) != len(f.key) {
		t.Fatalf("%d + %d pairs, want %d", len(tr), len(held), len(f.key))
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
	rev := slices.Clone(f.key)
	slices.Reverse(rev)
	_, held2 := SplitAnswerKey(rev, 0.2, 3)
	hq2 := map[string]bool{}
	for _, p := range held2 {
		hq2[p.QueryID] = true
	}
	if !reflect.DeepEqual(hq, hq2) {
		t.Error("reversing the key changes the held-out queries")
	}
	if _, h := SplitAnswerKey(f.key, 0, 3); h != nil {
		t.Error("fraction 0 holds out pairs")
	}
}

func TestColBERTSamplerIsAPureFunctionOfTheStep(t *testing.T) {
	f := getColbertFixture(t)
	for _, tc := range []struct {
		pairing string
		n       int
	}{{PairingPositiveVsNegative, 1}, {PairingRandomPairs, 1}, {PairingNWay, 3}} {
		s, err := newColbertSampler(f.key, f.positives, f.queries, f.texts, tc.pairing, tc.n, 4, 11)
		if err != nil {
			t.Fatal(err)
		}
		a, b := s.examples(9), s.examples(9)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: same step, different examples", tc.pairing)
		}
		s2, _ := newColbertSampler(f.key, f.positives, f.queries, f.texts, tc.pairing, tc.n, 4, 11)
		if !reflect.DeepEqual(a, s2.examples(9)) {
			t.Fatalf("%s: a new sampler with the same seed draws differently", tc.pairing)
		}
		s3, _ := newColbertSampler(f.key, f.positives, f.queries, f.texts, tc.pairing, tc.n, 4, 12)
		if reflect.DeepEqual(a, s3.examples(9)) {
			t.Fatalf("%s: another seed, same examples", tc.pairing)
		}
		if reflect.DeepEqual(a, s.examples(10)) {
			t.Fatalf("%s: steps 9 and 10 draw the same examples", tc.pairing)
		}
		scoreOf := map[[2]string]float64{}
		for _, p := range f.key {
			scoreOf[[2]string{p.QueryID, p.DocID}] = p.Score
		}
		for _, ex := range a {
			if len(ex.docs) != 1+tc.n || len(ex.scores) != 1+tc.n || ex.query != f.queries[ex.qid] {
				t.Fatalf("%s: example %+v", tc.pairing, ex)
			}
			for i, d := range ex.docs {
				if ex.scores[i] != scoreOf[[2]string{ex.qid, d}] {
					t.Fatalf("%s: teacher score of (%s, %s) is %v, the key says %v", tc.pairing, ex.qid, d, ex.scores[i], scoreOf[[2]string{ex.qid, d}])
				}
				positive := f.positives[ex.qid][d] > 0
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
	if _, err := newColbertSampler(f.key, datasets.Qrels{}, f.queries, f.texts, PairingPositiveVsNegative, 1, 4, 1); err == nil ||
		!strings.Contains(err.Error(), "judged positive") {
		t.Errorf("no positives: %v", err)
	}
	// A passage without text is an error naming the row.
	bad := slices.Clone(f.key)
	bad[5].DocID = "nope"
	if _, err := newColbertSampler(bad, f.positives, f.queries, f.texts, PairingRandomPairs, 1, 4, 1); err == nil ||
		!strings.Contains(err.Error(), "row 6") || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing text: %v", err)
	}
}

// trainTiny trains a tiny student on the fixture and returns the run's result and log.
func trainTiny(t *testing.T, loss, pairing string, steps int, dir string, hardLoss ...string) *train.Result {
	t.Helper()
	f := getColbertFixture(t)
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	opts := ColBERTOptions{
		Model: tinyColBERT(t, f.tk.VocabSize(), 32, 5), Tokenizer: f.tk, Backend: be, Steps: steps, QueriesPerBatch: 8,
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
	res, err := TrainColBERT(f.key, f.positives, f.queries, f.texts, opts)
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
		t.Errorf("held-out margin correlation: Pearson %.3f → %.3f, Kendall %.3f → %.3f; want clear gains", r0, r1, k0, k1)
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
	f := getColbertFixture(t)
	_, err := TrainColBERT(f.key, f.positives, f.queries, f.texts, ColBERTOptions{Model: tinyColBERT(t, f.tk.VocabSize(), 8, 1),
		Tokenizer: f.tk, Backend: mustBackend(t), Steps: 1, Loss: LossHardLabels, Pairing: PairingRandomPairs})
	if err == nil || !strings.Contains(err.Error(), "random-pairs") {
		t.Errorf("hard labels with random pairs: %v", err)
	}
}

func mustBackend(t testing.TB) backends.Backend {
	t.Helper()
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	return be
}
