package colbert

import (
	"math"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// residualCopy returns an encoder with enc's weights whose model adds w·BM25 (in ix) to MaxSim.
func residualCopy(enc *Encoder, w float64, ix *bm25.Index) *Encoder {
	m := *enc.Model
	cfg := *m.Config
	cfg.BM25Weight = w
	m.Config = &cfg
	return &Encoder{Model: &m, Tokenizer: enc.Tokenizer, Backend: enc.Backend, QueryLen: enc.QueryLen,
		DocLen: enc.DocLen, BatchSize: enc.BatchSize, Quiet: true, BM25: ix}
}

// TestResidualColBERTScoresAddBM25 checks that a residual student's scores are MaxSim plus w·BM25
// wherever it scores: the encoder, reranking, and exhaustive search (where the BM25 term must be
// added before the top k are chosen).
func TestResidualColBERTScoresAddBM25(t *testing.T) {
	f := getColbertIndexFixture(t)
	ix, err := bm25.Build(f.docs, bm25.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const w = 0.7
	res := residualCopy(f.enc, w, ix)
	queries := []datasets.Query{{ID: "a", Text: "how many people live in port kelda"}, {ID: "b", Text: "what does the vole eat"},
		{ID: "c", Text: "when was the company founded"}}
	plain, err := f.ix.SearchExhaustive(f.enc, queries, 0)
	if err != nil {
		t.Fatal(err)
	}
	full, err := f.ix.SearchExhaustive(res, queries, 0)
	if err != nil {
		t.Fatal(err)
	}
	texts := score.Texts(f.docs)
	lexical := &score.BM25{Index: ix}
	moved := 0
	for _, q := range queries {
		ids := f.ix.DocIDs
		qs, ps := make([]string, len(ids)), make([]string, len(ids))
		for i, did := range ids {
			qs[i], ps[i] = q.Text, texts[did]
		}
		lex, err := lexical.Score(qs, ps)
		if err != nil {
			t.Fatal(err)
		}
		for i, did := range ids {
			if want := plain[q.ID][did] + w*lex[i]; math.Abs(full[q.ID][did]-want) > 1e-4 {
				t.Fatalf("query %s, document %s: residual score %v, want MaxSim %v + %g × BM25 %v", q.ID, did, full[q.ID][did], plain[q.ID][did], w, lex[i])
			}
		}
		if rankedIDs(full[q.ID])[0] != rankedIDs(plain[q.ID])[0] {
			moved++
		}
		// The top 10 of an exhaustive search are the best 10 residual scores, not MaxSim's.
		top, err := f.ix.SearchExhaustive(res, queries, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, did := range rankedIDs(full[q.ID])[:10] {
			if _, ok := top[q.ID][did]; !ok {
				t.Fatalf("query %s: residual top 10 lacks %s", q.ID, did)
			}
		}
		cands := map[string][]string{q.ID: rankedIDs(plain[q.ID])[:20]}
		rr, err := f.ix.Rerank(res, []datasets.Query{q}, cands)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := res.Score(qs[:20], func() []string {
			out := make([]string, 20)
			for i, did := range cands[q.ID] {
				out[i] = texts[did]
			}
			return out
		}())
		if err != nil {
			t.Fatal(err)
		}
		for i, did := range cands[q.ID] {
			if math.Abs(rr[q.ID][did]-full[q.ID][did]) > 1e-4 || math.Abs(enc[i]-full[q.ID][did]) > 1e-4 {
				t.Fatalf("query %s, document %s: rerank %v, encoder %v, exhaustive %v", q.ID, did, rr[q.ID][did], enc[i], full[q.ID][did])
			}
		}
	}
	if moved == 0 {
		t.Error("the BM25 term changed no query's top document: the test does not exercise it")
	}
	noIndex := residualCopy(f.enc, w, nil)
	if _, err := noIndex.Score([]string{"x"}, []string{"y"}); err == nil || !strings.Contains(err.Error(), "BM25") {
		t.Errorf("residual encoder without an index: %v", err)
	}
	if _, err := f.ix.SearchExhaustive(noIndex, queries, 10); err == nil || !strings.Contains(err.Error(), "BM25") {
		t.Errorf("residual search without an index: %v", err)
	}
}

// TestResidualColBERTLearnsTheResidual trains on the fixture, whose answer key is BM25's own
// scores: a residual student with weight 1 already has the teacher's margins, so Margin-MSE only has
// to keep MaxSim's margins near 0, while a plain student must learn BM25's. The residual student's
// loss and held-out margin error must be far below the plain one's, and its held-out pairs ordered as
// the teacher orders them.
func TestResidualColBERTLearnsTheResidual(t *testing.T) {
	f := fixture.ColBERTKey(t)
	s, err := fixture.SyntheticOnce()
	if err != nil {
		t.Fatal(err)
	}
	run := func(w float64, ix *bm25.Index) (*train.Result, error) {
		cfg := fixture.TinyConfig(f.Tk.VocabSize())
		cfg.BM25Weight = w
		m, err := models.New(models.KindColBERT, cfg, 32, 5)
		if err != nil {
			t.Fatal(err)
		}
		return Train(f.Key, f.Positives, f.Queries, f.Texts, Options{
			Model: m, Tokenizer: f.Tk, Backend: fixture.Backend(t), Steps: 20, QueriesPerBatch: 8, QueryLen: 16, DocLen: 48,
			Seed: 2, HeldOutFraction: 0.2, Quiet: true, BM25: ix, EvalEvery: 20,
			Optimizer: &train.Optimizer{LearningRate: 3e-3, WarmupSteps: 5, WeightDecay: 0.01, ClipNorm: 1},
		})
	}
	if _, err := run(1, nil); err == nil || !strings.Contains(err.Error(), "BM25") {
		t.Fatalf("a residual student without a BM25 index: %v", err)
	}
	plain, err := run(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(1, s.Ix)
	if err != nil {
		t.Fatal(err)
	}
	p, r := plain.History[len(plain.History)-1], res.History[len(res.History)-1]
	t.Logf("plain: loss %.3f, held-out %v", p.Loss, p.Eval)
	t.Logf("residual: loss %.3f, held-out %v", r.Loss, r.Eval)
	if !(r.Loss < 0.25*p.Loss && r.Eval[MetricMarginMSE] < 0.25*p.Eval[MetricMarginMSE]) {
		t.Errorf("residual student: loss %.3f, held-out margin MSE %.3f; plain: %.3f, %.3f — want both below a quarter",
			r.Loss, r.Eval[MetricMarginMSE], p.Loss, p.Eval[MetricMarginMSE])
	}
	if r.Eval[MetricPairAccuracy] < 0.9 {
		t.Errorf("residual student orders %.2f of the held-out pairs as the teacher does, want ≥ 0.9", r.Eval[MetricPairAccuracy])
	}
}
